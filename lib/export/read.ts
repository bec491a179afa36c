// `echat import FILE`: an export read line by line into an empty database, in one transaction (the caller's),
// rows inserted in batches with their ids; embedded file bytes streamed into the storage, checked against
// their size and SHA-256. Every problem names its line. What is made, not copied, is made at the end.
import { KEY } from "../cli/copy-files.ts";
import { MARK_SETTING } from "../files/folder-mark.ts";
import type { Storage } from "../files/storage.ts";
import { Lines } from "./lines.ts";
import type { Progress } from "./progress.ts";
import {
  FILE_DATA,
  FORMAT,
  type Rec,
  RECORDS,
  type RecordSpec,
  recordProblem,
  type Row,
  toRow,
  VERSION,
} from "./records.ts";
import type { Tables } from "./tables.ts";

export class ImportError extends Error {}

export type Header = { version: number; echat: string; schema: number; with_secrets: boolean; with_files: boolean };
export type ImportResult = { header: Header; counts: Record<string, number>; missingFiles: number };

const BATCH = 500;
const SPECS = new Map(RECORDS.map((s) => [s.type, s]));

export async function readExport(tables: Tables, storage: Storage, file: string, progress: Progress) {
  const lines = new Lines(Bun.file(file));
  try {
    const header = readHeader(await lines.next());
    if (!(await tables.isEmpty()))
      throw new ImportError("the database is not empty: import only into a new database (no users, no rooms)");
    if (header.with_secrets) await tables.run("DELETE FROM settings"); // the exported file secret and VAPID keys
    // A start made a first-admin setup link (no users: no other invite); a start without an admin makes another.
    await tables.run("DELETE FROM invites");
    const result: ImportResult = { header, counts: {}, missingFiles: 0 };
    const batch = new Batch(tables, progress, result.counts);
    for (;;) {
      const rec = parse(await lines.next(), lines.number);
      if (rec.type === "end") {
        await batch.flush(true);
        await checkEnd(rec, result.counts, lines);
        // The exported mark names the old deployment's files folder; the new one's first start marks its own.
        await tables.run(`DELETE FROM settings WHERE key = '${MARK_SETTING}'`);
        break;
      }
      const spec = await batch.take(rec, lines.number);
      if (spec.type !== "file") continue;
      if (!KEY.test(rec.storage_key as string)) throw at(lines.number, "a file record's storage_key is not a key");
      if (rec.embedded) await storage.put(rec.storage_key as string, fileBytes(lines, rec));
      else if (!(await storage.exists(rec.storage_key as string))) result.missingFiles++;
    }
    await tables.finish();
    return result;
  } finally {
    await lines.close();
  }
}

const at = (line: number, message: string) => new ImportError(`line ${line}: ${message}`);

function readHeader(line: string | null): Header {
  if (line === null) throw new ImportError("the file is empty: not an echat export");
  let h: Rec;
  try {
    h = parse(line, 1);
  } catch {
    throw new ImportError("line 1: not an echat export (no header)");
  }
  if (h.type !== "header" || h.format !== FORMAT) throw new ImportError("line 1: not an echat export (no header)");
  if (!Number.isSafeInteger(h.version) || (h.version as number) < 1)
    throw new ImportError("line 1: the header's version must be a positive integer");
  if ((h.version as number) > VERSION)
    throw new ImportError(
      `the file is export format version ${h.version} (made by echat ${h.echat}); this echat reads versions up to ${VERSION}: import it with a newer echat`,
    );
  return h as unknown as Header;
}

function parse(line: string | null, n: number): Rec {
  if (line === null) throw new ImportError(`the file ends at line ${n} without its end record: is it cut short?`);
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw at(n, "not valid JSON");
  }
  if (typeof v !== "object" || v === null || Array.isArray(v) || typeof (v as Rec).type !== "string")
    throw at(n, 'not a record (a JSON object with a "type")');
  return v as Rec;
}

// Rows of one record type at a time, inserted BATCH by BATCH; types must come in the file's order.
class Batch {
  private spec: RecordSpec | null = null;
  private rows: Row[] = [];
  private first = 0; // the batch's first line
  private last = 0;

  constructor(
    private tables: Tables,
    private progress: Progress,
    private counts: Record<string, number>,
  ) {}

  async take(rec: Rec, line: number): Promise<RecordSpec> {
    const spec = SPECS.get(rec.type as string);
    if (!spec)
      throw at(line, rec.type === FILE_DATA ? "file bytes without their file" : `unknown record type "${rec.type}"`);
    if (spec !== this.spec) {
      if (this.spec && RECORDS.indexOf(spec) < RECORDS.indexOf(this.spec))
        throw at(line, `a ${spec.type} record after ${this.spec.type} records: records go in the documented order`);
      await this.flush();
      if (this.spec) this.progress.finished(this.spec.type, this.counts[this.spec.type]!);
      this.spec = spec;
      this.counts[spec.type] = 0;
    }
    const problem = recordProblem(spec, rec);
    if (problem) throw at(line, problem);
    if (this.rows.length === 0) this.first = line;
    this.rows.push(toRow(spec, rec, this.tables.dialect));
    this.last = line;
    this.counts[spec.type]!++;
    if (this.rows.length >= BATCH) await this.flush();
    return spec;
  }

  async flush(end = false) {
    if (end && this.spec) this.progress.finished(this.spec.type, this.counts[this.spec.type]!);
    if (!this.spec || this.rows.length === 0) return;
    const rows = this.rows;
    this.rows = [];
    this.progress.update(this.spec.type, this.counts[this.spec.type]!, 0);
    try {
      await this.tables.insert(this.spec, rows);
    } catch (e) {
      const where = this.first === this.last ? `line ${this.first}` : `lines ${this.first}-${this.last}`;
      throw new ImportError(`${where}: the database refused these ${this.spec.type} records: ${(e as Error).message}`);
    }
  }
}

// The end record's counts must be what was read, and nothing may follow it.
async function checkEnd(rec: Rec, counts: Record<string, number>, lines: Lines) {
  const n = lines.number;
  const said = rec.counts as Record<string, unknown> | undefined;
  if (typeof said !== "object" || said === null) throw at(n, "the end record has no counts");
  for (const type of new Set([...Object.keys(said), ...Object.keys(counts)]))
    if ((said[type] ?? 0) !== (counts[type] ?? 0))
      throw at(n, `the end record counts ${said[type] ?? 0} ${type} records, the file holds ${counts[type] ?? 0}`);
  const more = await lines.next();
  if (more !== null && more !== "") throw at(lines.number, "something after the end record");
}

// A file's bytes from the file_data records after it, into the storage; a wrong size or SHA-256 throws,
// and the storage keeps nothing of it.
async function* fileBytes(lines: Lines, file: Rec): AsyncGenerator<Uint8Array> {
  const hash = new Bun.CryptoHasher("sha256");
  for (let got = 0; got < (file.size as number); ) {
    const rec = parse(await lines.next(), lines.number);
    if (rec.type !== FILE_DATA || rec.id !== file.id || typeof rec.data !== "string")
      throw at(lines.number, `expected a file_data record of file ${file.id} (${file.size} bytes, ${got} read)`);
    const bytes = Buffer.from(rec.data, "base64");
    got += bytes.length;
    if (got > (file.size as number)) throw at(lines.number, `more bytes for file ${file.id} than its size`);
    hash.update(bytes);
    yield bytes;
  }
  if (hash.digest("hex") !== file.sha256)
    throw at(lines.number, `the bytes of file ${file.id} do not match its sha256`);
}
