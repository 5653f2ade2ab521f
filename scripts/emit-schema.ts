import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { buildVigilSchema, printSortedSchema } from "../src/schema/build-schema";

/** Writes schema.graphql (sorted), or with --check exits 1 when the committed file has drifted. */
const file = resolve(__dirname, "..", "..", "schema.graphql");
const sdl = printSortedSchema(buildVigilSchema());
if (process.argv.includes("--check")) {
  const committed = readFileSync(file, "utf8");
  if (committed !== sdl) {
    process.stderr.write("schema.graphql differs from the running schema: run `npm run schema:emit` and commit it\n");
    process.exit(1);
  }
  process.stdout.write("schema.graphql is up to date\n");
} else {
  writeFileSync(file, sdl);
  process.stdout.write(`wrote ${file}\n`);
}
