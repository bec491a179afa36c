// The web client: log in or register, list rooms, find people, open a room. Plain DOM, no framework.
import type {
  ApiError,
  Info,
  Message,
  Room,
  RoomSummary,
  SearchResult,
  StreamMessage,
  User,
  UserStream,
} from "../client/index.ts";
import { AdminView } from "./admin.ts";
import { showUnread } from "./badge.ts";
import { gist } from "./bubble.ts";
import { DirectoryView, NewGroupView } from "./groups.ts";
import { client, LOGGED_OUT } from "./client.ts";
import { byId, h, localTime } from "./dom.ts";
import { MessageSearch } from "./message-search.ts";
import { DesktopNotifier, type Level, levelOf } from "./notify.ts";
import { LevelPicker } from "./notify-level.ts";
import { Presence } from "./presence.ts";
import { PushSubscriber } from "./push.ts";
import { type At, RoomView, roomTitle } from "./room.ts";
import { SessionsView } from "./sessions.ts";

const authForm = byId<HTMLFormElement>("auth-form");
const authError = byId("auth-error");
const roomsEl = byId("rooms");
const roomPane = byId("room");
const search = byId<HTMLInputElement>("search");
const results = byId("results");
const searchError = byId("search-error");

let me: Info | null = null;
let rooms: RoomSummary[] = [];
let open: RoomView | null = null;
const PANELS = ["admin", "sessions", "new-group", "directory"] as const;
type Panel = (typeof PANELS)[number];
let panel: Panel | null = null; // a view in place of a room
let stream: UserStream | null = null; // one live stream over all of the user's rooms: the list and rooms follow it
let presence: Presence | null = null;
const LATELY = 100;
const lately: StreamMessage[] = []; // the newest live messages, for a room list read before they were stored
let openAt: At | null = null; // where the next room opened by route() opens (a search result)
const messageSearch = new MessageSearch({
  me: () => me?.id ?? 0,
  room: (id) => {
    const r = rooms.find((r) => r.id === id);
    return r && me ? { title: roomTitle(r, me), members: r.users } : undefined;
  },
  open: (r) => openMessage(r),
});
byId("search-form").after(messageSearch.el);
// A click on a push notification (the service worker tells this window): the room, at that message.
const push = new PushSubscriber((roomId, messageId) => {
  const hash = `#room/${roomId}/${messageId}`;
  if (location.hash === hash) void route();
  else location.hash = hash;
});
const notifier = new DesktopNotifier({
  me: () => me?.id ?? 0,
  room: (id) => rooms.find((r) => r.id === id),
  inView: (id) => open?.room.id === id && document.visibilityState === "visible",
  title: (r) => (me ? roomTitle(r, me) : ""),
  sender: (r, id) => r.users.find((u) => u.id === id)?.login ?? "Someone",
  open: (id) => (location.hash = `#room/${id}`),
  granted: () => void push.subscribe(),
});
byId("search-form").before(notifier.control, push.status); // under the header: until granted; if push fails
let picker: LevelPicker | null = null; // the open room's notification level

function show(screen: "auth" | "chat") {
  byId("auth").hidden = screen !== "auth";
  byId("chat").hidden = screen !== "chat";
}

authForm.onsubmit = async (e) => {
  e.preventDefault();
  const action = (e.submitter as HTMLButtonElement | null)?.value === "register" ? "register" : "login";
  const form = new FormData(authForm);
  const [login, password] = [String(form.get("login") ?? ""), String(form.get("password") ?? "")];
  const invite = String(form.get("invite") ?? "").trim();
  authError.textContent = "";
  try {
    await (action === "register"
      ? client.register(login, password, invite || undefined)
      : client.login(login, password));
    authForm.reset();
    showInvite(null);
    if (location.hash.startsWith("#invite=")) history.replaceState(null, "", location.pathname);
    await start();
  } catch (err) {
    authError.textContent = (err as Error).message;
    if ((err as ApiError).code === "invite_required") showInvite("");
  }
};

// An invite link (/#invite=CODE) opens the registration form with its code filled in; a server that
// needs an invite asks for one when registering without.
function showInvite(code: string | null) {
  byId("invite-label").hidden = code === null;
  byId("invited").hidden = !code;
  byId<HTMLInputElement>("invite").value = code ?? "";
  if (code === "") byId("invite").focus();
}
const invitedIn = (hash: string) => /^#invite=([A-Za-z0-9_-]+)$/.exec(hash)?.[1];
const invited = invitedIn(location.hash);
if (invited) showInvite(invited);
addEventListener("hashchange", () => {
  const code = invitedIn(location.hash);
  if (code && !me) showInvite(code); // a link pasted into the open login page
});

async function start() {
  if (!client.session) return loggedOut();
  try {
    me = await client.info();
  } catch (err) {
    if ((err as ApiError).code === "unauthorized") return loggedOut();
    show("auth");
    authError.textContent = (err as Error).message;
    return;
  }
  byId("me").textContent = me.login;
  byId("admin").hidden = !me.admin;
  show("chat");
  push.start(client.session);
  await refreshRooms();
  follow();
  route();
}

function loggedOut() {
  client.session = null;
  stream?.close();
  stream = null;
  open?.close();
  open = null;
  panel = null;
  me = null;
  rooms = [];
  lately.length = 0;
  notifier.clear();
  push.ended();
  messageSearch.clear();
  roomsEl.replaceChildren();
  roomPane.replaceChildren(h("p", { class: "empty" }, "Pick a room, or search for someone to start a chat."));
  show("auth");
  byId("login").focus();
}
addEventListener(LOGGED_OUT, loggedOut);

byId("logout").onclick = async () => {
  await push.stop(); // while the session still lets it remove the subscription
  await client.logout().catch(() => {}); // gone already or unreachable: forget it anyway
  history.replaceState(null, "", location.pathname);
  loggedOut();
};

// The room list and the open room follow the user's stream. A message moves its room to the top (counted
// unread unless it is the open room or the user's own); the user's own read marker brings the room's unread
// count; a change of members or rooms, and each (re)sync, reload the list.
function follow() {
  stream?.close();
  stream = client.stream();
  presence = new Presence(stream);
  stream.on("synced", () => (notifier.synced(), void refreshRooms()));
  stream.on("message", (m) => onStreamMessage(m));
  for (const name of ["members", "room", "room_removed", "resync"] as const) stream.on(name, () => void refreshRooms());
  stream.on("delete", (f) => {
    const i = lately.findIndex((m) => m.id === f.message_id);
    if (i >= 0) lately.splice(i, 1);
    void refreshRooms(); // the room's last message and counts may change
  });
  stream.on("edit", (f) => onStreamEdit(f.message));
  stream.on("read", (f) => f.user_id === me?.id && onOwnRead(f.room_id, f.message_id, f.unread, f.mentions));
  stream.on("settings", (f) => setLevel(f.room_id, f.notify)); // set on one of the user's devices
  stream.on("closed", (end) => end.code === 4001 && loggedOut());
}

// The user's read marker moved (on this device or another): the room's unread and mention counts come with it,
// and its notifications up to there close.
function onOwnRead(roomId: number, messageId: number, unread: number | undefined, mentions: number | undefined) {
  notifier.read(roomId, messageId);
  push.read(roomId, messageId);
  const room = rooms.find((r) => r.id === roomId);
  if (!room || unread === undefined) return void refreshRooms();
  room.unread = unread;
  room.mentions = mentions ?? 0;
  renderRooms();
}

// A room's notification level, set here or on another device.
function setLevel(roomId: number, level: Level) {
  const room = rooms.find((r) => r.id === roomId);
  if (room) room.notify = level;
  if (picker?.room.id === roomId) picker.show(level);
}

// The room list shows the last message's text: an edit of it shows there too.
function onStreamEdit(m: Message) {
  const room = rooms.find((r) => r.id === m.room_id);
  if (room?.last_message?.id !== m.id) return;
  room.last_message = m;
  renderRooms();
}

function onStreamMessage(m: StreamMessage) {
  lately.push(m);
  if (lately.length > LATELY) lately.shift();
  notifier.onMessage(m, !!stream?.open); // a replay (stream not open yet) waits for synced
  if (!countIn(m)) return void refreshRooms();
  renderRooms();
}

// A message moves its room to the top, counted unread (and mentioning the user) unless it is the open
// room's or the user's own. False when the room is not in the list.
function countIn(m: StreamMessage): boolean {
  const i = rooms.findIndex((r) => r.id === m.room_id);
  if (i < 0) return false;
  const [room] = rooms.splice(i, 1);
  room!.last_message = m;
  if (m.user_id !== me?.id && m.room_id !== open?.room.id) {
    room!.unread++;
    if (me && m.mentions?.includes(me.id)) room!.mentions = (room!.mentions ?? 0) + 1;
  }
  rooms.unshift(room!);
  return true;
}

// The list as the server has it, with the messages that came live after it was read (newer than a room's
// last message there) counted again.
async function refreshRooms() {
  try {
    rooms = await client.allRooms(200);
  } catch {
    return; // offline for now; the stream's next sync reloads it
  }
  for (const m of lately) {
    const room = rooms.find((r) => r.id === m.room_id);
    if (room && m.id > (room.last_message?.id ?? 0)) countIn(m);
  }
  renderRooms();
}

function renderRooms() {
  if (!me) return;
  const current = open?.room.id;
  roomsEl.replaceChildren(
    ...rooms.map((r) => {
      const last = r.last_message;
      const unread = r.id === current ? 0 : r.unread;
      const mentions = r.id === current ? 0 : (r.mentions ?? 0);
      const author = last && (last.user_id === me!.id ? "You" : r.users.find((u) => u.id === last.user_id)?.login);
      const button = h(
        "button",
        {
          type: "button",
          class: "room-item",
          "aria-current": r.id === current ? "true" : false,
          "data-room": String(r.id),
        },
        h("span", { class: "name" }, roomTitle(r, me!)),
        last ? localTime(last.created_at) : null,
        h("span", { class: "last" }, last ? `${author}: ${gist(last)}` : "No messages yet"),
        unread || mentions
          ? h(
              "span",
              { class: "badges" },
              mentions
                ? h("span", { class: "mentions", "aria-label": `${mentions} mentioning you` }, `@${mentions}`)
                : "",
              unread ? h("span", { class: "unread", "aria-label": `${unread} unread` }, String(unread)) : "",
            )
          : null,
      );
      button.onclick = () => (location.hash = `#room/${r.id}`);
      return h("li", {}, button);
    }),
  );
  showUnread(rooms.reduce((n, r) => n + (r.id === current ? 0 : r.unread), 0));
}

for (const name of PANELS) byId(name).onclick = () => (location.hash = `#${name}`);

// A room just made or joined: into the list, and open.
async function opened(room: Room) {
  await refreshRooms();
  location.hash = `#room/${room.id}`;
}

// The admin view, the sessions list, a new group's form and the directory take the room's place (#admin, …).
async function showPanel(name: Panel) {
  if (panel === name) return;
  open?.close();
  open = null;
  panel = name;
  document.body.classList.add("in-room");
  const host = { loggedOut, opened, back: () => (location.hash = "") };
  const view = {
    admin: () => new AdminView(me!, host),
    sessions: () => new SessionsView(host),
    "new-group": () => new NewGroupView(host),
    directory: () => new DirectoryView(host),
  }[name]();
  roomPane.replaceChildren(view.el);
  renderRooms();
  await view.start();
}

// A search result: its room, opened at that message with the words found marked.
function openMessage(r: SearchResult) {
  openAt = { messageId: r.message.id, highlights: r.highlights };
  const hash = `#room/${r.message.room_id}/${r.message.id}`;
  if (location.hash === hash) void route();
  else location.hash = hash;
}

// The open room lives in the URL (#room/12, or #room/12/345 at message 345), so reload and the back button
// keep it; #admin, #sessions, #new-group and #directory show those views instead.
async function route() {
  if (!me) return;
  const name = PANELS.find((p) => location.hash === `#${p}`);
  if (name && (name !== "admin" || me.admin)) return showPanel(name);
  const [, roomId, messageId] = /^#room\/(\d+)(?:\/(\d+))?$/.exec(location.hash) ?? [];
  const id = Number(roomId ?? 0);
  const at: At | undefined = messageId
    ? { ...(openAt?.messageId === Number(messageId) ? openAt : {}), messageId: Number(messageId) }
    : undefined;
  openAt = null;
  if (open?.room.id === id && !panel) return at ? open.jumpTo(at) : undefined;
  open?.close();
  open = null;
  panel = null;
  document.body.classList.toggle("in-room", id > 0);
  if (!id) {
    roomPane.replaceChildren(h("p", { class: "empty" }, "Pick a room, or search for someone to start a chat."));
    renderRooms();
    return refreshRooms(); // unread counts changed while the room was open
  }
  let room: Room;
  try {
    room = rooms.find((r) => r.id === id) ?? (await client.getRoom(id));
  } catch (err) {
    roomPane.replaceChildren(h("p", { class: "empty form-error" }, (err as Error).message));
    return;
  }
  picker = new LevelPicker(room, levelOf(room), (level) => setLevel(room.id, level));
  const host = { back: () => (location.hash = ""), left: () => (location.hash = ""), controls: [picker.el] };
  const view = new RoomView(room, me, host, stream!, presence!);
  open = view;
  roomPane.replaceChildren(view.el);
  renderRooms();
  await view.start(at);
  if (open === view) view.focus();
}
addEventListener("hashchange", route);

let searchTimer: ReturnType<typeof setTimeout> | undefined;
search.oninput = () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(findPeople, 200);
};
search.onkeydown = (e) => {
  if (e.key === "Escape") clearSearch();
};
byId<HTMLFormElement>("search-form").onsubmit = (e) => {
  e.preventDefault();
  (results.querySelector("button") as HTMLButtonElement | null)?.click();
};

function clearSearch() {
  search.value = "";
  results.replaceChildren();
  searchError.textContent = "";
}

async function findPeople() {
  const q = search.value.trim();
  searchError.textContent = "";
  if (!q) return results.replaceChildren();
  let users: User[];
  try {
    users = await client.searchUsers(q);
  } catch (err) {
    searchError.textContent = (err as Error).message;
    return;
  }
  if (search.value.trim() !== q) return; // a newer search is on its way
  const others = users.filter((u) => u.id !== me?.id);
  // One or two characters match the start of a login only (docs/api.md): say so.
  const short = [...q].length < 3 ? " Type three characters to find them anywhere in a login." : "";
  if (!others.length) searchError.textContent = `Nobody found for “${q}”.${short}`;
  results.replaceChildren(
    ...others.map((u) => {
      const b = h("button", { type: "button" }, `Chat with ${u.login}`);
      b.onclick = () => startRoom(u);
      return h("li", {}, b);
    }),
  );
}

async function startRoom(user: User) {
  try {
    const room = await client.createRoom([{ id: user.id }]);
    clearSearch();
    await refreshRooms();
    location.hash = `#room/${room.id}`;
  } catch (err) {
    searchError.textContent = (err as Error).message;
  }
}

showUnread(0);
start();
