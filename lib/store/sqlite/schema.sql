-- echat SQLite schema, version 11. Applied at start when PRAGMA user_version is 0 (older versions migrate:
-- migrations.ts).
-- Timestamps are integers: milliseconds since the Unix epoch, UTC.

CREATE TABLE users (
  id            INTEGER PRIMARY KEY,
  login         TEXT    NOT NULL,          -- as registered, NFC
  login_folded  TEXT    NOT NULL UNIQUE,   -- NFKC + case fold (validate.ts foldLogin), for lookup and search
  password_hash TEXT    NOT NULL,          -- argon2id, PHC string ('' once deleted: no password matches)
  created_at    INTEGER NOT NULL,
  admin         INTEGER NOT NULL DEFAULT 0,  -- may create invites and manage users
  disabled      INTEGER NOT NULL DEFAULT 0,  -- may not log in; has no sessions
  last_seen_at  INTEGER,                     -- last login or session use (sessions are touched hourly)
  deleted_at    INTEGER                      -- deleted: login is deleted-<id>, the fold is out of reach (store/accounts.ts)
);

-- Substring search on the folded login (GET /v1/users): its trigrams, kept in step by triggers.
CREATE VIRTUAL TABLE users_search USING fts5(
  login_folded, content='users', content_rowid='id', tokenize='trigram case_sensitive 1'
);
CREATE TRIGGER users_search_insert AFTER INSERT ON users BEGIN
  INSERT INTO users_search (rowid, login_folded) VALUES (new.id, new.login_folded);
END;
CREATE TRIGGER users_search_update AFTER UPDATE OF login_folded ON users BEGIN
  INSERT INTO users_search (users_search, rowid, login_folded) VALUES ('delete', old.id, old.login_folded);
  INSERT INTO users_search (rowid, login_folded) VALUES (new.id, new.login_folded);
END;
CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN
  INSERT INTO users_search (users_search, rowid, login_folded) VALUES ('delete', old.id, old.login_folded);
END;
-- sessions: begin
-- Only a SHA-256 of the session id is stored: a stolen database holds no live session. public_id is what
-- GET /v1/sessions shows and DELETE /v1/sessions/:id takes: random, and no way to the secret.
CREATE TABLE sessions (
  token_hash   BLOB    PRIMARY KEY,
  user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  public_id    TEXT    NOT NULL,
  created_at   INTEGER NOT NULL,
  last_used_at INTEGER NOT NULL,
  user_agent   TEXT,                        -- as sent at login or registration, at most 256 characters
  address      TEXT                         -- the client address then
) WITHOUT ROWID;
CREATE UNIQUE INDEX sessions_user ON sessions(user_id, public_id);
-- sessions: end

-- Direct rooms (kind 'direct', the seed's) are one per member set, which never changes. Groups are
-- named, never de-duplicated, and their members come and go.
CREATE TABLE rooms (
  id              INTEGER PRIMARY KEY,
  member_key      TEXT    NOT NULL UNIQUE,  -- direct: sorted member ids, "1,2,5"; group: "g:<uuid>", never matched
  created_at      INTEGER NOT NULL,
  last_message_id INTEGER,                  -- newest message, for room lists
  last_activity   INTEGER NOT NULL,         -- last message time, else creation time
  message_count   INTEGER NOT NULL DEFAULT 0, -- messages in the room, for unread counts
  kind            TEXT    NOT NULL DEFAULT 'direct', -- 'direct' or 'group'
  name            TEXT,                     -- groups: as given
  name_folded     TEXT,                     -- groups: folded (validate.ts foldLogin), for the public directory
  topic           TEXT,
  public          INTEGER NOT NULL DEFAULT 0, -- listed in the directory, anyone may join
  owner_id        INTEGER,                  -- groups: the owner (a member), null once archived
  archived        INTEGER NOT NULL DEFAULT 0, -- a group whose last member left: kept, listed nowhere
  -- The room's order: every durable frame (message, membership change, room change) takes the next seq,
  -- 1, 2, 3 … with no gap, inside the transaction that stores it, so seqs increase in commit order.
  -- Messages take theirs in the message writer's batch (one read of this row per room per batch);
  -- room_events in the same writer (see sqlite/room-changes.ts). This is the newest.
  seq             INTEGER NOT NULL DEFAULT 0,
  -- Signed file URLs cover it (lib/files/signing.ts): +1 whenever a member leaves or is removed, so their
  -- URLs stop working at once.
  file_epoch      INTEGER NOT NULL DEFAULT 0,
  -- Messages older than this many seconds are deleted (retention); NULL: the server's --retention,
  -- 0: kept forever whatever the server's setting. Set by the owner or an admin (version 11).
  retention       INTEGER
);
-- The public directory, newest first: only public, live groups are in it, and a message batch's update
-- of a room row touches none of its columns.
CREATE INDEX rooms_public ON rooms(id) WHERE public = 1 AND archived = 0;

CREATE TABLE room_members (
  room_id      INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
  user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  position     INTEGER NOT NULL,            -- join order, creator first
  last_read_id INTEGER NOT NULL DEFAULT 0,  -- read marker, never moves backwards
  -- Unread = (rooms.message_count - read_count) - (sent - read_sent): kept by the message writer once
  -- per batch for the room and each sender (never per member), and by the read marker.
  sent         INTEGER NOT NULL DEFAULT 0,  -- messages this member sent to the room
  read_count   INTEGER NOT NULL DEFAULT 0,  -- messages in the room up to the read marker
  read_sent    INTEGER NOT NULL DEFAULT 0,  -- of those, sent by this member
  -- Notification level (version 9): 'all', 'mentions' or 'none'; NULL: the room kind's default (direct:
  -- all, group: mentions), so a default that changes reaches every member who never chose.
  notify       TEXT,
  PRIMARY KEY (room_id, user_id)
) WITHOUT ROWID;
CREATE INDEX room_members_user ON room_members(user_id, room_id);

-- Ids increase in the order messages are stored: a client resumes with "after the last id I saw".
-- seq: the message's place in the room's order (rooms.seq). There is no index on it: within a room, id
-- order is seq order (both are assigned by the one writer, in its transaction), so "the frames after
-- seq S" starts after the newest message with seq <= S, found by walking messages_room back from the
-- room's end: as many rows as were missed, which the room's own seq bounds before any read.
CREATE TABLE messages (
  id         INTEGER PRIMARY KEY,
  room_id    INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
  user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  text       TEXT    NOT NULL,
  client_id  TEXT,                          -- sender's idempotency key, optional
  created_at INTEGER NOT NULL,
  seq        INTEGER NOT NULL DEFAULT 0,
  -- messages: changes begin
  edited_at  INTEGER,                        -- the last edit; the text holds only the newest version
  reply_to   INTEGER,                        -- a message of the same room this one answers
  mentions   TEXT,                           -- JSON array of the member ids it mentions; NULL: none
  reactions  TEXT,                           -- JSON [{"emoji", "user_ids"}] in first-reaction order; NULL: none
  -- Deleted: a tombstone keeps id, room, sender, seq and time (the id is never reused, the seq stays
  -- taken); text is '' and the rest NULL. secure_delete and the search index's own secure-delete
  -- overwrite the old text in the file, and the writer truncates the WAL after a delete.
  deleted_at INTEGER,
  -- messages: changes end
  -- Its files (version 8): JSON [{"id","name","type","size","width","height"}] in the order sent, a copy of
  -- their rows' fields made as they are attached (reads need no join); NULL: none, or deleted.
  files      TEXT
);
CREATE INDEX messages_room ON messages(room_id, id);
-- A sender's recent client_ids, newest last, for idempotent retries (see the message writer):
-- appended in id order per (room, sender), so it stays cheap even for random client_ids.
CREATE INDEX messages_sender ON messages(room_id, user_id, id) WHERE client_id IS NOT NULL;

-- Membership and room changes, durable frames in the room's order beside its messages (rooms.seq).
-- id: commit order across rooms, so that reads stop where the writer's answers stand, as for messages.
-- A room's creation is its first event (members, everyone added).
CREATE TABLE room_events (
  id         INTEGER PRIMARY KEY,
  room_id    INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
  seq        INTEGER NOT NULL,
  kind       TEXT    NOT NULL,               -- 'members', 'room', 'edit', 'delete' or 'reaction'
  by_id      INTEGER NOT NULL,               -- the user who made the change
  -- JSON: members {users, added, removed}; room {room}; edit and delete {message_id} (never the text,
  -- which lives only in messages, so a delete erases every version); reaction {message_id, reactions}
  body       TEXT    NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX room_events_seq ON room_events(room_id, seq);

-- version 7: begin
-- Unread mentions (GET /v1/rooms `mentions`): who each message mentions, counted past the read marker.
CREATE TABLE mentions (
  user_id    INTEGER NOT NULL,
  room_id    INTEGER NOT NULL,
  message_id INTEGER NOT NULL,
  PRIMARY KEY (user_id, room_id, message_id)
) WITHOUT ROWID;

-- Full-text search over messages (GET /v1/search): the index only, the text stays in messages. Kept in
-- the transaction that writes the message (the writer thread): a new message is indexed by the writer's
-- own insert (writer.worker.ts), not by a trigger, because a trigger makes every message insert a statement
-- with a savepoint, at which FTS5 writes out its pending words: a tiny index segment per message, and ingest
-- fell to about a third (docs/performance.md). Edits and deletes are kept by the triggers below.
-- secure-delete removes a deleted or edited text's entries from the index's pages rather than marking them.
-- prefix: an index of every word's first 2 and 3 characters too, so a short prefix (`pr*`, `пре*`) reads
-- one list instead of merging every word it starts (without it, 40-160 ms at 1M messages).
CREATE VIRTUAL TABLE messages_search USING fts5(
  text, content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2', prefix='2 3'
);
INSERT INTO messages_search (messages_search, rank) VALUES ('secure-delete', 1);
CREATE TRIGGER messages_search_update AFTER UPDATE OF text ON messages BEGIN
  INSERT INTO messages_search (messages_search, rowid, text) VALUES ('delete', old.id, old.text);
  INSERT INTO messages_search (rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER messages_search_delete AFTER DELETE ON messages BEGIN
  INSERT INTO messages_search (messages_search, rowid, text) VALUES ('delete', old.id, old.text);
END;
-- version 7: end

-- version 8: begin
-- Files uploaded to a room (lib/files): the bytes live in the storage (a folder or S3) under storage_key,
-- the row says whose and where. public_id is the file's id in the API and its URLs: random, so ids give
-- nothing away. message_id: NULL until a message attaches it (at most once); unattached uploads are swept
-- after 24 h.
CREATE TABLE files (
  id          INTEGER PRIMARY KEY,
  public_id   TEXT    NOT NULL UNIQUE,
  room_id     INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
  user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,  -- the uploader
  name        TEXT    NOT NULL,             -- sanitized (lib/files/names.ts)
  type        TEXT    NOT NULL,             -- the Content-Type as given (type/subtype), else application/octet-stream
  size        INTEGER NOT NULL,             -- bytes
  width       INTEGER,                      -- PNG, JPEG, GIF and WebP only, from the header bytes
  height      INTEGER,
  sha256      TEXT    NOT NULL,             -- hex; the download's ETag
  storage_key TEXT    NOT NULL,             -- where the bytes are in the storage
  message_id  INTEGER,                      -- the message it is attached to
  created_at  INTEGER NOT NULL
);
CREATE INDEX files_unattached ON files(created_at) WHERE message_id IS NULL;  -- the orphan sweep
CREATE INDEX files_user ON files(user_id, size);                               -- quota: sum(size) per uploader
CREATE INDEX files_message ON files(message_id) WHERE message_id IS NOT NULL;  -- a message's files

-- Server-wide values shared by every instance: file_secret (the key of signed file URLs, 32 random bytes
-- base64url), written once by whichever instance starts first.
CREATE TABLE settings (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
-- version 8: end

-- version 10: begin
-- Web Push subscriptions (POST /v1/push/subscriptions), each the session's that registered it: ending the
-- session (logout, password change, disable, delete, DELETE /v1/sessions/:id) removes them by the cascade.
-- p256dh (65-byte point) and auth (16 bytes) as the browser gave them, base64url.
CREATE TABLE push_subscriptions (
  endpoint    TEXT    PRIMARY KEY,
  p256dh      TEXT    NOT NULL,
  auth        TEXT    NOT NULL,
  token_hash  BLOB    NOT NULL REFERENCES sessions(token_hash) ON DELETE CASCADE,
  user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX push_subscriptions_session ON push_subscriptions(token_hash);
CREATE INDEX push_subscriptions_user ON push_subscriptions(user_id, created_at);
-- version 10: end

-- version 11: begin
-- Web Push still to send: one row per subscription and room, holding the newest message to announce, so a
-- burst in a room while its member is away makes one pending push, not one per message (the push service's
-- Topic header does the same on its side). due_at: when it may go (--push-delay, or the retry's backoff);
-- claimed_until: an instance is sending it until then (claims are atomic: once per message per subscription
-- however many instances drain). sent_id: the last message pushed (0: none); a sent row is kept, due 5 s later,
-- so a newer message waits that gap on every instance; it has news while message_id > sent_id, and goes once
-- its due time passes with none. Gone with its subscription or room.
CREATE TABLE push_queue (
  endpoint      TEXT    NOT NULL REFERENCES push_subscriptions(endpoint) ON DELETE CASCADE,
  room_id       INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
  message_id    INTEGER NOT NULL,
  sent_id       INTEGER NOT NULL DEFAULT 0,
  due_at        INTEGER NOT NULL,
  attempts      INTEGER NOT NULL DEFAULT 0,
  claimed_until INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (endpoint, room_id)
) WITHOUT ROWID;
CREATE INDEX push_queue_due ON push_queue(due_at);
-- version 11: end

-- Keep this block last: the 4 -> 5 migration creates everything from here to the end.
-- Invite codes, by the SHA-256 of the code as sessions are. A row goes when used up or revoked;
-- expired rows are skipped and purged when the next invite is made.
CREATE TABLE invites (
  code_hash  BLOB    PRIMARY KEY,
  public_id  TEXT    NOT NULL UNIQUE,       -- shown in GET /v1/invites; revoking takes it or the code
  created_by INTEGER REFERENCES users(id) ON DELETE CASCADE,  -- NULL: the CLI or the first-admin setup link
  room_id    INTEGER REFERENCES rooms(id) ON DELETE SET NULL,  -- the new user joins this room
  admin      INTEGER NOT NULL DEFAULT 0,    -- the setup link: makes its user an admin, only while none exists
  uses_left  INTEGER NOT NULL,
  expires_at INTEGER,                       -- NULL: the setup link, valid until used or an admin exists
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX invites_creator ON invites(created_by);
