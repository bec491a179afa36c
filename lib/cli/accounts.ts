// CLI commands for admins, disabled and deleted users, and invites. They change the database beside a
// running server, which sees it within its session cache's 10 s and closes the sockets of ended sessions
// at its next session check (a minute); the HTTP API acts at once on every instance.
import { createInvite, INVITE_SECONDS, INVITE_USES, inviteUrl } from "../auth/registration.ts";
import { hashToken } from "../auth/sessions.ts";
import type { Config } from "../config.ts";
import type { AccountChange, AccountResult, Store } from "../store/store.ts";
import { foldLogin } from "../validate.ts";
import { type Command, Failure, isoSeconds, out, STORE_SETTINGS, UsageError, withStore } from "./command.ts";

async function userId(store: Store, login: string): Promise<number> {
  const user = await store.findUserByLogin(foldLogin(login), login);
  if (!user) throw new Failure(`no user ${JSON.stringify(login)}`);
  return user.id;
}

function check(result: AccountResult, login: string) {
  if (result === "not_found") throw new Failure(`no user ${JSON.stringify(login)}`);
  if (result === "last_admin") throw new Failure(`${login} is the last admin; make another admin first`);
}

function change(what: AccountChange, done: string, summary: string): Command {
  return {
    args: ["login"],
    summary,
    async run({ config, args: [login] }) {
      await withStore(config, false, async (store) =>
        check(await store.updateAccount(await userId(store, login!), what), login!),
      );
      out(`${login}: ${done}`);
      return 0;
    },
  };
}

export const ACCOUNT_COMMANDS: Record<string, Command> = {
  "user admin": {
    args: ["login", "on|off"],
    summary: "give a user the admin right (on) or take it away (off)",
    async run({ config, args: [login, onOff] }) {
      if (onOff !== "on" && onOff !== "off")
        throw new UsageError(`user admin takes on or off, not ${JSON.stringify(onOff)}`);
      const admin = onOff === "on";
      await withStore(config, false, async (store) =>
        check(await store.updateAccount(await userId(store, login!), { admin }), login!),
      );
      out(`${login} is ${admin ? "now" : "no longer"} an admin`);
      return 0;
    },
  },
  "user disable": change(
    { disabled: true },
    "disabled; their sessions have ended",
    "disable a user: their sessions end and they cannot log in (their messages stay)",
  ),
  "user enable": change({ disabled: false }, "enabled", "let a disabled user log in again"),
  "user delete": {
    args: ["login"],
    summary: "delete a user: account, sessions and invites go; messages stay, shown as deleted-<id>",
    async run({ config, args: [login] }) {
      const id = await withStore(config, false, async (store) => {
        const id = await userId(store, login!);
        check(await store.deleteAccount(id, Date.now()), login!);
        return id;
      });
      out(`deleted ${login}; their messages stay, shown as deleted-${id}`);
      return 0;
    },
  },
};

const DURATION = /^(\d{1,6})([smhd])$/;
const UNIT = { s: 1, m: 60, h: 3600, d: 86400 } as const;

function seconds(raw: string | boolean | undefined): number {
  if (raw === undefined) return INVITE_SECONDS.default;
  const m = typeof raw === "string" ? DURATION.exec(raw) : null;
  const n = m ? Number(m[1]) * UNIT[m[2] as keyof typeof UNIT] : NaN;
  if (!(n >= INVITE_SECONDS.min && n <= INVITE_SECONDS.max))
    throw new UsageError(`--expires takes a duration like 30m, 12h or 7d, from 1m to 365d, not ${JSON.stringify(raw)}`);
  return n;
}

function uses(raw: string | boolean | undefined): number {
  if (raw === undefined) return INVITE_USES.default;
  const n = typeof raw === "string" && /^\d{1,4}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= INVITE_USES.max))
    throw new UsageError(`--uses takes 1 to ${INVITE_USES.max}, not ${JSON.stringify(raw)}`);
  return n;
}

// Without --public-url the CLI cannot know the address users open: the link is shown relative to it.
const linkBase = (config: Config) => config.publicUrl || "<server address>";

export const INVITE_COMMANDS: Record<string, Command> = {
  "invite create": {
    args: [],
    summary: "make an invite code (--uses N, default 1; --expires 7d, default 7 days) and print it with its link",
    options: { uses: { type: "string" }, expires: { type: "string" } },
    settings: [...STORE_SETTINGS, "publicUrl"],
    async run({ config, values }) {
      const o = { createdBy: null, roomId: null, uses: uses(values.uses), seconds: seconds(values.expires) };
      const made = await withStore(config, false, (store) => createInvite(store, Date.now(), o));
      out(`code:    ${made.code}`);
      out(`link:    ${inviteUrl(linkBase(config), made.code)}`);
      out(`uses:    ${made.usesLeft}`);
      out(`expires: ${isoSeconds(made.expiresAt!)}`);
      return 0;
    },
  },
  "invite list": {
    args: [],
    summary: "list live invites: id, uses left, expiry, creator's user id (- for the CLI), room id",
    async run({ config }) {
      const invites = await withStore(config, false, (store) => store.listInvites(Date.now()));
      out("id\tuses_left\texpires_at\tcreated_by\troom_id");
      for (const i of invites) {
        const expires = i.expiresAt === null ? "-" : isoSeconds(i.expiresAt);
        out(`${i.publicId}\t${i.usesLeft}\t${expires}\t${i.createdBy ?? "-"}\t${i.roomId ?? "-"}`);
      }
      return 0;
    },
  },
  "invite revoke": {
    args: ["code"],
    summary: "revoke an invite by its code, or by the id invite list shows",
    async run({ config, args: [code] }) {
      const gone = await withStore(config, false, (store) => store.revokeInvite(hashToken(code!), code!));
      if (!gone) throw new Failure("no such invite");
      out("invite revoked");
      return 0;
    },
  },
};
