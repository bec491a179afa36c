-- echat PostgreSQL schema, version 11: the same tables as schema.sql, for instances sharing one database.
-- Applied at start under an advisory lock when echat_schema holds no version. Timestamps: ms since the epoch.

-- One random id per database: Redis channels and keys are named with it, so deployments (or test
-- databases) that share a Redis never see each other's traffic.
CREATE TABLE deployment (id text NOT NULL DEFAULT gen_random_uuid()::text);
INSERT INTO deployment DEFAULT VALUES;

CREATE TABLE users (
  id            bigserial PRIMARY KEY,
  login         text   NOT NULL,         -- as registered, NFC
  login_folded  text   NOT NULL UNIQUE,  -- folded in JS (validate.ts foldLogin), for lookup and search
  password_hash text   NOT NULL,          -- '' once deleted: no password matches
  created_at    bigint NOT NULL,
  admin         boolean NOT NULL DEFAULT false,  -- may create invites and manage users
  disabled      boolean NOT NULL DEFAULT false,  -- may not log in; has no sessions
  last_seen_at  bigint,                          -- last login or session use (sessions are touched hourly)
  deleted_at    bigint                           -- deleted: login is deleted-<id>, the fold out of reach
);
-- User search (GET /v1/users): prefixes in code point order, substrings by trigram (pg_trgm, in contrib).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX users_folded_order ON users (login_folded COLLATE "C");
CREATE INDEX users_folded_trgm ON users USING gin (login_folded gin_trgm_ops);

CREATE TABLE sessions (
  token_hash   bytea  PRIMARY KEY,      -- SHA-256 of the session id
  user_id      bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at   bigint NOT NULL,
  last_used_at bigint NOT NULL,
  public_id    text   NOT NULL,         -- what GET /v1/sessions shows: random, no way to the secret
  user_agent   text,                    -- at most 256 characters
  address      text
);
CREATE UNIQUE INDEX sessions_user ON sessions(user_id, public_id);

CREATE TABLE rooms (
  id              bigserial PRIMARY KEY,
  member_key      text   NOT NULL UNIQUE,  -- direct: sorted member ids (one room per member set); group: "g:<uuid>"
  created_at      bigint NOT NULL,
  last_message_id bigint,                  -- newest message
  last_activity   bigint NOT NULL,
  message_count   bigint NOT NULL DEFAULT 0, -- messages in the room, for unread counts
  kind            text    NOT NULL DEFAULT 'direct', -- 'direct' or 'group'
  name            text,
  name_folded     text,                    -- validate.ts foldLogin, for the public directory
  topic           text,
  public          boolean NOT NULL DEFAULT false,
  owner_id        bigint,                  -- groups: the owner, null once archived
  archived        boolean NOT NULL DEFAULT false, -- a group whose last member left: kept, listed nowhere
  -- The room's order, as on SQLite: every durable frame takes the next seq (1, 2, 3 … no gap) while
  -- the room row is locked (FOR UPDATE), so seqs commit in increasing order within the room. Message
  -- batches read it under the lock they already took; room changes take the same lock. The newest.
  seq             bigint  NOT NULL DEFAULT 0,
  file_epoch      bigint  NOT NULL DEFAULT 0, -- +1 when a member leaves or is removed (signed file URLs)
  retention       bigint                      -- seconds; NULL: the server's --retention, 0: forever
);
CREATE INDEX rooms_public ON rooms(id) WHERE public AND NOT archived;

CREATE TABLE room_members (
  room_id      bigint  NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
  user_id      bigint  NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  position     integer NOT NULL,
  last_read_id bigint  NOT NULL DEFAULT 0,
  -- Unread = (rooms.message_count - read_count) - (sent - read_sent), as on SQLite: kept by each
  -- message batch for the room and each sender (never per member), and by the read marker.
  sent         bigint  NOT NULL DEFAULT 0,  -- messages this member sent to the room
  read_count   bigint  NOT NULL DEFAULT 0,  -- messages in the room up to the read marker
  read_sent    bigint  NOT NULL DEFAULT 0,  -- of those, sent by this member
  notify       text,                        -- as on SQLite (version 9): all, mentions, none; NULL: the default
  PRIMARY KEY (room_id, user_id)
);
CREATE INDEX room_members_user ON room_members(user_id, room_id);

-- Ids come from one sequence, but a message is inserted while its room row is locked, so within a room
-- ids commit in increasing order and "after <id>" never skips a late commit. seq: its place in the
-- room's order; not indexed, as on SQLite: within a room id order is seq order, so the frames after a
-- seq start after the newest message at or before it, found by walking messages_room back.
-- text and client_id are bytea: the API accepts any string, and PostgreSQL text cannot hold U+0000.
CREATE TABLE messages (
  id         bigserial PRIMARY KEY,
  room_id    bigint NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
  user_id    bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  text       bytea  NOT NULL,
  client_id  bytea,
  created_at bigint NOT NULL,
  seq        bigint NOT NULL DEFAULT 0,
  -- As on SQLite (sqlite/schema.sql): the last edit, the message answered, JSON of mentioned ids and of
  -- reactions, and the deletion (a tombstone: text '' and the rest NULL, search NULL).
  edited_at  bigint,
  reply_to   bigint,
  mentions   text,
  reactions  text,
  deleted_at bigint,
  -- Its words for full-text search (lib/search/tokens.ts searchVector: tokenized as SQLite does), written
  -- with the text; NULL once deleted.
  search     tsvector,
  files      text  -- as on SQLite: JSON of its files' fields, NULL when none (version 8)
);
CREATE INDEX messages_room ON messages(room_id, id);
CREATE INDEX messages_search ON messages USING gin (search);
-- Idempotent retries (docs/api.md, the same rule as SQLite's): a sender's client_ids, and the sender's
-- messages with a client_id in id order, to count how many were stored since a match.
CREATE INDEX messages_client ON messages(room_id, user_id, client_id) WHERE client_id IS NOT NULL;
CREATE INDEX messages_sender ON messages(room_id, user_id, id) WHERE client_id IS NOT NULL;

-- Membership and room changes, in the room's order beside its messages (rooms.seq). A room's creation
-- is its first event. body: JSON text, members {users, added, removed}, room {room}, edit and delete
-- {message_id} (never the text), reaction {message_id, reactions}.
CREATE TABLE room_events (
  id         bigserial PRIMARY KEY,
  room_id    bigint NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
  seq        bigint NOT NULL,
  kind       text   NOT NULL,
  by_id      bigint NOT NULL,
  body       text   NOT NULL,
  created_at bigint NOT NULL,
  UNIQUE (room_id, seq)
);

-- Unread mentions (GET /v1/rooms `mentions`), as on SQLite.
CREATE TABLE mentions (
  user_id    bigint NOT NULL,
  room_id    bigint NOT NULL,
  message_id bigint NOT NULL,
  PRIMARY KEY (user_id, room_id, message_id)
);

-- version 8: begin
-- Files and server settings, as on SQLite (see its schema.sql).
CREATE TABLE files (
  id          bigserial PRIMARY KEY,
  public_id   text   NOT NULL UNIQUE,
  room_id     bigint NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
  user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name        text   NOT NULL,
  type        text   NOT NULL,
  size        bigint NOT NULL,
  width       integer,
  height      integer,
  sha256      text   NOT NULL,
  storage_key text   NOT NULL,
  message_id  bigint,
  created_at  bigint NOT NULL
);
CREATE INDEX files_unattached ON files(created_at) WHERE message_id IS NULL;
CREATE INDEX files_user ON files(user_id, size);
CREATE INDEX files_message ON files(message_id) WHERE message_id IS NOT NULL;

CREATE TABLE settings (
  key   text PRIMARY KEY,
  value text NOT NULL
);
-- version 8: end

-- Who is online where, for presence across instances when there is no Redis. Rows of a crashed
-- instance stop being refreshed and fall out by expires_at.
CREATE TABLE presence (
  room_id    bigint NOT NULL,
  user_id    bigint NOT NULL,
  instance   text   NOT NULL,
  expires_at bigint NOT NULL,
  PRIMARY KEY (room_id, user_id, instance)
);

-- Login-guessing token buckets shared by the instances when there is no Redis (lib/limits/shared.ts).
CREATE TABLE limit_buckets (
  key    text    PRIMARY KEY,  -- bucket name and key, e.g. "login:alice"
  tokens float8  NOT NULL,
  at     bigint  NOT NULL,     -- when tokens was computed
  took   boolean NOT NULL      -- whether the last take got a token
);

-- version 10: begin
-- Web Push subscriptions, as on SQLite (see its schema.sql): gone with their session.
CREATE TABLE push_subscriptions (
  endpoint    text   PRIMARY KEY,
  p256dh      text   NOT NULL,
  auth        text   NOT NULL,
  token_hash  bytea  NOT NULL REFERENCES sessions(token_hash) ON DELETE CASCADE,
  user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at  bigint NOT NULL
);
CREATE INDEX push_subscriptions_session ON push_subscriptions(token_hash);
CREATE INDEX push_subscriptions_user ON push_subscriptions(user_id, created_at);
-- version 10: end

-- version 11: begin
-- Web Push still to send, as on SQLite (see its schema.sql): one row per subscription and room.
CREATE TABLE push_queue (
  endpoint      text   NOT NULL REFERENCES push_subscriptions(endpoint) ON DELETE CASCADE,
  room_id       bigint NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
  message_id    bigint NOT NULL,
  sent_id       bigint NOT NULL DEFAULT 0,
  due_at        bigint NOT NULL,
  attempts      integer NOT NULL DEFAULT 0,
  claimed_until bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (endpoint, room_id)
);
CREATE INDEX push_queue_due ON push_queue(due_at);
-- version 11: end

-- Keep this block last: the 4 -> 5 migration creates everything from here to the end.
-- Invite codes by their SHA-256, as on SQLite (see its schema.sql).
CREATE TABLE invites (
  code_hash  bytea   PRIMARY KEY,
  public_id  text    NOT NULL UNIQUE,
  created_by bigint  REFERENCES users(id) ON DELETE CASCADE,
  room_id    bigint  REFERENCES rooms(id) ON DELETE SET NULL,
  admin      boolean NOT NULL DEFAULT false,
  uses_left  integer NOT NULL,
  expires_at bigint,
  created_at bigint  NOT NULL
);
CREATE INDEX invites_creator ON invites(created_by);
