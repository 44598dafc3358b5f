/**
 * A database of the test's own: a new PostgreSQL database when TEST_DATABASE_URL names a server (created,
 * migrated, and dropped afterwards), otherwise an in-memory embedded PGlite.
 */
import { PrismaPg } from "@prisma/adapter-pg";
import { connectPostgres, openEmbedded } from "../../server/db/database.js";
import type { Database } from "../../server/db/database.js";
import { applyMigrations } from "../../server/db/schema-engine.js";
import { createThrowawayDatabase } from "../../scripts/support/throwaway-postgres.js";
import type { ThrowawayDatabase } from "../../scripts/support/throwaway-postgres.js";

export const testDatabaseUrl = process.env.TEST_DATABASE_URL || undefined;
export const databaseKind = testDatabaseUrl ? "postgres" : "embedded";

export interface TestDatabase {
  db: Database;
  /** The new database's URL (PostgreSQL only). */
  url: string | undefined;
  drop(): Promise<void>;
}

/** Creates an empty PostgreSQL database on the TEST_DATABASE_URL server; returns its URL and a dropper. */
export function createEmptyPostgresDatabase(): Promise<ThrowawayDatabase> {
  if (!testDatabaseUrl) throw new Error("TEST_DATABASE_URL is not set");
  return createThrowawayDatabase(testDatabaseUrl, "kuark_test");
}

/** `statementTimeoutMs`: the database's statement timeout, and the transaction limit derived from it (the service's default without it). */
export async function createTestDatabase(options: { statementTimeoutMs?: number } = {}): Promise<TestDatabase> {
  if (!testDatabaseUrl) {
    const db = await openEmbedded(undefined, undefined, options);
    return { db, url: undefined, drop: () => db.close() };
  }
  const empty = await createEmptyPostgresDatabase();
  await applyMigrations(new PrismaPg({ connectionString: empty.url }));
  const db = connectPostgres(empty.url, { poolSize: 5, ...options });
  return {
    db,
    url: empty.url,
    async drop() {
      await db.close().catch(() => {});
      await empty.drop();
    },
  };
}
