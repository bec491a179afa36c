// What an upload's name and Content-Type become. Pure functions.

// Path separators, control characters (C0, DEL, C1) and bidi controls (which make "evil\u202Efdp.exe" read
// as "evilexe.pdf") are dropped; the rest is NFC, trimmed, at most 255 bytes of UTF-8 with its extension
// kept. "" when nothing is left, or only dots (".", ".."): the caller answers invalid_file_name.
const DROPPED = /[/\\\p{Cc}\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/gu;
export const MAX_NAME_BYTES = 255;

export function sanitizeFileName(raw: string): string {
  const name = raw.normalize("NFC").replace(DROPPED, "").trim();
  if (/^\.*$/.test(name)) return "";
  return fitBytes(name, MAX_NAME_BYTES);
}

// Cut to at most max UTF-8 bytes on a code point boundary, keeping a short extension (".pdf").
function fitBytes(name: string, max: number): string {
  const size = (s: string) => Buffer.byteLength(s);
  if (size(name) <= max) return name;
  const dot = name.lastIndexOf(".");
  const ext = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : "";
  let stem = [...name.slice(0, name.length - ext.length)];
  while (stem.length > 0 && size(stem.join("") + ext) > max) stem.pop();
  return (stem.join("").trimEnd() || "file") + ext;
}

// The Content-Type given, without parameters, if it is token/token; else application/octet-stream.
const TOKEN = "[!#$%&'*+.^_`|~0-9a-z-]+";
const MEDIA_TYPE = new RegExp(`^${TOKEN}/${TOKEN}$`);
export function fileType(header: string | null): string {
  const type = (header ?? "").split(";")[0]!.trim().toLowerCase();
  return MEDIA_TYPE.test(type) ? type : "application/octet-stream";
}

// Types a browser may show in place (images, audio, video, PDF): served inline; everything else (SVG and
// HTML included) is served as an attachment.
const INLINE = new Set([
  "image/png",
  "image/jpeg",
  "image/gif",
  "image/webp",
  "video/mp4",
  "video/webm",
  "audio/mpeg",
  "audio/mp3",
  "audio/ogg",
  "video/ogg",
  "audio/webm",
  "application/ogg",
  "application/pdf",
]);
export const servedInline = (type: string) => INLINE.has(type);

// Content-Disposition: inline or attachment, the name as an ASCII fallback and in UTF-8 (RFC 6266).
export function contentDisposition(type: string, name: string): string {
  const kind = servedInline(type) ? "inline" : "attachment";
  const ascii = name.replace(/[^\x20-\x7e]|["\\%]/g, "_");
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name).replace(/['()*]/g, escape)}`;
}

const escape = (c: string) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`;
