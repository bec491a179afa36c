// Group commit, shared by both dialects: the inputs that arrive while earlier batches are being
// written form the next batch. Up to maxInFlight batches are handed to the batch writer at once
// (both dialects use 1: the next batch is handed over as soon as the last one's results arrive,
// before its callers continue, so the writer commits while this thread publishes). The writer must settle batches in the order it was given them; then ids, acks
// and publishes keep arrival order. An input's promise settles only after its batch's commit.
export type BatchWriter<In, Out> = (inputs: In[]) => Promise<Out[]>;

type Pending<In, Out> = { input: In; resolve: (out: Out) => void; reject: (e: unknown) => void };

export type CommitQueue<In, Out> = {
  write(input: In): Promise<Out>;
  drain(): Promise<void>; // resolves once nothing is queued or in flight
};

export function createCommitQueue<In, Out>(writeBatch: BatchWriter<In, Out>, maxInFlight: number) {
  let queue: Pending<In, Out>[] = [];
  let inFlight = 0;
  let scheduled = false;
  let idle: (() => void)[] = [];

  function send() {
    scheduled = false;
    if (inFlight >= maxInFlight || queue.length === 0) return;
    const batch = queue;
    queue = [];
    inFlight++;
    const inputs = batch.map((p) => p.input);
    writeBatch(inputs).then(
      (results) => settle(batch, (p, i) => p.resolve(results[i]!)),
      (e) => settle(batch, (p) => p.reject(e)),
    );
  }

  function settle(batch: Pending<In, Out>[], each: (p: Pending<In, Out>, i: number) => void) {
    inFlight--;
    batch.forEach(each);
    if (queue.length) send();
    else if (inFlight === 0) for (const done of idle.splice(0)) done();
  }

  const commitQueue: CommitQueue<In, Out> = {
    write(input) {
      return new Promise((resolve, reject) => {
        queue.push({ input, resolve, reject });
        // Gather what arrives in this turn of the event loop; with every slot taken, arrivals wait for one.
        if (inFlight < maxInFlight && !scheduled) {
          scheduled = true;
          setImmediate(send);
        }
      });
    },
    drain() {
      if (inFlight === 0 && queue.length === 0) return Promise.resolve();
      return new Promise((resolve) => idle.push(resolve));
    },
  };
  return commitQueue;
}
