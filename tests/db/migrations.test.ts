/**
 * Migrations: they produce exactly what schema.prisma declares, apply once, and leave the same
 * `_prisma_migrations` records as `prisma migrate deploy`.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { PrismaPGliteWithExtensions, createPGlite } from "../../server/db/pglite.js";
import { applyMigrations, diffMigrationsToSchema, migrationsDir, readMigrations, schemaPath } from "../../server/db/schema-engine.js";
import { createEmptyPostgresDatabase, testDatabaseUrl } from "../support/database.js";

describe("migrations", () => {
  it("match schema.prisma exactly (no drift)", async () => {
    const shadow = createPGlite();
    const { exitCode, script } = await diffMigrationsToSchema(new PrismaPGliteWithExtensions(shadow));
    await shadow.close();
    expect(script).toContain("empty migration");
    expect(exitCode).toBe(0);
  });

  it("the drift check notices a schema change that has no migration", async () => {
    const schema = await readFile(schemaPath, "utf8");
    const changed = schema.replace("  deletedAt      DateTime?", "  archivedAt     DateTime?\n  deletedAt      DateTime?");
    expect(changed).not.toBe(schema);
    const shadow = createPGlite();
    const { exitCode, script } = await diffMigrationsToSchema(new PrismaPGliteWithExtensions(shadow), changed);
    await shadow.close();
    expect(exitCode).toBe(2);
    expect(script).toMatch(/ALTER TABLE "features" ADD COLUMN\s+"archivedAt"/);
  });

  it("apply once on embedded PGlite; a second run applies nothing", async () => {
    const db = createPGlite();
    const names = (await readMigrations()).migrationDirectories.map((d) => d.path);
    expect(await applyMigrations(new PrismaPGliteWithExtensions(db))).toEqual(names);
    expect(await applyMigrations(new PrismaPGliteWithExtensions(db))).toEqual([]);
    const { rows } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM features");
    expect(rows[0]?.n).toBe(0);
    await db.close();
  });

  it.skipIf(!testDatabaseUrl)("on PostgreSQL write the records `prisma migrate deploy` writes", async () => {
    const empty = await createEmptyPostgresDatabase();
    try {
      const applied = await applyMigrations(new PrismaPg({ connectionString: empty.url }));
      expect(applied.length).toBeGreaterThan(0);
      expect(await applyMigrations(new PrismaPg({ connectionString: empty.url }))).toEqual([]);

      const client = new pg.Client({ connectionString: empty.url });
      await client.connect();
      const { rows } = await client.query<{ migration_name: string; checksum: string; finished_at: Date | null; applied_steps_count: number; rolled_back_at: Date | null }>(
        "SELECT migration_name, checksum, finished_at, applied_steps_count, rolled_back_at FROM _prisma_migrations ORDER BY migration_name",
      );
      await client.end();
      expect(rows.map((r) => r.migration_name)).toEqual(applied);
      for (const row of rows) {
        const sql = await readFile(path.join(migrationsDir, row.migration_name, "migration.sql"));
        expect(row.checksum).toBe(createHash("sha256").update(sql).digest("hex"));
        expect(row.finished_at).toBeInstanceOf(Date);
        expect(row.applied_steps_count).toBe(1);
        expect(row.rolled_back_at).toBeNull();
      }
    } finally {
      await empty.drop();
    }
  });
});
