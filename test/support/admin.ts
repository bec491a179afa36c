// Admins and invites for tests: a server whose first-admin setup link is read from its log, registering
// with an invite, making invites.
import { type Account, call } from "./http.ts";
import { LogSink } from "./log.ts";
import { type StartOptions, startServer, type TestServer } from "./server.ts";

const LINK = /#invite=([A-Za-z0-9_-]+)/;

// The code of the newest setup link in the log, waiting for it.
export async function setupCode(sink: LogSink, from = 0): Promise<string> {
  const line = await sink.next((l) => l.includes("no admin yet") && LINK.test(l), from);
  return LINK.exec(line)![1]!;
}

// A server with its log captured from INFO up (the setup link is an INFO line).
export async function startLogged(options: StartOptions = {}): Promise<{ s: TestServer; sink: LogSink }> {
  const sink = new LogSink();
  const s = await startServer({ ...options, config: { logLevel: "info", ...options.config }, log: sink.write });
  return { s, sink };
}

// A server and its first admin, made with the setup link.
export async function startWithAdmin(options: StartOptions = {}, login = "root") {
  const { s, sink } = await startLogged(options);
  const admin = await registerWith(s.url, login, await setupCode(sink));
  return { s, sink, admin };
}

export function registerRaw(base: string, login: string, invite: unknown, password = "password123") {
  return call(base, "POST", "/v1/register", { body: { login, password, invite } });
}

export async function registerWith(base: string, login: string, invite: string, password = "password123") {
  const r = await registerRaw(base, login, invite, password);
  if (r.status !== 200) throw new Error(`register ${login}: ${r.status} ${JSON.stringify(r.body)}`);
  const info = await call(base, "GET", "/v1/info", { session: r.body.session_id });
  return { id: info.body.id, login, session: r.body.session_id, roomId: r.body.room_id } as Account & {
    roomId?: number;
  };
}

export async function makeInvite(base: string, admin: Account, body: Record<string, unknown> = {}) {
  const r = await call(base, "POST", "/v1/invites", { session: admin.session, body });
  if (r.status !== 200) throw new Error(`invite: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body as {
    id: string;
    code: string;
    url: string;
    uses_left: number;
    expires_at: string;
    room_id: number | null;
  };
}
