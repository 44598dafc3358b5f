/**
 * A database of the test's own: a new PostgreSQL database when TEST_DATABASE_URL names a server (created,
 * migrated, and dropped afterwards), otherwise an in-memory embedded PGlite.
 */
import { randomBytes } from "node:crypto";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { connectPostgres, openEmbedded } from "../../server/db/database.js";
import type { Database } from "../../server/db/database.js";
import { applyMigrations } from "../../server/db/schema-engine.js";

export const testDatabaseUrl = process.env.TEST_DATABASE_URL || undefined;
export const databaseKind = testDatabaseUrl ? "postgres" : "embedded";

export interface TestDatabase {
  db: Database;
  /** The new database's URL (PostgreSQL only). */
  url: string | undefined;
  drop(): Promise<void>;
}

/** Creates an empty PostgreSQL database on the TEST_DATABASE_URL server; returns its URL and a dropper. */
export async function createEmptyPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  if (!testDatabaseUrl) throw new Error("TEST_DATABASE_URL is not set");
  const name = `kuark_test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: testDatabaseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(testDatabaseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: testDatabaseUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await client.end();
    },
  };
}

export async function createTestDatabase(): Promise<TestDatabase> {
  if (!testDatabaseUrl) {
    const db = await openEmbedded(undefined);
    return { db, url: undefined, drop: () => db.close() };
  }
  const empty = await createEmptyPostgresDatabase();
  await applyMigrations(new PrismaPg({ connectionString: empty.url }));
  const db = connectPostgres(empty.url, { poolSize: 5 });
  return {
    db,
    url: empty.url,
    async drop() {
      await db.close().catch(() => {});
      await empty.drop();
    },
  };
}
