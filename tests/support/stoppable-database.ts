/**
 * The one set-up of the database-fault tests (tests/service/database-faults.test.ts for tRPC and health,
 * tests/rest/database-faults.test.ts for /api/v1): a throw-away PostgreSQL cluster the test can stop and
 * start under it (./postgres-cluster.ts), migrated, and the real HTTP app on it. The pool is small and its
 * timeouts short (connect 1 s, statement 1 s), so a fault shows within a bounded time; no per-IP rate limit.
 */
import { PrismaPg } from "@prisma/adapter-pg";
import { afterAll, beforeAll } from "vitest";
import { connectPostgres } from "../../server/db/database.js";
import type { Database } from "../../server/db/database.js";
import { applyMigrations } from "../../server/db/schema-engine.js";
import type { Logger } from "../../server/logger.js";
import { makeDependencies, startServer, testConfig } from "./app.js";
import type { RunningServer } from "./app.js";
import { createCluster } from "./postgres-cluster.js";
import type { Cluster } from "./postgres-cluster.js";

export interface ServiceOnStoppableDatabase {
  /** The database under the service: its URL, and stop and start to take it away and bring it back. */
  cluster: Pick<Cluster, "url" | "start" | "stop">;
  /** The service on it. */
  server: Pick<RunningServer, "url">;
}

/**
 * Registers beforeAll/afterAll for a test file: the cluster, then the server on it; both are gone afterwards.
 * `log` is the service's logger (silent when not given), for a test that reads what it logged.
 */
export function useServiceOnStoppableDatabase(options: { log?: Logger } = {}): ServiceOnStoppableDatabase {
  let cluster: Cluster | undefined;
  let db: Database | undefined;
  let server: RunningServer | undefined;

  beforeAll(async () => {
    cluster = await createCluster();
    await applyMigrations(new PrismaPg({ connectionString: cluster.url }));
    db = connectPostgres(cluster.url, { poolSize: 4, connectTimeoutMs: 1_000, statementTimeoutMs: 1_000, log: options.log });
    server = await startServer(makeDependencies(db, { config: testConfig({ RATE_LIMIT_PER_IP: "0" }), ...(options.log && { log: options.log }) }));
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    await db?.close().catch(() => {});
    await cluster?.destroy();
  });

  const ready = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is available inside tests only (after beforeAll)`);
    return value;
  };
  return {
    cluster: {
      get url() {
        return ready(cluster, "cluster").url;
      },
      start: () => ready(cluster, "cluster").start(),
      stop: () => ready(cluster, "cluster").stop(),
    },
    server: {
      get url() {
        return ready(server, "server").url;
      },
    },
  };
}
