/**
 * Prisma's official schema engine, in its WASM build, driven through a driver adapter.
 *
 * Why not the `prisma migrate` CLI: the CLI always downloads the native schema engine first, and the
 * machines this service is built on reach only the npm registry (see README, "Migrations"). The WASM
 * engine is the same Rust code the CLI runs, so the SQL it diffs and the `_prisma_migrations` rows it
 * writes are exactly the CLI's: migrations stay deployable with a plain `prisma migrate deploy`.
 *
 * `@prisma/schema-engine-wasm` is an internal package: its version is pinned exactly in package.json.
 */
import { readFile, readdir } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { bindMigrationAwareSqlAdapterFactory } from "@prisma/driver-adapter-utils";
import type { SqlDriverAdapter, SqlMigrationAwareDriverAdapterFactory } from "@prisma/driver-adapter-utils";
import * as engineBindings from "@prisma/schema-engine-wasm/schema_engine_bg";
import type { MigrationList, SchemaEngine } from "@prisma/schema-engine-wasm";

const here = path.dirname(fileURLToPath(import.meta.url));
// server/db when run from the sources, dist/server/db when built (`npm run build:server`).
const projectRoot = path.resolve(here, path.basename(path.resolve(here, "../..")) === "dist" ? "../../.." : "../..");
export const schemaPath = path.join(projectRoot, "prisma/schema.prisma");
export const migrationsDir = path.join(projectRoot, "prisma/migrations");

const noFilters = { externalTables: [], externalEnums: [] };

let wasmReady: Promise<void> | undefined;

/** The part of the WebAssembly global used here (lib "DOM", which declares it, is not loaded on a server). */
declare const WebAssembly: {
  instantiate(
    bytes: Uint8Array,
    imports: Record<string, unknown>,
  ): Promise<{ instance: { exports: { __wbindgen_start(): void } } }>;
};

/**
 * Node 20 cannot `import` a .wasm module without `--experimental-wasm-modules`, so the module's
 * bindings are instantiated by hand, exactly as its own `schema_engine.js` entry would.
 */
function loadWasm(): Promise<void> {
  wasmReady ??= (async () => {
    const require = createRequire(import.meta.url);
    const bindingsFile = require.resolve("@prisma/schema-engine-wasm/schema_engine_bg");
    const bytes = await readFile(path.join(path.dirname(bindingsFile), "schema_engine_bg.wasm"));
    const { instance } = await WebAssembly.instantiate(bytes, {
      "./schema_engine_bg.js": engineBindings,
    });
    (engineBindings as unknown as { __wbg_set_wasm(wasm: unknown): void }).__wbg_set_wasm(instance.exports);
    instance.exports.__wbindgen_start();
  })();
  return wasmReady;
}

/**
 * Runs `work` with a schema engine on the database reached through `adapterFactory` (which also
 * provides its shadow database), then frees the engine and disposes every connection it opened.
 * Disposing matters: the engine holds PostgreSQL's session advisory lock while it migrates, and a
 * pool left open could keep it from the next migration of the same database.
 */
export async function withSchemaEngine<T>(
  adapterFactory: SqlMigrationAwareDriverAdapterFactory,
  work: (engine: SchemaEngine) => Promise<T>,
): Promise<T> {
  await loadWasm();
  const opened: SqlDriverAdapter[] = [];
  const tracked: SqlMigrationAwareDriverAdapterFactory = {
    provider: adapterFactory.provider,
    adapterName: adapterFactory.adapterName,
    connect: async () => {
      const adapter = wholeScripts(await adapterFactory.connect());
      opened.push(adapter);
      return adapter;
    },
    connectToShadowDb: async () => {
      const adapter = await adapterFactory.connectToShadowDb();
      opened.push(adapter);
      return adapter;
    },
  };
  const datamodel = await readFile(schemaPath, "utf8");
  const { SchemaEngine: Engine } = engineBindings as unknown as typeof import("@prisma/schema-engine-wasm");
  const engine = await Engine.new(
    { datamodels: [[schemaPath, datamodel]] },
    () => {
      // The engine reports progress lines here; migration results are returned, so nothing is lost.
    },
    bindMigrationAwareSqlAdapterFactory(tracked),
  );
  try {
    return await work(engine);
  } finally {
    engine.free();
    await Promise.all(opened.map((adapter) => adapter.dispose().catch(() => {})));
  }
}

/**
 * `@prisma/adapter-pg` runs a migration's script by splitting it at every `;` (7.10: `script.split(";")`),
 * which breaks a function body (`$$ ... ; ... $$`, a restrict reference's `kuark_live_*` function). A script is sent
 * whole instead, as one simple query: PostgreSQL runs its statements in order, in one implicit transaction,
 * as `prisma migrate deploy` and psql do. PGlite's adapter already runs scripts whole (`exec`).
 */
function wholeScripts(adapter: SqlDriverAdapter): SqlDriverAdapter {
  if (adapter.adapterName !== "@prisma/adapter-pg") return adapter;
  const client = (adapter as unknown as { underlyingDriver(): { query(text: string): Promise<unknown> } }).underlyingDriver();
  const onError = (adapter as unknown as { onError(error: unknown): never }).onError.bind(adapter);
  return new Proxy(adapter, {
    get(target, property) {
      if (property === "executeScript") return (script: string) => client.query(script).then(() => undefined, onError);
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** Reads `prisma/migrations` in the shape the engine (and the Prisma CLI) expects. */
export async function readMigrations(baseDir = migrationsDir): Promise<MigrationList> {
  const entries = await readdir(baseDir, { withFileTypes: true }).catch(() => []);
  const dirs = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  const lockPath = path.join(baseDir, "migration_lock.toml");
  return {
    baseDir,
    lockfile: { path: lockPath, content: await readFile(lockPath, "utf8").catch(() => null) },
    shadowDbInitScript: "",
    migrationDirectories: await Promise.all(
      dirs.map(async (dir) => ({
        path: dir,
        migrationFile: {
          path: "migration.sql",
          content: await readFile(path.join(baseDir, dir, "migration.sql"), "utf8").then(
            (value) => ({ tag: "ok" as const, value }),
            (error: Error) => ({ tag: "error" as const, value: error.message }),
          ),
        },
      })),
    ),
  };
}

/** Applies every pending migration; returns the names of those applied now. */
export async function applyMigrations(adapterFactory: SqlMigrationAwareDriverAdapterFactory): Promise<string[]> {
  const migrationsList = await readMigrations();
  return withSchemaEngine(adapterFactory, async (engine) => {
    const { appliedMigrationNames } = await engine.applyMigrations({ migrationsList, filters: noFilters });
    return appliedMigrationNames;
  });
}

/**
 * The SQL that takes the database described by the migrations to the one `schema.prisma` declares,
 * (or the given `schema` text), computed on `adapterFactory`'s shadow database. No change gives `exitCode` 0.
 */
export async function diffMigrationsToSchema(
  adapterFactory: SqlMigrationAwareDriverAdapterFactory,
  schema?: string,
): Promise<{ exitCode: number; script: string }> {
  const content = schema ?? (await readFile(schemaPath, "utf8"));
  const migrationsList = await readMigrations();
  return withSchemaEngine(adapterFactory, async (engine) => {
    const result = await engine.diff({
      from: { tag: "migrations", ...migrationsList },
      to: { tag: "schemaDatamodel", files: [{ path: schemaPath, content }] },
      script: true,
      exitCode: true,
      filters: noFilters,
    });
    return { exitCode: result.exitCode, script: result.stdout ?? "" };
  });
}
