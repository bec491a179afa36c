// Accounts: register (open, by invite, or closed), log in and out, change the password, who am I.
import { hashPassword, verifyPassword } from "../auth/passwords.ts";
import { INVITE_CODE, newPublicId } from "../auth/registration.ts";
import { type Caller, hashToken, newSessionToken, requireUser } from "../auth/sessions.ts";
import type { Config } from "../config.ts";
import { ApiError } from "../errors.ts";
import { clientAddress, clientIp } from "../limits/address.ts";
import { createBuckets } from "../limits/buckets.ts";
import type { Limits } from "../limits/limits.ts";
import type { Logger } from "../log.ts";
import type { Notifier } from "../realtime/notifier.ts";
import type { Store, User } from "../store/store.ts";
import { foldLogin, type Json, requireString, validLogin, validPassword } from "../validate.ts";
import { json, type Req, readJson, type Server } from "./respond.ts";

export type AccountDeps = {
  store: Store;
  config: Config;
  now: () => number;
  limits: Limits;
  log: Logger;
  notify: Pick<Notifier, "sessionEnded" | "passwordChanged" | "roomChanged">; // ended sessions; an invite's room joined
};

type Deps = AccountDeps & { logOnce: (address: string) => boolean };

// Each handler is a function of its own below, given the same dependencies.
export function accountHandlers(accountDeps: AccountDeps) {
  // A rate-limited source is logged once a minute (the limits' window), not once per attempt.
  const logged = createBuckets(1, 1 / 60, accountDeps.now);
  const deps: Deps = { ...accountDeps, logOnce: (address) => logged.take(address) === 0 };
  return {
    handleRegister: (req: Req, server: Server) => handleRegister(deps, req, server),
    handleLogin: (req: Req, server: Server) => handleLogin(deps, req, server),
    handlePassword: (req: Req, server: Server) => handlePassword(deps, req, server),
    handleLogout: (req: Req) => handleLogout(deps, req),
    handleInfo: (req: Req) => handleInfo(deps, req),
  };
}

// --registration open: anyone; invite: with an invite code; closed: only with the first-admin setup link.
// An invite is checked before the login, so a bad one never tells whether a login is taken.
async function handleRegister(deps: Deps, req: Req, server: Server) {
  const { store, config, now, limits } = deps;
  const body = await readJson(req);
  const login = validLogin(requireString(body, "login"));
  const password = validPassword(requireString(body, "password"));
  const invite = optionalInvite(body);
  const mode = config.registration;
  if (invite === null && mode !== "open")
    throw new ApiError(mode === "closed" ? "registration_closed" : "invite_required");
  await limits.registration(address(deps, req, server));
  const refused = mode === "closed" ? "registration_closed" : "invalid_invite";
  if (invite !== null && !INVITE_CODE.test(invite)) throw new ApiError(refused);
  const newUser = { login, folded: foldLogin(login), passwordHash: await hashPassword(config, password), now: now() };
  let user: User | null;
  let roomId: number | null = null;
  if (invite === null) {
    user = await store.createUser(newUser.login, newUser.folded, newUser.passwordHash, newUser.now);
  } else {
    const r = await store.registerWithInvite(hashToken(invite), newUser, now(), mode === "closed", config.maxRoomUsers);
    if (r === "invalid") throw new ApiError(refused);
    ({ user, roomId } = r === "taken" ? { user: null, roomId: null } : r);
    if (typeof r !== "string") deps.notify.roomChanged(r.events);
  }
  if (!user) throw new ApiError("user_already_exists");
  const session = await startSession(deps, req, server, user.id);
  return json(roomId === null ? session : { ...session, room_id: roomId });
}

function optionalInvite(body: Json): string | null {
  const v = body.invite;
  if (v === undefined || v === null) return null;
  if (typeof v !== "string") throw new ApiError("invalid_json", '"invite" must be a string');
  return v;
}

// A failed attempt keeps the tokens it took from the login's and the address's buckets;
// a successful one gives them back.
async function handleLogin(deps: Deps, req: Req, server: Server) {
  const { store, limits, log, logOnce } = deps;
  const body = await readJson(req);
  const login = requireString(body, "login");
  const password = requireString(body, "password");
  const folded = foldLogin(login);
  const from = address(deps, req, server);
  let refund: () => Promise<void>;
  try {
    refund = await limits.loginAttempt(folded, from);
  } catch (e) {
    if (logOnce(from)) log.warn("login rate limited", { login: login.slice(0, 64), address: from });
    throw e;
  }
  const user = await store.findUserByLogin(folded, login);
  if (!user) throw new ApiError("user_not_found");
  if (!(await verifyPassword(password, user.passwordHash))) throw new ApiError("wrong_credentials");
  await refund();
  if (user.disabled) throw new ApiError("account_disabled"); // only now: a guesser learns nothing
  return json(await startSession(deps, req, server, user.id));
}

// Ends every other session of the user (and closes their sockets); this one stays. The old password
// is a login attempt like any other, so it cannot be guessed faster here.
async function handlePassword(deps: Deps, req: Req, server: Server) {
  const { store, config, limits, log, notify } = deps;
  const caller = await requireUser(deps, req);
  const body = await readJson(req);
  const old = requireString(body, "old_password");
  const password = validPassword(requireString(body, "new_password"));
  const refund = await limits.loginAttempt(foldLogin(caller.login), address(deps, req, server));
  const user = await store.findUserByLogin(foldLogin(caller.login), caller.login);
  if (!user || !(await verifyPassword(old, user.passwordHash))) throw new ApiError("wrong_credentials");
  await refund();
  await store.changePassword(caller.userId, await hashPassword(config, password), caller.tokenHash);
  notify.passwordChanged(caller.userId, caller.tokenHash);
  log.info("password changed; other sessions ended", { user: caller.userId });
  return json({});
}

async function handleLogout(deps: Deps, req: Req) {
  const caller: Caller = await requireUser(deps, req);
  await deps.store.deleteSession(caller.tokenHash);
  deps.notify.sessionEnded(caller.tokenHash);
  return json({});
}

async function handleInfo(deps: Deps, req: Req) {
  const caller = await requireUser(deps, req);
  const account = await deps.store.findAccount(caller.userId);
  if (!account) throw new ApiError("unauthorized"); // deleted a moment ago
  return json({ id: caller.userId, login: caller.login, admin: account.admin });
}

// The session records where it came from, for GET /v1/sessions.
async function startSession(deps: AccountDeps, req: Req, server: Server, userId: number) {
  const token = newSessionToken();
  await deps.store.createSession({
    tokenHash: hashToken(token),
    publicId: newPublicId(),
    userId,
    now: deps.now(),
    userAgent: req.headers.get("user-agent")?.slice(0, 256) ?? null,
    address: clientIp(req, server, deps.config.trustProxy),
  });
  return { session_id: token };
}

function address({ config }: AccountDeps, req: Req, server: Server) {
  return clientAddress(req, server, config.trustProxy);
}
