// echat migrate --to postgres://… until the CLI has the command:
//   bun scripts/migrate.ts --db ./echat.db --to postgres://user:pass@host/echat
// Copies a live SQLite database into an empty PostgreSQL database and checks the counts.
import { parseArgs } from "node:util";
import { migrateToPostgres } from "../lib/migrate.ts";

const { values } = parseArgs({ args: Bun.argv.slice(2), options: { db: { type: "string" }, to: { type: "string" } }, strict: true });
const db = values.db ?? process.env.ECHAT_DB ?? "./echat.db";
if (!values.to || !/^postgres(ql)?:\/\//.test(values.to)) {
  console.error("usage: bun scripts/migrate.ts [--db ./echat.db] --to postgres://user:pass@host/database");
  process.exit(2);
}
try {
  const counts = await migrateToPostgres(db, values.to);
  console.log(`copied ${Object.entries(counts).map(([t, n]) => `${n} ${t}`).join(", ")}; counts match`);
} catch (e) {
  console.error(`echat migrate: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
}
