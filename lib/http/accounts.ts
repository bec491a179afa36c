// Accounts: register, log in and out, change the password, who am I.
import { hashPassword, verifyPassword } from "../auth/passwords.ts";
import { type Caller, hashToken, newSessionToken, requireUser } from "../auth/sessions.ts";
import type { Config } from "../config.ts";
import { ApiError } from "../errors.ts";
import { clientAddress } from "../limits/address.ts";
import { createBuckets } from "../limits/buckets.ts";
import type { Limits } from "../limits/limits.ts";
import type { Logger } from "../log.ts";
import type { Notifier } from "../realtime/notifier.ts";
import type { Store } from "../store/store.ts";
import { foldLogin, requireString, validLogin, validPassword } from "../validate.ts";
import { json, type Req, readJson, type Server } from "./respond.ts";

export type AccountDeps = {
  store: Store;
  config: Config;
  now: () => number;
  limits: Limits;
  log: Logger;
  notify: Pick<Notifier, "sessionEnded" | "passwordChanged">; // closes sockets of ended sessions
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

async function handleRegister(deps: Deps, req: Req, server: Server) {
  const { store, config, now, limits } = deps;
  const body = await readJson(req);
  const login = validLogin(requireString(body, "login"));
  const password = validPassword(requireString(body, "password"));
  await limits.registration(address(deps, req, server));
  const user = await store.createUser(login, foldLogin(login), await hashPassword(config, password), now());
  if (!user) throw new ApiError("user_already_exists");
  return startSession(deps, user.id);
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
  return startSession(deps, user.id);
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
  return json({ id: caller.userId, login: caller.login });
}

async function startSession({ store, now }: AccountDeps, userId: number) {
  const token = newSessionToken();
  await store.createSession(hashToken(token), userId, now());
  return json({ session_id: token });
}

function address({ config }: AccountDeps, req: Req, server: Server) {
  return clientAddress(req, server, config.trustProxy);
}
