// Files in messages: "files" on a send attaches the sender's unattached uploads to the room (text may then be
// ""), and the message carries them with fresh signed URLs wherever it goes (the ack and other sockets, the
// user stream, history, the room list); anything else is invalid_files with the client_id and nothing stored.
// A removed member's URLs stop working; a deleted message's files go (rows and bytes).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Account, call, createRoom, registerAll } from "./support/http.ts";
import { download, pngHeader, upload } from "./support/files.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { storages, type TestStorage } from "./support/s3.ts";
import { EchatClient } from "../client/index.ts";
import { CheckedWebSocket, checkedFetch } from "./support/contract.ts";
import { openStorage } from "../lib/files/open.ts";
import { storageKey } from "../lib/files/storage.ts";
import { answerTo, chatUrl, isMessage, openStream, Socket, streamUrl } from "./support/socket.ts";

for (const storage of await storages()) {
  describe.if(storage.enabled)(`files on ${storage.name}`, () => {
    let s: TestServer;
    let stored: Awaited<ReturnType<TestStorage["start"]>>;
    let ann: Account, ben: Account, cy: Account;
    let room: number, other: number, group: number;
    beforeAll(async () => {
      stored = await storage.start();
      s = await startServer({ config: stored.config, env: stored.env });
      [ann, ben, cy] = await registerAll(s.url, ["ann", "ben", "cy"]);
      room = await createRoom(s.url, ann, [ben]);
      other = await createRoom(s.url, ann, [cy]);
      const g = await call(s.url, "POST", "/v1/rooms", {
        session: ann.session,
        body: { name: "team", users: [{ id: ben.id }, { id: cy.id }] },
      });
      group = g.body.id;
    });
    afterAll(async () => {
      await s.stop();
      await stored.stop();
    });

    const uploadId = async (who = ann, r = room, name = "pic.png") =>
      (await upload(s.url, who, r, pngHeader(3, 2), { name, type: "image/png" })).body.id as string;

    const sendOne = (frame: object, r = room, who = ann) => answerTo(chatUrl(s, r, who), frame);

    describe("attaching", () => {
      test("a message with files and empty text: ack, other members' sockets and streams, history", async () => {
        const [a, b] = [await uploadId(), await uploadId(ann, room, "b.png")];
        const bs = await Socket.open(chatUrl(s, room, ben));
        const stream = await openStream(streamUrl(s, ben));
        stream.send({ type: "resume", rooms: {} });
        await stream.next((f) => f.type === "synced");
        const ack = await sendOne({ text: "", files: [a, b], client_id: "f1" });
        expect(ack.text).toBe("");
        expect(ack.files.map((f: any) => f.id)).toEqual([a, b]);
        expect(ack.files[0]).toMatchObject({ name: "pic.png", type: "image/png", width: 3, height: 2 });
        const seen = await bs.next(isMessage);
        expect(seen.files.map((f: any) => f.id)).toEqual([a, b]);
        const streamed = await stream.next((f) => f.type === "message");
        expect(streamed.files).toHaveLength(2);
        await Promise.all([bs.close(), stream.close()]);
        const history = (await call(s.url, "GET", `/v1/rooms/${room}/messages`, { session: ben.session })).body;
        const stored = history.find((m: any) => m.id === ack.id);
        expect(stored.files.map((f: any) => f.id)).toEqual([a, b]);
        expect((await download(s.url, stored.files[0].url)).status).toBe(200);
        const rooms = (await call(s.url, "GET", "/v1/rooms", { session: ben.session })).body;
        expect(rooms.find((r: any) => r.id === room).last_message.files).toHaveLength(2);
      });

      test("a retry with the same client_id gets the stored message back with its files", async () => {
        const id = await uploadId();
        const first = await sendOne({ text: "x", files: [id], client_id: "retry-1" });
        const again = await sendOne({ text: "x", files: [id], client_id: "retry-1" });
        expect(again.id).toBe(first.id);
        expect(again.files[0].id).toBe(id);
      });

      test("invalid_files with the client_id: attached already, another's, another room's, unknown, too many", async () => {
        const used = await uploadId();
        await sendOne({ text: "first", files: [used] });
        const bens = await uploadId(ben);
        const elsewhere = await uploadId(ann, other);
        const cases = [[used], [bens], [elsewhere], ["A".repeat(22)], ["short"], "nope", Array(11).fill(used)];
        for (const files of cases) {
          const answer = await sendOne({ text: "hi", files, client_id: "bad" });
          expect(answer.error.code).toBe("invalid_files");
          expect(answer.client_id).toBe("bad");
        }
        const history = (await call(s.url, "GET", `/v1/rooms/${room}/messages`, { session: ann.session })).body;
        expect(history.filter((m: any) => m.text === "hi")).toHaveLength(0);
      });

      test("a message with files and no text key is stored with empty text", async () => {
        const id = await uploadId();
        const ack = await sendOne({ files: [id], client_id: "no-text" });
        expect(ack.text).toBe("");
        expect(ack.files.map((f: any) => f.id)).toEqual([id]);
      });

      test("empty text without files is still invalid_text", async () => {
        expect((await sendOne({ text: "" })).error.code).toBe("invalid_text");
      });
    });

    describe("membership and deletion", () => {
      test("a removed member's signed URLs answer 404 at once; the others' fresh ones work", async () => {
        const id = await uploadId(ann, group);
        const sent = await sendOne({ text: "plan", files: [id] }, group);
        const cyUrl = (await call(s.url, "GET", `/v1/rooms/${group}/messages`, { session: cy.session })).body.find(
          (m: any) => m.id === sent.id,
        ).files[0].url;
        expect((await download(s.url, cyUrl)).status).toBe(200);
        const removed = await call(s.url, "DELETE", `/v1/rooms/${group}/users/${cy.id}`, { session: ann.session });
        expect(removed.status).toBe(200);
        expect((await download(s.url, cyUrl)).status).toBe(404);
        const fresh = (await call(s.url, "GET", `/v1/rooms/${group}/messages`, { session: ben.session })).body.find(
          (m: any) => m.id === sent.id,
        ).files[0].url;
        expect(fresh).not.toBe(cyUrl);
        expect((await download(s.url, fresh)).status).toBe(200);
      });

      test("deleting a message deletes its files: the URL and the session GET answer 404", async () => {
        const id = await uploadId();
        const sent = await sendOne({ text: "oops", files: [id] });
        const url = sent.files[0].url;
        const bytes = openStorage({ db: s.db, filesDir: "", filesS3: stored.config.filesS3 ?? "" }, stored.env);
        expect(await bytes.exists(storageKey(id))).toBe(true);
        const del = await call(s.url, "DELETE", `/v1/rooms/${room}/messages/${sent.id}`, { session: ann.session });
        expect(del.status).toBe(200);
        expect((await download(s.url, url)).status).toBe(404);
        expect((await download(s.url, `/v1/files/${id}/x`, { "x-session-id": ann.session })).status).toBe(404);
        expect(await bytes.exists(storageKey(id))).toBe(false);
      });
    });
  });
}

describe("the typed client", () => {
  test("uploadFile (progress once at the end outside browsers), send with files, fileUrl, refusals", async () => {
    const s = await startServer({ config: { maxFileSize: 1000 } });
    try {
      const [ann, ben] = await registerAll(s.url, ["ann", "ben"]);
      const room = await createRoom(s.url, ann, [ben]);
      const client = new EchatClient({
        baseUrl: s.url,
        session: ann.session,
        fetch: checkedFetch,
        WebSocket: CheckedWebSocket,
      });
      const progress: [number, number][] = [];
      const file = await client.uploadFile(room, pngHeader(8, 4), {
        name: "dot.png",
        type: "image/png",
        onProgress: (sent, total) => progress.push([sent, total]),
      });
      expect(file).toMatchObject({ name: "dot.png", type: "image/png", width: 8, height: 4 });
      expect(progress.at(-1)).toEqual([file.size, file.size]);
      const socket = client.roomSocket(room);
      const sent = await socket.send("", { files: [file.id] });
      expect(sent.files?.[0]?.id).toBe(file.id);
      const bytes = await fetch(client.fileUrl(sent.files![0]!));
      expect(bytes.status).toBe(200);
      await expect(socket.send("again", { files: [file.id] })).rejects.toMatchObject({ code: "invalid_files" });
      socket.close();
      const tooBig = client.uploadFile(room, new Uint8Array(1001), { name: "big.bin" });
      await expect(tooBig).rejects.toMatchObject({ status: 413, code: "payload_too_large" });
      await expect(client.uploadFile(room, new Uint8Array(1), { name: "/" })).rejects.toMatchObject({
        code: "invalid_file_name",
      });
    } finally {
      await s.stop();
    }
  });
});
