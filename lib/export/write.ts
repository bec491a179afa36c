// `echat export FILE`: the header, every table's rows as records in primary-key pages (memory stays one
// page and one file chunk whatever the database holds), each file's bytes after its record with
// --with-files, and an end record with the counts, so a file cut short is recognized.
import { closeSync, openSync, rmSync } from "node:fs";
import type { FileSink } from "bun";
import type { Storage } from "../files/storage.ts";
import type { Progress } from "./progress.ts";
import { FILE_CHUNK, FILE_DATA, FORMAT, type Rec, RECORDS, type RecordSpec, toRecord, VERSION } from "./records.ts";
import type { Tables } from "./tables.ts";

export type ExportOptions = { withSecrets: boolean; withFiles: boolean; echat: string; progress: Progress };
export type ExportResult = { counts: Record<string, number>; missingFiles: number };

const PAGE = 1000;

// storage: where the files' bytes are read from, with --with-files.
export async function writeExport(tables: Tables, storage: Storage | undefined, file: string, o: ExportOptions) {
  closeSync(openSync(file, "wx", 0o600)); // a new file (never over another), readable by its owner only
  const sink = Bun.file(file).writer({ highWaterMark: 1 << 20 });
  const line = (rec: Rec) => sink.write(JSON.stringify(rec) + "\n");
  try {
    line({
      type: "header",
      format: FORMAT,
      version: VERSION,
      echat: o.echat,
      schema: await tables.schemaVersion(),
      store: tables.dialect,
      created_at: Date.now(),
      with_secrets: o.withSecrets,
      with_files: o.withFiles,
    });
    const result: ExportResult = { counts: {}, missingFiles: 0 };
    for (const spec of RECORDS) {
      if (spec.secret && !o.withSecrets) continue;
      result.counts[spec.type] = await writeTable(
        tables,
        spec,
        sink,
        async (rec) => {
          if (spec.type === "file") rec.embedded = !!storage && (await storage.exists(rec.storage_key as string));
          line(rec);
          if (rec.embedded) await writeBytes(storage!, rec, line, sink);
          else if (spec.type === "file" && storage) result.missingFiles++;
        },
        o,
      );
    }
    line({ type: "end", counts: result.counts });
    await sink.end();
    return result;
  } catch (e) {
    await Promise.resolve(sink.end()).catch(() => {});
    rmSync(file, { force: true });
    throw e;
  }
}

async function writeTable(
  tables: Tables,
  spec: RecordSpec,
  sink: FileSink,
  write: (rec: Rec) => Promise<void>,
  o: ExportOptions,
): Promise<number> {
  const total = await tables.count(spec);
  let n = 0;
  for (let after: unknown[] | null = null; ; ) {
    const rows = await tables.page(spec, after, PAGE);
    if (rows.length === 0) break;
    for (const row of rows) {
      await write(toRecord(spec, row, o.withSecrets));
    }
    const last = rows.at(-1)!;
    after = spec.key.map((k) => last[k]);
    n += rows.length;
    o.progress.update(spec.type, n, total);
    await sink.flush();
  }
  o.progress.finished(spec.type, n);
  return n;
}

// The file's bytes as file_data records of at most FILE_CHUNK bytes each.
async function writeBytes(storage: Storage, rec: Rec, line: (rec: Rec) => void, sink: FileSink) {
  const body = await storage.get(rec.storage_key as string);
  if (!body) throw new Error(`file ${rec.id}: the storage no longer holds its bytes`);
  let size = 0;
  for await (const chunk of body instanceof Blob ? body.stream() : body) {
    for (let at = 0; at < chunk.length; at += FILE_CHUNK) {
      const part = chunk.subarray(at, at + FILE_CHUNK);
      line({ type: FILE_DATA, id: rec.id, data: Buffer.from(part).toString("base64") });
      size += part.length;
    }
    await sink.flush();
  }
  if (size !== rec.size) throw new Error(`file ${rec.id}: the storage holds ${size} bytes, its row says ${rec.size}`);
}
