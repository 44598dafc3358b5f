/**
 * The database: Prisma 7's Rust-free client over a driver adapter, either a real PostgreSQL server
 * (`@prisma/adapter-pg`) or, when no DATABASE_URL is given, embedded PGlite in a data directory.
 */
import { mkdir } from "node:fs/promises";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "../generated/prisma/client.js";
import type { Config } from "../config.js";
import type { Logger } from "../logger.js";
import { PrismaPGliteWithExtensions, createPGlite } from "./pglite.js";
import { applyMigrations } from "./schema-engine.js";
import { listenPGlite, listenPostgres } from "./listen.js";
import { sqlOnPGlite, sqlOnPool } from "./sql.js";
import type { Sql } from "./sql.js";
import { createPool, transactionOptionsFor, withStatementTimeoutPerTransaction } from "./statement-timeout.js";
import type { ListenHandlers, Listener } from "./listen.js";

export type { PrismaClient, Sql };

/** The connection pool's live counts (node-postgres `Pool`), for metrics. */
export interface PoolStats {
  readonly totalCount: number;
  readonly idleCount: number;
  readonly waitingCount: number;
}

export interface Database {
  prisma: PrismaClient;
  /**
   * The same database without Prisma's client in between (./sql.ts): what the organization scope runs the
   * kit's statements on. Same pool (PostgreSQL) or the same PGlite.
   */
  sql: Sql;
  kind: "postgres" | "embedded";
  /** PostgreSQL only: the pool. Embedded PGlite is one in-process connection, with no pool. */
  pool?: PoolStats | undefined;
  /** Resolves when the database answers a trivial query within `timeoutMs`; rejects otherwise. */
  ping(timeoutMs?: number): Promise<void>;
  /**
   * LISTENs on `channel` (NOTIFY from any process on this database): on PostgreSQL over a dedicated
   * connection that reconnects by itself (./listen.ts), on PGlite through its own `listen`.
   */
  listen(channel: string, handlers: ListenHandlers): Promise<Listener>;
  close(): Promise<void>;
}

export interface PostgresOptions {
  poolSize: number;
  /** How long a call waits for a connection (a new one, or a free one from the pool). */
  connectTimeoutMs?: number;
  /**
   * PostgreSQL's statement_timeout for every statement; 0 for none. It also sets the interactive-transaction
   * limit (./statement-timeout.ts).
   */
  statementTimeoutMs?: number;
  /**
   * PostgreSQL itself when `url` is a transaction pooler (PgBouncer): the LISTEN connection goes there. Given
   * and different from `url`, `url` is taken for a pooler: the statement timeout is set per transaction and by
   * a deadline instead of as a startup parameter. Undefined: `url` is PostgreSQL itself.
   */
  directUrl?: string | undefined;
  log?: Logger | undefined;
}

/**
 * Connects to PostgreSQL at `url` (or a transaction pooler in front of it, with `directUrl`). Migrations are
 * applied separately (`npm run db:migrate`). A database that goes away fails calls within the timeouts
 * instead of holding them; the pool drops broken connections and reconnects by itself when the database is back.
 */
export function connectPostgres(url: string, options: PostgresOptions): Database {
  const { poolSize, connectTimeoutMs = 5_000, statementTimeoutMs = 10_000, directUrl = url, log } = options;
  const behindPooler = directUrl !== url;
  // The pool is made here and handed to the adapter (PrismaPg accepts a pg.Pool), so its counts can be
  // read for metrics; the adapter still ends it when Prisma disconnects (disposeExternalPool).
  const pool = createPool(url, { poolSize, connectTimeoutMs, statementTimeoutMs, behindPooler });
  // Every client of the pool handles its own 'error' events for life. A checked-out client is otherwise
  // left without a listener for a moment: the pool hands a released client to a waiting `pool.connect()`
  // inside the socket read that released it, and the adapter's transaction attaches its listener only after
  // its `await`; when the same read carries the server's "terminating connection" (a restart, a failover,
  // pg_terminate_backend), the 'error' event has no listener and ends the process. The pool still drops
  // the broken client (it is no longer queryable) and the query fails as a transient fault; the maintainers'
  // advice: https://github.com/brianc/node-postgres/issues/2439
  const onClientError = (err: Error) => log?.debug({ err }, "database: connection error on a pooled client");
  pool.on("connect", (client) => client.on("error", onClientError));
  pool.on("remove", (client) => client.removeListener("error", onClientError));
  const pgAdapter = new PrismaPg(pool, {
    disposeExternalPool: true,
    onPoolError: (err) => log?.warn({ err }, "database: idle connection lost"),
    onConnectionError: (err) => log?.warn({ err }, "database: connection error"),
  });
  const adapter = behindPooler ? withStatementTimeoutPerTransaction(pgAdapter, statementTimeoutMs) : pgAdapter;
  // LISTEN needs a session of its own: PostgreSQL itself, never a transaction pooler (./listen.ts).
  const listen = (channel: string, handlers: ListenHandlers) => listenPostgres(directUrl, channel, handlers, log);
  const prisma = new PrismaClient({ adapter, transactionOptions: transactionOptionsFor(statementTimeoutMs) });
  const sql = sqlOnPool(pool, {
    firstInTransaction: behindPooler && statementTimeoutMs > 0 ? `SET LOCAL statement_timeout = ${Math.trunc(statementTimeoutMs)}` : undefined,
    prepare: !behindPooler,
  });
  return { ...wrap(prisma, sql, "postgres", async () => {}, listen), pool };
}

/**
 * Opens embedded PGlite (`dataDir`, or in memory when undefined) and applies pending migrations,
 * so a first start needs no set-up at all. PGlite has no statement timeout of its own; `statementTimeoutMs`
 * sets the interactive-transaction limit as on PostgreSQL (./statement-timeout.ts).
 */
export async function openEmbedded(dataDir: string | undefined, log?: Logger, options: { statementTimeoutMs?: number } = {}): Promise<Database> {
  if (dataDir) await mkdir(dataDir, { recursive: true });
  const pglite = createPGlite(dataDir);
  await pglite.waitReady;
  const applied = await applyMigrations(new PrismaPGliteWithExtensions(pglite));
  if (applied.length > 0) log?.info({ migrations: applied }, "applied migrations to the embedded database");
  const prisma = new PrismaClient({
    adapter: new PrismaPGliteWithExtensions(pglite),
    transactionOptions: transactionOptionsFor(options.statementTimeoutMs ?? 10_000),
  });
  return wrap(prisma, sqlOnPGlite(pglite), "embedded", () => pglite.close(), (channel, handlers) => listenPGlite(pglite, channel, handlers));
}

export async function openDatabase(config: Config, log?: Logger): Promise<Database> {
  if (config.databaseUrl) {
    return connectPostgres(config.databaseUrl, {
      poolSize: config.databasePoolSize,
      connectTimeoutMs: config.databaseConnectTimeoutMs,
      statementTimeoutMs: config.databaseStatementTimeoutMs,
      directUrl: config.databaseDirectUrl,
      log,
    });
  }
  return openEmbedded(config.pgliteDataDir, log, { statementTimeoutMs: config.databaseStatementTimeoutMs });
}

function wrap(prisma: PrismaClient, sql: Sql, kind: Database["kind"], closeDriver: () => Promise<void>, listen: Database["listen"]): Database {
  return {
    prisma,
    sql,
    kind,
    listen,
    async ping(timeoutMs = 2_000) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        await Promise.race([prisma.$queryRaw`SELECT 1`, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      await prisma.$disconnect();
      await closeDriver();
    },
  };
}
