// One file's upload to a room: POST /v1/rooms/:id/files?name=… with the raw bytes, through XMLHttpRequest
// because fetch reports no upload progress. It carries the page's session like every other call (web/client.ts).
import { ApiError, NetworkError } from "../client/index.ts";
import { errorOf, retryAfterSeconds } from "../client/errors.ts";
import { client, LOGGED_OUT } from "./client.ts";
import type { Attachment } from "./attachment.ts";

export type Upload = {
  done: Promise<Attachment>; // rejects with ApiError, NetworkError, or an AbortError DOMException
  abort(): void;
};

export function upload(roomId: number, file: File, progress: (sent: number, total: number) => void): Upload {
  const xhr = new XMLHttpRequest();
  const q = new URLSearchParams({ name: file.name || "file" });
  xhr.open("POST", `${client.baseUrl}/v1/rooms/${roomId}/files?${q}`);
  if (client.session) xhr.setRequestHeader("x-session-id", client.session);
  xhr.setRequestHeader("content-type", file.type || "application/octet-stream");
  xhr.responseType = "text";
  const done = new Promise<Attachment>((resolve, reject) => {
    xhr.upload.onprogress = (e) => progress(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onload = () => {
      const body = parse(xhr.responseText);
      if (xhr.status >= 200 && xhr.status < 300) return resolve(body as Attachment);
      if (xhr.status === 401 && client.session) dispatchEvent(new Event(LOGGED_OUT));
      reject(failure(xhr, body));
    };
    xhr.onerror = () => reject(new NetworkError());
    xhr.onabort = () => reject(new DOMException("The upload was cancelled.", "AbortError"));
  });
  xhr.send(file);
  return { done, abort: () => xhr.abort() };
}

// The API's error as the rest of the client raises it; a proxy's bare 413 is a too-large file all the same.
function failure(xhr: XMLHttpRequest, body: unknown): Error {
  const e = errorOf(body);
  const retry = retryAfterSeconds(xhr.getResponseHeader("retry-after"));
  if (e) return new ApiError(xhr.status, e.code, e.message, retry);
  if (xhr.status === 413) return new ApiError(413, "payload_too_large", "File too large", retry);
  return new NetworkError(undefined, xhr.status);
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
