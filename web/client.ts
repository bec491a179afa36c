// The page's one API client (client/): its session kept in localStorage, and any 401 on a call made with
// it (logged out elsewhere, expired) sends the app back to the login form.
import { EchatClient } from "../client/index.ts";

const KEY = "echat.session";
export const LOGGED_OUT = "echat:logged-out";

export const client = new EchatClient({
  session: localStorage.getItem(KEY),
  onSession: (id) => (id ? localStorage.setItem(KEY, id) : localStorage.removeItem(KEY)),
  onUnauthorized: () => dispatchEvent(new Event(LOGGED_OUT)),
});
