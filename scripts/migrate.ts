/**
 * `npm run db:migrate`: applies pending migrations from prisma/migrations to DATABASE_DIRECT_URL (or
 * DATABASE_URL without it: the schema engine holds a session advisory lock, which a transaction pooler cannot carry), through
 * Prisma's schema engine (WASM build), writing the same `_prisma_migrations` rows as
 * `prisma migrate deploy`. Without DATABASE_URL it migrates the embedded database.
 */
import { PrismaPg } from "@prisma/adapter-pg";
import { ConfigError, loadConfig } from "../server/config.js";
import { openEmbedded } from "../server/db/database.js";
import { applyMigrations } from "../server/db/schema-engine.js";

try {
  const config = loadConfig();
  if (config.databaseDirectUrl) {
    const applied = await applyMigrations(new PrismaPg({ connectionString: config.databaseDirectUrl }));
    console.log(applied.length ? `Applied: ${applied.join(", ")}` : "No pending migrations.");
  } else {
    const db = await openEmbedded(config.pgliteDataDir);
    await db.close();
    console.log(`Embedded database at ${config.pgliteDataDir} is up to date.`);
  }
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
}
// The WASM schema engine leaves a 10 s timer behind (its advisory-lock timeout); nothing else is
// pending once the work above is done, so exit now rather than wait for it.
process.exit(0);
