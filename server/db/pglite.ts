/**
 * Embedded PostgreSQL (PGlite) with the extensions the migrations use. PGlite loads an extension only
 * when it is handed to the constructor, so every PGlite that runs the migrations (the embedded
 * database, the tests' in-memory ones, the schema engine's shadow database) must be made here.
 */
import { PGlite } from "@electric-sql/pglite";
import { pg_trgm } from "@electric-sql/pglite/contrib/pg_trgm";
import { PrismaPGlite } from "pglite-prisma-adapter";

/** A PGlite in `dataDir` (in memory when undefined) with `pg_trgm` (trigram indexes for search). */
export function createPGlite(dataDir?: string): PGlite {
  return new PGlite({ ...(dataDir && { dataDir }), extensions: { pg_trgm } });
}

/**
 * `pglite-prisma-adapter`'s factory makes its shadow database with a plain `new PGlite()`, on which
 * `CREATE EXTENSION pg_trgm` fails; this one makes it with the extensions.
 */
export class PrismaPGliteWithExtensions extends PrismaPGlite {
  override connectToShadowDb(): ReturnType<PrismaPGlite["connectToShadowDb"]> {
    return new PrismaPGlite(createPGlite()).connect();
  }
}
