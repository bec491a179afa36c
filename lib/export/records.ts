// The export file's records (docs/export.md): one per table row, in this order, so that every row a record
// refers to comes before it. A record is the row's columns under their own names, in a form both stores
// read and write alike: booleans as true/false, bytes as base64url, JSON columns as JSON, message text as
// a string (PostgreSQL keeps it as bytes). Reading and writing rows by these specs is tables.ts.

export const FORMAT = "echat-export";
// The format's version: it changes when a record's fields or meaning change. An echat imports every
// version up to its own and refuses a newer one.
export const VERSION = 1;

// int: a safe integer; bool; text: a string; utf8: a string PostgreSQL keeps as bytea; bytes: base64url;
// json: any JSON the column holds as text. A "?" suffix: may be null.
type Kind = "int" | "bool" | "text" | "utf8" | "bytes" | "json";
type Column = `${Kind}` | `${Kind}?`;

export type RecordSpec = {
  type: string;
  table: string;
  key: string[]; // the primary key: pages are read in its order
  columns: Record<string, Column>;
  secret?: true; // exported only with --with-secrets
  withheld?: Record<string, unknown>; // columns left out without --with-secrets, and what import writes then
  extra?: Record<string, Column>; // fields of the record that are not columns
  renamed?: Record<string, string>; // column -> its field, where the column's name is taken ("type")
};

const field = (spec: RecordSpec, column: string) => spec.renamed?.[column] ?? column;

export const RECORDS: RecordSpec[] = [
  {
    type: "user",
    table: "users",
    key: ["id"],
    columns: {
      id: "int",
      login: "text",
      login_folded: "text",
      password_hash: "text",
      created_at: "int",
      admin: "bool",
      disabled: "bool",
      last_seen_at: "int?",
      deleted_at: "int?",
    },
    withheld: { password_hash: "" }, // '' matches no password: the user cannot log in until `echat user passwd`
  },
  { type: "setting", table: "settings", key: ["key"], columns: { key: "text", value: "text" }, secret: true },
  {
    type: "session",
    table: "sessions",
    key: ["token_hash"],
    columns: {
      token_hash: "bytes",
      user_id: "int",
      public_id: "text",
      created_at: "int",
      last_used_at: "int",
      user_agent: "text?",
      address: "text?",
    },
    secret: true,
  },
  {
    type: "room",
    table: "rooms",
    key: ["id"],
    columns: {
      id: "int",
      member_key: "text",
      created_at: "int",
      last_message_id: "int?",
      last_activity: "int",
      message_count: "int",
      kind: "text",
      name: "text?",
      name_folded: "text?",
      topic: "text?",
      public: "bool",
      owner_id: "int?",
      archived: "bool",
      seq: "int",
      file_epoch: "int",
      retention: "int?",
    },
  },
  {
    type: "member",
    table: "room_members",
    key: ["room_id", "user_id"],
    columns: {
      room_id: "int",
      user_id: "int",
      position: "int",
      last_read_id: "int",
      sent: "int",
      read_count: "int",
      read_sent: "int",
      notify: "text?",
    },
  },
  {
    type: "message",
    table: "messages",
    key: ["id"],
    columns: {
      id: "int",
      room_id: "int",
      user_id: "int",
      text: "utf8",
      client_id: "utf8?",
      created_at: "int",
      seq: "int",
      edited_at: "int?",
      reply_to: "int?",
      mentions: "json?",
      reactions: "json?",
      deleted_at: "int?",
      files: "json?",
    },
  },
  {
    type: "event",
    table: "room_events",
    key: ["id"],
    columns: { id: "int", room_id: "int", seq: "int", kind: "text", by_id: "int", body: "json", created_at: "int" },
  },
  {
    type: "mention",
    table: "mentions",
    key: ["user_id", "room_id", "message_id"],
    columns: { user_id: "int", room_id: "int", message_id: "int" },
  },
  {
    type: "file",
    table: "files",
    key: ["id"],
    columns: {
      id: "int",
      public_id: "text",
      room_id: "int",
      user_id: "int",
      name: "text",
      type: "text",
      size: "int",
      width: "int?",
      height: "int?",
      sha256: "text",
      storage_key: "text",
      message_id: "int?",
      created_at: "int",
    },
    extra: { embedded: "bool" }, // true: `file_data` records with its bytes follow
    renamed: { type: "content_type" },
  },
  {
    type: "invite",
    table: "invites",
    key: ["code_hash"],
    columns: {
      code_hash: "bytes",
      public_id: "text",
      created_by: "int?",
      room_id: "int?",
      admin: "bool",
      uses_left: "int",
      expires_at: "int?",
      created_at: "int",
    },
    secret: true,
  },
  {
    type: "push_subscription",
    table: "push_subscriptions",
    key: ["endpoint"],
    columns: { endpoint: "text", p256dh: "text", auth: "text", token_hash: "bytes", user_id: "int", created_at: "int" },
    secret: true,
  },
];

export const FILE_DATA = "file_data"; // {"type":"file_data","id":<file id>,"data":"<base64>"}, after its file
export const FILE_CHUNK = 192 * 1024; // bytes per file_data record (256 KiB of base64)

export type Dialect = "sqlite" | "postgres";
export type Row = Record<string, unknown>;
export type Rec = Record<string, unknown>;

// A row as either store returns it (PostgreSQL: bigint as a string, bytea as bytes) -> the record's fields.
export function toRecord(spec: RecordSpec, row: Row, withSecrets: boolean): Rec {
  const rec: Rec = { type: spec.type };
  for (const [name, column] of Object.entries(spec.columns)) {
    if (!withSecrets && spec.withheld && name in spec.withheld) continue;
    const v = row[name];
    const f = field(spec, name);
    if (v === null || v === undefined) rec[f] = null;
    else if (column.startsWith("int")) rec[f] = Number(v);
    else if (column.startsWith("bool")) rec[f] = v === true || v === 1;
    else if (column.startsWith("bytes")) rec[f] = Buffer.from(v as Uint8Array).toString("base64url");
    else if (column.startsWith("utf8")) rec[f] = typeof v === "string" ? v : Buffer.from(v as Uint8Array).toString();
    else if (column.startsWith("json")) rec[f] = JSON.parse(v as string);
    else rec[f] = v;
  }
  return rec;
}

// A checked record -> the row to insert into the dialect's table (columns in the spec's order).
export function toRow(spec: RecordSpec, rec: Rec, dialect: Dialect): Row {
  const row: Row = {};
  for (const [name, column] of Object.entries(spec.columns)) {
    const f = field(spec, name);
    const v = f in rec ? rec[f] : spec.withheld?.[name];
    if (v === null) row[name] = null;
    else if (column.startsWith("bool")) row[name] = dialect === "sqlite" ? (v ? 1 : 0) : v;
    else if (column.startsWith("bytes")) row[name] = Buffer.from(v as string, "base64url");
    else if (column.startsWith("utf8")) row[name] = dialect === "sqlite" ? v : Buffer.from(v as string);
    else if (column.startsWith("json")) row[name] = JSON.stringify(v);
    else row[name] = v;
  }
  return row;
}

// Why a parsed line is not a valid record of its spec, or null when it is.
export function recordProblem(spec: RecordSpec, rec: Rec): string | null {
  const fields: Record<string, Column> = { ...spec.extra };
  for (const [name, column] of Object.entries(spec.columns)) fields[field(spec, name)] = column;
  for (const name of Object.keys(rec))
    if (name !== "type" && !(name in fields)) return `unknown field "${name}" in a ${spec.type} record`;
  for (const [name, column] of Object.entries(fields)) {
    if (!(name in rec)) {
      if (spec.withheld && name in spec.withheld) continue;
      if (spec.extra && name in spec.extra) continue;
      return `a ${spec.type} record without "${name}"`;
    }
    const v = rec[name];
    const [kind, nullable] = [column.replace("?", ""), column.endsWith("?")];
    if (v === null ? !nullable : !fits(kind, v))
      return `"${name}" of a ${spec.type} record must be ${describe(column)}`;
  }
  return null;
}

function fits(kind: string, v: unknown): boolean {
  if (kind === "int") return Number.isSafeInteger(v);
  if (kind === "bool") return typeof v === "boolean";
  if (kind === "bytes") return typeof v === "string" && /^[A-Za-z0-9_-]*$/.test(v);
  if (kind === "json") return v !== undefined;
  return typeof v === "string";
}

const describe = (column: Column) =>
  ({ int: "an integer", bool: "true or false", bytes: "base64url", json: "JSON", text: "a string", utf8: "a string" })[
    column.replace("?", "") as Kind
  ] + (column.endsWith("?") ? " or null" : "");
