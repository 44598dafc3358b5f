import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { migrationsDir } from "../../server/db/schema-engine.js";

/** Writes `prisma/migrations/<timestamp>_<name>/migration.sql` (Prisma's layout); returns its folder. */
export async function writeMigration(name: string, script: string): Promise<string> {
  const stamp = new Date().toISOString().replace(/\D/g, "").slice(0, 14);
  const dir = path.join(migrationsDir, `${stamp}_${name}`);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, "migration.sql"), script);
  return dir;
}
