// Driving the web client in Chromium through Bun.WebView: a view per person, waiting for a page
// condition (polled with a deadline, never a fixed sleep), typing into fields, screenshots.
import { existsSync } from "node:fs";
import { every, waitFor } from "./waiting.ts";

export const CHROMIUM =
  process.env.BUN_CHROME_PATH ??
  Bun.which("chromium") ??
  (existsSync("/usr/bin/chromium") ? "/usr/bin/chromium" : null);

const backend = {
  type: "chrome" as const,
  path: CHROMIUM ?? undefined,
  url: false as const,
  argv: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
  ],
};

export function openView(width = 1100, height = 700) {
  return new Bun.WebView({ backend, width, height });
}

export type View = ReturnType<typeof openView>;

// Evaluates expr in the page until ok(value) holds; returns that value. A page has no change event
// to await here, so the condition is polled.
export async function until<T = unknown>(
  view: View,
  expr: string,
  ok: (v: T) => boolean = Boolean,
  ms = 8000,
): Promise<T> {
  let last: T;
  const check = async () => {
    last = (await view.evaluate(expr)) as T;
    return ok(last) ? { value: last } : undefined;
  };
  const failure = () => `timed out after ${ms} ms waiting for ${expr}; last value: ${JSON.stringify(last)}`;
  return (await waitFor(check, ms, every(40), failure)).value;
}

export const text = (view: View, selector: string) =>
  view.evaluate(`document.querySelector(${JSON.stringify(selector)})?.textContent ?? null`) as Promise<string | null>;

export async function fill(view: View, selector: string, value: string) {
  await view.evaluate(`document.querySelector(${JSON.stringify(selector)}).value = ""`);
  await view.click(selector);
  await view.type(value);
}

// The texts of the stored (acknowledged) messages in the open room, in order.
export const storedTexts = (view: View) =>
  view.evaluate(`[...document.querySelectorAll(".msg:not(.pending) .text")].map((e) => e.textContent)`) as Promise<
    string[]
  >;

// A message on the page by its id, and waits for it to show or go.
export const msg = (id: number) => `.msg[data-id="${id}"]`;
export const shown = (view: View, id: number) =>
  until(view, `!!document.querySelector('${msg(id)}')`, undefined, 10000);
export const gone = (view: View, id: number) => until(view, `!document.querySelector('${msg(id)}')`, undefined, 10000);

// The id of the last stored (acknowledged) message on the page, and of the next one stored after `after`.
const LAST_STORED = `Number([...document.querySelectorAll(".msg:not(.pending)")].at(-1)?.dataset.id ?? 0)`;
export const lastStored = (view: View) => view.evaluate(LAST_STORED) as Promise<number>;
export const nextStored = (view: View, after: number) => until<number>(view, LAST_STORED, (id) => id > after, 10000);

// Signs a page in with a session (at `host`: 127.0.0.1 or localhost, two origins with their own storage) and
// opens a room.
export async function signIn(view: View, base: string, host: string, session: string, room: number) {
  await view.navigate(`${base.replace("127.0.0.1", host)}/`);
  await view.evaluate(
    `(localStorage.setItem("echat.session", ${JSON.stringify(session)}), (location.hash = "#room/${room}"))`,
  );
  await view.reload();
  await until(view, `document.querySelector(".room-view")?.dataset.state === "open"`, undefined, 10000);
}
