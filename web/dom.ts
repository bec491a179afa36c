// DOM helpers. Text always goes in as text nodes: nothing from the network is ever parsed as HTML.
type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | boolean> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== false) el.setAttribute(k, v === true ? "" : v);
  el.append(...children.filter((c): c is Node | string => !!c));
  return el;
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  return document.getElementById(id) as T;
}

// The viewer's local time: just the time today, with the date otherwise.
export function localTime(iso: string): HTMLTimeElement {
  const d = new Date(iso);
  const now = new Date();
  let label = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  if (d.toDateString() !== now.toDateString()) {
    const year = d.getFullYear() !== now.getFullYear() ? { year: "numeric" as const } : {};
    label = `${d.toLocaleDateString([], { day: "numeric", month: "short", ...year })}, ${label}`;
  }
  return h("time", { datetime: iso, title: d.toLocaleString() }, label);
}
