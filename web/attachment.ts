// A message's files on screen: PNG, JPEG, GIF and WebP as previews scaled into a box, with their size set
// before the bytes arrive so the list does not jump (a click opens the full image in a new tab); anything
// else as a chip with its name, its size and a download link. The links are the server's signed URLs; one
// that is not this server's /v1/files/ (never minted by it) is not followed: the chip stays, without a link.
// Signed URLs expire after about an hour: a click on one older than STALE_MS fetches fresh ones first.
import type { FileInfo } from "../client/index.ts";
import { client } from "./client.ts";
import { h } from "./dom.ts";

export type Attachment = FileInfo;

const PREVIEWED = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);
const BOX = { width: 320, height: 240 };
const STALE_MS = 50 * 60_000;

export function attachments(files: Attachment[]): HTMLElement {
  const el = h("div", { class: "files", "data-minted": String(Date.now()) });
  el.hidden = files.length === 0;
  el.append(...files.map((f) => (isPreviewed(f) ? preview(f) : chip(f))));
  return el;
}

// Every file link under root may have stopped working (a member left: the room's file epoch moved).
export function expireLinks(root: ParentNode) {
  for (const el of root.querySelectorAll<HTMLElement>(".files")) el.dataset.minted = "0";
}

// A file's link inside a message, when its URL may have expired.
export function staleLink(target: HTMLElement): HTMLAnchorElement | null {
  const link = target.closest<HTMLAnchorElement>(".files a[data-file]");
  const minted = Number(link?.closest<HTMLElement>(".files")?.dataset.minted);
  return link && Date.now() - minted > STALE_MS ? link : null;
}

export function isPreviewed(f: Attachment): boolean {
  return PREVIEWED.has(f.type.toLowerCase()) && !!f.width && !!f.height && ownUrl(f.url) !== null;
}

function ownUrl(url: string): string | null {
  try {
    const u = new URL(client.fileUrl({ url }), location.href);
    return u.origin === location.origin && u.pathname.startsWith("/v1/files/") ? u.href : null;
  } catch {
    return null;
  }
}

function preview(f: Attachment): HTMLElement {
  const { width, height } = scaled(f.width!, f.height!);
  const src = ownUrl(f.url)!;
  const img = h("img", { src, alt: f.name, width: String(width), height: String(height) });
  return h(
    "a",
    {
      class: "file-preview",
      href: src,
      target: "_blank",
      rel: "noopener noreferrer",
      title: f.name,
      "data-file": f.id,
    },
    img,
  );
}

function chip(f: Attachment): HTMLElement {
  const href = ownUrl(f.url);
  const link: Record<string, string> = href ? { href, download: f.name } : {};
  return h(
    href ? "a" : "span",
    { class: "file-chip", ...link, title: f.name, "data-file": f.id },
    h("span", { class: "file-kind", "aria-hidden": "true" }, kind(f.name)),
    h("span", { class: "file-name" }, f.name),
    h("span", { class: "file-size" }, humanSize(f.size)),
  );
}

// The name's extension as a badge (PDF, ZIP), or FILE.
function kind(name: string): string {
  const ext = /\.([A-Za-z0-9]{1,5})$/.exec(name)?.[1];
  return ext ? ext.toUpperCase() : "FILE";
}

// Fits width × height into the box, never enlarging a small image.
export function scaled(width: number, height: number): { width: number; height: number } {
  const k = Math.min(1, BOX.width / width, BOX.height / height);
  return { width: Math.max(1, Math.round(width * k)), height: Math.max(1, Math.round(height * k)) };
}

export function humanSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let n = bytes / 1024;
  let i = 0;
  for (; n >= 1024 && i < units.length - 1; i++) n /= 1024;
  return `${n < 10 ? n.toFixed(1) : Math.round(n)} ${units[i]}`;
}
