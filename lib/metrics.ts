// Prometheus text exposition (format 0.0.4) for the few numbers an operator watches. No client
// library: counters and one histogram kept here, gauges read from their owner at scrape time.
// Label values are route patterns, methods and status codes only: never anything a client typed.

type Labels = Record<string, string>;
type Series = { labels: string; value: number };

const escape = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
const renderLabels = (labels: Labels) => {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escape(v)}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
};
// Every request counts under a few labels, and the same few combinations recur: render each once.
// (Label values are route patterns, methods and statuses, so the cache stays small.)
const rendered = new Map<string, string>();
const labelText = (labels: Labels = {}) => {
  let key = "";
  for (const k in labels) key += k + "\u0000" + labels[k] + "\u0000";
  let text = rendered.get(key);
  if (text === undefined) rendered.set(key, (text = renderLabels(labels)));
  return text;
};
const num = (n: number) => (Number.isFinite(n) ? String(n) : n > 0 ? "+Inf" : n < 0 ? "-Inf" : "NaN");

export class Counter {
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels?: Labels, by = 1) {
    const key = labelText(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }
  series(): Series[] {
    return [...this.values].map(([labels, value]) => ({ labels, value }));
  }
}

// Seconds; the buckets span a cached session lookup to a slow argon2 login.
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export class Histogram {
  private readonly values = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets = BUCKETS,
  ) {}
  observe(labels: Labels, value: number) {
    const key = labelText(labels);
    let h = this.values.get(key);
    if (!h) this.values.set(key, (h = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 }));
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) h.counts[i]!++;
    h.sum += value;
    h.count++;
  }
  lines(): string[] {
    const out: string[] = [];
    for (const h of this.values.values()) {
      this.buckets.forEach((le, i) =>
        out.push(`${this.name}_bucket${labelText({ ...h.labels, le: num(le) })} ${h.counts[i]}`),
      );
      out.push(`${this.name}_bucket${labelText({ ...h.labels, le: "+Inf" })} ${h.count}`);
      out.push(`${this.name}_sum${labelText(h.labels)} ${h.sum}`);
      out.push(`${this.name}_count${labelText(h.labels)} ${h.count}`);
    }
    return out;
  }
}

// filesStoredBytes and pushQueue: read from the database at scrape time, so that every instance reports the
// whole deployment's.
export type Gauges = {
  sockets: () => number;
  rooms: () => number;
  delivered: () => number;
  filesStoredBytes: () => Promise<number>;
  pushQueue: () => Promise<number>;
};

export type Metrics = ReturnType<typeof createMetrics>;

export function createMetrics(version: string) {
  const startedAt = Date.now() / 1000;
  let gauges: Gauges = {
    sockets: () => 0,
    rooms: () => 0,
    delivered: () => 0,
    filesStoredBytes: async () => 0,
    pushQueue: async () => 0,
  };
  const m = {
    httpRequests: new Counter("echat_http_requests_total", "HTTP requests by method, route pattern and status"),
    httpDuration: new Histogram("echat_http_request_duration_seconds", "HTTP request latency by route pattern"),
    messagesStored: new Counter("echat_messages_stored_total", "Chat messages written to the database"),
    loginFailures: new Counter("echat_login_failures_total", "Logins refused for an unknown login or a wrong password"),
    storeErrors: new Counter("echat_store_errors_total", "Database operations that failed"),
    readMarkerWrites: new Counter(
      "echat_read_marker_writes_total",
      "Read markers written (coalesced from read frames)",
    ),
    retentionDeleted: new Counter(
      "echat_retention_deleted_total",
      "Messages deleted by retention (by this instance's sweeps)",
    ),
    invitesUsed: new Counter("echat_invites_used_total", "Registrations that took a use of an invite code"),
    pushSent: new Counter("echat_push_sent_total", "Web Push notifications the push services accepted"),
    // reason: gone (404/410: subscription removed), rejected (another 4xx), gave_up (retries spent), retry (a
    // 429, 5xx or network failure to be retried), endpoint (refused at send time), expired (older than the
    // TTL), full (the in-memory queue was full), enqueue (the queue's write failed).
    pushFailed: new Counter(
      "echat_push_failed_total",
      "Web Push notifications not sent, and sends to retry, by reason",
    ),

    // The hub owns sockets and rooms; it is created after the metrics.
    readFrom(g: Gauges) {
      gauges = g;
    },

    // A database that does not answer leaves these gauges NaN; the rest of the scrape still comes.
    render: async (): Promise<string> => {
      const [filesBytes, pushQueue] = await Promise.all([
        gauges.filesStoredBytes().catch(() => NaN),
        gauges.pushQueue().catch(() => NaN),
      ]);
      return renderMetrics(m, gauges, version, startedAt, { filesBytes, pushQueue });
    },
  };
  return m;
}

type Kept = {
  httpRequests: Counter;
  httpDuration: Histogram;
  messagesStored: Counter;
  loginFailures: Counter;
  storeErrors: Counter;
  readMarkerWrites: Counter;
  retentionDeleted: Counter;
  invitesUsed: Counter;
  pushSent: Counter;
  pushFailed: Counter;
};

type Read = { filesBytes: number; pushQueue: number }; // the gauges read from the database for this scrape

function renderMetrics(m: Kept, gauges: Gauges, version: string, startedAt: number, read: Read): string {
  const e = exposition();
  const mem = process.memoryUsage();
  e.one("echat_build_info", "gauge", "Always 1; the version is a label", 1, { version });
  e.one("echat_websockets_open", "gauge", "Open room WebSockets", gauges.sockets());
  e.one("echat_rooms_active", "gauge", "Rooms with at least one subscribed WebSocket", gauges.rooms());
  e.counter(m.messagesStored);
  e.one(
    "echat_messages_delivered_total",
    "counter",
    "Message frames handed to WebSockets (live and backlog)",
    gauges.delivered(),
  );
  e.counter(m.httpRequests, false);
  e.head(m.httpDuration.name, "histogram", m.httpDuration.help);
  e.out.push(...m.httpDuration.lines());
  e.counter(m.loginFailures);
  e.counter(m.storeErrors);
  e.counter(m.readMarkerWrites);
  e.counter(m.retentionDeleted);
  e.counter(m.invitesUsed);
  e.one(
    "echat_files_stored_bytes",
    "gauge",
    "Bytes of uploaded files stored, attached or not (all instances)",
    read.filesBytes,
  );
  e.counter(m.pushSent);
  e.counter(m.pushFailed, false);
  e.one("echat_push_queue", "gauge", "Web Push notifications pending in the queue (all instances)", read.pushQueue);
  e.one("process_resident_memory_bytes", "gauge", "Resident set size", mem.rss);
  e.one("process_heap_bytes", "gauge", "JavaScript heap in use", mem.heapUsed);
  e.one("process_start_time_seconds", "gauge", "Start time since the Unix epoch", startedAt);
  return e.out.join("\n") + "\n";
}

// The text of one scrape: each metric is a HELP and a TYPE line, then its series.
function exposition() {
  const out: string[] = [];
  const head = (name: string, type: string, help: string) =>
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  return {
    out,
    head,
    one(name: string, type: string, help: string, value: number, labels?: Labels) {
      head(name, type, help);
      out.push(`${name}${labelText(labels)} ${num(value)}`);
    },
    // A counter without labels is shown from zero, so a scrape before the first event still lists it;
    // a labelled one (zeroWhenEmpty false) has no series until it counts.
    counter(c: Counter, zeroWhenEmpty = true) {
      head(c.name, "counter", c.help);
      const series = c.series();
      if (series.length === 0 && zeroWhenEmpty) out.push(`${c.name} 0`);
      for (const s of series) out.push(`${c.name}${s.labels} ${num(s.value)}`);
    },
  };
}

// Store methods whose successful results count: a message not stored before, an invite's use taken.
const COUNTED: Record<string, { counter: "messagesStored" | "invitesUsed"; when: (result: any) => boolean }> = {
  createMessage: { counter: "messagesStored", when: (r: { duplicate: boolean }) => !r.duplicate },
  registerWithInvite: { counter: "invitesUsed", when: (r: unknown) => typeof r === "object" && r !== null },
};

// Counts stored messages, used invites, read-marker writes and failed store calls without the store knowing
// about metrics.
export function countStore<S extends object>(store: S, m: Metrics): S {
  // Each method is wrapped once here (a Proxy would make a closure on every call of the hot path).
  const out: Record<string, unknown> = {};
  const fail = (e: unknown): never => {
    m.storeErrors.inc();
    throw e;
  };
  for (const key of Object.keys(store) as Array<keyof S & string>) {
    const value = store[key];
    if (typeof value !== "function") {
      out[key] = value;
      continue;
    }
    const method = (value as (...a: unknown[]) => unknown).bind(store);
    const calls = key === "markRead" ? m.readMarkerWrites : undefined;
    const counted = COUNTED[key];
    out[key] = (...args: unknown[]) => {
      calls?.inc();
      let result: unknown;
      try {
        result = method(...args);
      } catch (e) {
        fail(e);
      }
      if (!(result instanceof Promise)) return result;
      if (counted) {
        return result.then((r: unknown) => {
          if (counted.when(r)) m[counted.counter].inc();
          return r;
        }, fail);
      }
      return result.catch(fail);
    };
  }
  return out as S;
}
