// REST handlers. Each gets only what it uses: the store, the config, the clock, the hub.
import type { Server } from "bun";
import { type Caller, hashPassword, newSessionToken, hashToken, requireUser, verifyPassword } from "./auth.ts";
import type { Config } from "./config.ts";
import { ApiError } from "./errors.ts";
import { clientAddress, type Limits } from "./limits.ts";
import type { Logger } from "./log.ts";
import { json, readJson } from "./respond.ts";
import { type Store, messageJson, roomJson, roomSummaryJson } from "./store.ts";
import { foldLogin, pageQuery, requireString, roomId, roomUsers, validLogin, validPassword } from "./validate.ts";

export type Deps = {
  store: Store;
  config: Config;
  now: () => number;
  limits: Limits;
  log: Logger;
  onLogout?: (caller: Caller) => void; // the hub closes that session's sockets
  onPasswordChange?: (caller: Caller) => void; // the hub closes the user's other sessions' sockets
};

type Req = Request & { params: Record<string, string> };

const MAX_ROOM_USERS = 100;
const SEARCH_LIMIT = 50;

export function createHandlers(deps: Deps) {
  const { store, config, now, limits, log, onLogout, onPasswordChange } = deps;
  const address = (req: Req, server: Server<any>) => clientAddress(req, server, config.trustProxy);

  async function startSession(userId: number) {
    const token = newSessionToken();
    await store.createSession(hashToken(token), userId, now());
    return json({ session_id: token });
  }

  return {
    async handleRegister(req: Req, server: Server<any>) {
      const body = await readJson(req);
      const login = validLogin(requireString(body, "login"));
      const password = validPassword(requireString(body, "password"));
      limits.registration(address(req, server));
      const user = await store.createUser(login, foldLogin(login), await hashPassword(config, password), now());
      if (!user) throw new ApiError("user_already_exists");
      return startSession(user.id);
    },

    // A failed attempt keeps the tokens it took from the login's and the address's buckets;
    // a successful one gives them back.
    async handleLogin(req: Req, server: Server<any>) {
      const body = await readJson(req);
      const login = requireString(body, "login");
      const password = requireString(body, "password");
      const folded = foldLogin(login);
      const from = address(req, server);
      let refund;
      try {
        refund = limits.loginAttempt(folded, from);
      } catch (e) {
        log.warn("login rate limited", { login: folded.slice(0, 64), address: from });
        throw e;
      }
      const user = await store.findUserByLogin(folded);
      if (!user) throw new ApiError("user_not_found");
      if (!(await verifyPassword(password, user.passwordHash))) throw new ApiError("wrong_credentials");
      refund();
      return startSession(user.id);
    },

    // Ends every other session of the user (and closes their sockets); this one stays.
    async handlePassword(req: Req, server: Server<any>) {
      const caller = await requireUser(deps, req);
      const body = await readJson(req);
      const old = requireString(body, "old_password");
      const password = validPassword(requireString(body, "new_password"));
      const refund = limits.loginAttempt(foldLogin(caller.login), address(req, server));
      const user = await store.findUserByLogin(foldLogin(caller.login));
      if (!user || !(await verifyPassword(old, user.passwordHash))) throw new ApiError("wrong_credentials");
      refund();
      await store.changePassword(caller.userId, await hashPassword(config, password), caller.tokenHash);
      onPasswordChange?.(caller);
      log.info("password changed; other sessions ended", { user: caller.userId });
      return json({});
    },

    async handleLogout(req: Req) {
      const caller = await requireUser(deps, req);
      await store.deleteSession(caller.tokenHash);
      onLogout?.(caller);
      return json({});
    },

    async handleInfo(req: Req) {
      const caller = await requireUser(deps, req);
      return json({ id: caller.userId, login: caller.login });
    },

    async handleSearchUsers(req: Req) {
      await requireUser(deps, req);
      const q = new URL(req.url).searchParams.get("q") ?? "";
      if (q === "") return json([]);
      const users = await store.searchUsers(foldLogin(q), SEARCH_LIMIT);
      return json(users.map((u) => ({ id: u.id, login: u.login })));
    },

    async handleListRooms(req: Req) {
      const caller = await requireUser(deps, req);
      const rooms = await store.listRooms(caller.userId);
      return json(rooms.map((r) => roomSummaryJson(r, caller.userId)));
    },

    async handleCreateRoom(req: Req) {
      const caller = await requireUser(deps, req);
      const { ids, logins } = roomUsers(await readJson(req));
      const members = new Set<number>([caller.userId]);
      for (const login of logins) {
        const user = await store.findUserByLogin(foldLogin(login));
        if (!user) throw new ApiError("user_not_found", `no user with login ${JSON.stringify(login)}`);
        members.add(user.id);
      }
      for (const id of ids) members.add(id);
      if (members.size > MAX_ROOM_USERS) throw new ApiError("too_many_users");
      const found = await store.findUsersByIds([...members]);
      if (found.length !== members.size) throw new ApiError("user_not_found");
      const room = await store.createRoom([...members], now());
      return json(roomJson(room, caller.userId));
    },

    async handleGetRoom(req: Req) {
      const caller = await requireUser(deps, req);
      const room = await store.findRoomForMember(roomId(req.params.id!), caller.userId);
      if (!room) throw new ApiError("room_not_found");
      return json(roomJson(room, caller.userId));
    },

    async handleListMessages(req: Req) {
      const caller = await requireUser(deps, req);
      const id = roomId(req.params.id!);
      if (!(await store.isMember(id, caller.userId))) throw new ApiError("room_not_found");
      const page = pageQuery(new URL(req.url).searchParams);
      const messages = await store.listMessages(id, page);
      return json(messages.map(messageJson));
    },
  };
}
