/**
 * `npm run db:migration -- <name>`: writes the next migration, the SQL that takes the existing
 * migrations to what prisma/schema.prisma declares (what `prisma migrate dev --create-only` writes),
 * computed offline on an in-memory PGlite shadow database.
 */
import path from "node:path";
import { PrismaPGliteWithExtensions, createPGlite } from "../server/db/pglite.js";
import { diffMigrationsToSchema } from "../server/db/schema-engine.js";
import { writeMigration } from "./support/migrations.js";

const name = process.argv[2];
if (!name || !/^[a-z0-9_]+$/.test(name)) {
  console.error("usage: npm run db:migration -- <name>   (lowercase letters, digits and _)");
  process.exit(2);
}

const db = createPGlite();
const { exitCode, script } = await diffMigrationsToSchema(new PrismaPGliteWithExtensions(db));
await db.close();
if (exitCode === 0) {
  console.log("The migrations already match prisma/schema.prisma: nothing to write.");
  process.exit(0);
}
const dir = await writeMigration(name, script);
console.log(`Wrote ${path.relative(process.cwd(), dir)}/migration.sql`);
// The WASM schema engine leaves a 10 s timer behind (its advisory-lock timeout): exit now.
process.exit(0);
