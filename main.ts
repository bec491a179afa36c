// The entry point and the compile root: the command line decides what runs (lib/cli/commands.ts).
import { main } from "./lib/cli/run.ts";
import { startServer, VERSION } from "./server.ts";

process.exit(await main(Bun.argv.slice(2), { startServer, version: VERSION }));
