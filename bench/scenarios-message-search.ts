// S2: message search (GET /v1/search) over 1,000,000 messages in 1,000 rooms on SQLite, for a user in 50 of
// them. Rooms and users are made through the API; the messages are inserted straight into the stopped
// server's file, each indexed as the writer indexes it (its own INSERT into messages_search, in batches),
// then the server is started on it and queries of each kind are timed one at a time from the client.
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Corpus, corpus, prng } from "./message-corpus.ts";
import { percentile, startServer } from "./scenarios-search.ts";
import { post } from "./setup.ts";

export type MessageSearchSize = { messages: number; rooms: number; memberOf: number; perKind: number; rounds: number };
export const FULL_SIZE: MessageSearchSize = { messages: 1_000_000, rooms: 1000, memberOf: 50, perKind: 200, rounds: 3 };

const ORDERS = ["newest", "rank"] as const;

type World = { db: string; token: string; rooms: number[]; mine: Set<number>; authors: number[]; searcher: number };

// Users and rooms through the API: two authors own 500 rooms each, the searcher is in every 20th.
async function makeWorld(dir: string, size: MessageSearchSize): Promise<World> {
  const db = join(dir, "search.db");
  const server = await startServer(db);
  const base = `http://127.0.0.1:${server.port}`;
  try {
    const account = async (login: string) => {
      const { session_id: token } = await post(base, "/v1/register", { login, password: "bench-password" });
      const info = await fetch(`${base}/v1/info`, { headers: { "x-session-id": token } });
      return { token: token as string, id: ((await info.json()) as { id: number }).id };
    };
    const searcher = await account("searcher");
    const owners = [await account("author1"), await account("author2")];
    const rooms: number[] = [];
    const mine = new Set<number>();
    const every = Math.floor(size.rooms / size.memberOf);
    for (let i = 0; i < size.rooms; i++) {
      const owner = owners[i < size.rooms / 2 ? 0 : 1]!;
      const users = i % every === 0 ? [{ id: searcher.id }] : [];
      const room = await post(base, "/v1/rooms", { name: `room ${i}`, users }, owner.token);
      rooms.push(room.id);
      if (users.length) mine.add(room.id);
    }
    const authors = rooms.map((_, i) => owners[i < size.rooms / 2 ? 0 : 1]!.id);
    return { db, token: searcher.token, rooms, mine, authors, searcher: searcher.id };
  } finally {
    await server.stop();
  }
}

// The messages, in transactions of 1,000 (the writer's batches are smaller: its index has more, smaller
// segments between merges, which the p99 below does not see). Returns seconds and the file's bytes.
function fillMessages(w: World, size: MessageSearchSize, words: Corpus) {
  const started = performance.now();
  const file = new Database(w.db);
  file.run("PRAGMA journal_mode = WAL");
  file.run("PRAGMA synchronous = NORMAL");
  const insert = file.query<never, [number, number, string, number, number]>(
    "INSERT INTO messages (room_id, user_id, text, created_at, seq) VALUES (?, ?, ?, ?, ?)",
  );
  const index = file.query<never, [number, string]>("INSERT INTO messages_search (rowid, text) VALUES (?, ?)");
  const seqs = new Map(w.rooms.map((id) => [id, 1])); // each room's creation is its seq 1
  const counts = new Map<string, number>();
  const random = prng(99);
  const t0 = Date.now() - size.messages * 100;
  for (let done = 0; done < size.messages; ) {
    file.transaction(() => {
      for (const end = Math.min(size.messages, done + 1000); done < end; done++) {
        const k = Math.floor(random() * w.rooms.length);
        const room = w.rooms[k]!;
        const user = w.mine.has(room) && random() < 0.5 ? w.searcher : w.authors[k]!;
        const seq = seqs.get(room)! + 1;
        seqs.set(room, seq);
        counts.set(`${room}:${user}`, (counts.get(`${room}:${user}`) ?? 0) + 1);
        const text = words.message();
        const id = Number(insert.run(room, user, text, t0 + done * 100, seq).lastInsertRowid);
        index.run(id, text);
      }
    })();
  }
  file.transaction(() => {
    for (const [room, seq] of seqs) {
      file.run(
        "UPDATE rooms SET seq = ?, message_count = ?, last_message_id = (SELECT max(id) FROM messages WHERE room_id = ?) WHERE id = ?",
        [seq, seq - 1, room, room],
      );
    }
    for (const [key, n] of counts) {
      const [room, user] = key.split(":").map(Number);
      file.run("UPDATE room_members SET sent = ? WHERE room_id = ? AND user_id = ?", [n, room!, user!]);
    }
  })();
  file.run("PRAGMA wal_checkpoint(TRUNCATE)");
  const sizes = indexBytes(file);
  file.close();
  return { insert_s: (performance.now() - started) / 1000, file_bytes: statSync(w.db).size, ...sizes };
}

// Bytes of the search index (FTS5's shadow tables) and of the rest of the file, from SQLite's dbstat.
function indexBytes(file: Database) {
  const rows = file.query<{ name: string; bytes: number }, []>(
    "SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name",
  );
  let fts = 0;
  let rest = 0;
  for (const r of rows.all()) {
    if (r.name.startsWith("messages_search")) fts += r.bytes;
    else rest += r.bytes;
  }
  return { index_bytes: fts, other_bytes: rest };
}

type Kind = { name: string; make: () => string };

// Query kinds by how common their words are (rank in the vocabulary), Cyrillic, prefixes and phrases.
function queryKinds(words: Corpus, random: () => number): Kind[] {
  const at = (from: number, to: number) => words.words[from + Math.floor(random() * (to - from))]!;
  const cyrillic = words.words.map((w, i) => [w, i] as const).filter(([w]) => /\p{Script=Cyrillic}/u.test(w));
  const pickCyrillic = (max: number) => {
    const some = cyrillic.filter(([, i]) => i < max);
    return some[Math.floor(random() * some.length)]![0];
  };
  const phrase = () => {
    const text = words.message().replace(/[,?]/g, "").toLowerCase().split(" ");
    const i = Math.floor(random() * (text.length - 1));
    return `"${text[i]} ${text[i + 1]}"`;
  };
  return [
    { name: "common", make: () => at(0, 20) },
    { name: "mid", make: () => at(100, 1000) },
    { name: "rare", make: () => at(5000, words.words.length) },
    { name: "cyrillic", make: () => pickCyrillic(random() < 0.5 ? 50 : 5000) },
    { name: "two_words", make: () => `${at(0, 100)} ${at(100, 2000)}` },
    { name: "prefix", make: () => `${at(0, 2000).slice(0, 3)}*` },
    { name: "phrase", make: phrase },
  ];
}

export async function messageSearchScenario(size: MessageSearchSize = FULL_SIZE) {
  const dir = mkdtempSync(join(tmpdir(), "echat-msearch-"));
  const random = prng(5);
  const words = corpus(30_000, random);
  const results: Record<string, number>[] = [];
  try {
    const world = await makeWorld(dir, size);
    const built = fillMessages(world, size, words);
    const server = await startServer(world.db);
    try {
      const time = async (q: string, order: string) => {
        const t = performance.now();
        const r = await fetch(`http://127.0.0.1:${server.port}/v1/search?${new URLSearchParams({ q, order })}`, {
          headers: { "x-session-id": world.token },
        });
        if (r.status !== 200) throw new Error(`search ${q}: ${r.status} ${await r.text()}`);
        const found = ((await r.json()) as { results: unknown[] }).results.length;
        return { ms: performance.now() - t, found };
      };
      const kinds = queryKinds(words, random);
      for (let i = 0; i < 200; i++) await time(kinds[i % kinds.length]!.make(), "newest"); // warm up
      for (let round = 0; round < size.rounds; round++) results.push(await timeRound(kinds, size, built, time));
    } finally {
      await server.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

type Timer = (q: string, order: string) => Promise<{ ms: number; found: number }>;

async function timeRound(kinds: Kind[], size: MessageSearchSize, built: Record<string, number>, time: Timer) {
  const figures: Record<string, number> = {
    messages: size.messages,
    ...built,
    index_bytes_per_message: built.index_bytes! / size.messages,
    other_bytes_per_message: built.other_bytes! / size.messages,
  };
  for (const order of ORDERS) {
    const all: number[] = [];
    for (const kind of kinds) {
      const ms: number[] = [];
      let found = 0;
      for (let i = 0; i < size.perKind; i++) {
        const t = await time(kind.make(), order);
        ms.push(t.ms);
        found += t.found;
      }
      ms.sort((a, b) => a - b);
      all.push(...ms);
      figures[`${order}_p50_ms_${kind.name}`] = percentile(ms, 0.5);
      figures[`${order}_p99_ms_${kind.name}`] = percentile(ms, 0.99);
      figures[`${order}_found_avg_${kind.name}`] = found / size.perKind;
    }
    all.sort((a, b) => a - b);
    figures[`${order}_p50_ms_all`] = percentile(all, 0.5);
    figures[`${order}_p99_ms_all`] = percentile(all, 0.99);
    figures[`${order}_max_ms_all`] = all.at(-1)!;
  }
  return figures;
}
