/**
 * The service behind PgBouncer in transaction mode (Debian's pgbouncer, started here with its defaults but
 * `pool_mode = transaction`), in front of a throw-away database on the TEST_DATABASE_URL server: migrations
 * through DATABASE_DIRECT_URL, two service processes with DATABASE_URL -> PgBouncer and DATABASE_DIRECT_URL
 * -> PostgreSQL, CRUD, lists, history and live updates across them, and the statement timeout holding through
 * the pooler (a locked row is 503 within about DATABASE_STATEMENT_TIMEOUT_MS, never 500). PostgreSQL only.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKuarkClient } from "../../client/src/index.js";
import { startPgBouncer } from "../../scripts/support/pgbouncer.js";
import type { PgBouncer } from "../../scripts/support/pgbouncer.js";
import type { ThrowawayDatabase } from "../../scripts/support/throwaway-postgres.js";
import { tokenFor } from "../support/app.js";
import { createEmptyPostgresDatabase, testDatabaseUrl } from "../support/database.js";
import { summary, subscribeToFeatures } from "../support/live.js";
import { TSX_MAIN, cleanEnv, projectRoot, startServiceProcess, stopServiceProcess } from "../support/service-process.js";
import type { ServiceProcess } from "../support/service-process.js";

const run = promisify(execFile);
const STATEMENT_TIMEOUT_MS = 2_000;

let database: ThrowawayDatabase | undefined;
let bouncer: PgBouncer | undefined;
let pooledUrl: string;
let migrateOutput: string;
let a: ServiceProcess | undefined;
let b: ServiceProcess | undefined;

describe.skipIf(!testDatabaseUrl)("behind PgBouncer in transaction mode", () => {
  beforeAll(async () => {
    database = await createEmptyPostgresDatabase();
    bouncer = await startPgBouncer(database.url);
    pooledUrl = bouncer.urlFor(database.url);
    const env = { DATABASE_URL: pooledUrl, DATABASE_DIRECT_URL: database.url };
    // `npm run db:migrate`'s command line, configured as the service is.
    const migrate = await run(process.execPath, ["--import", "tsx", "scripts/migrate.ts"], { cwd: projectRoot, env: { ...cleanEnv(), ...env } });
    migrateOutput = migrate.stdout + migrate.stderr;
    const serviceEnv = { ...env, DATABASE_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS), RATE_LIMIT_PER_IP: "0", DATABASE_CONNECT_TIMEOUT_MS: "2000" };
    [a, b] = await Promise.all([startServiceProcess(serviceEnv, { args: TSX_MAIN }), startServiceProcess(serviceEnv, { args: TSX_MAIN })]);
  }, 120_000);

  afterAll(async () => {
    for (const service of [a, b]) if (service && service.child.exitCode === null) await stopServiceProcess(service);
    await bouncer?.stop();
    await database?.drop();
  });

  const instance = (which: ServiceProcess | undefined) => {
    if (!which) throw new Error("the service is not running");
    return which;
  };
  let orgs = 0;
  const newOrg = () => {
    const token = tokenFor("alice", `pgbouncer-${process.pid}-${++orgs}`);
    return { token, api: createKuarkClient({ url: `${instance(a).url}/trpc`, getToken: () => token }) };
  };
  const errorLines = (service: ServiceProcess) => service.output().split("\n").filter((line) => /"level":(50|60)/.test(line));

  it("is PgBouncer's default transaction mode: a statement_timeout startup parameter is refused (08P01)", async () => {
    const client = new pg.Client({ connectionString: pooledUrl, statement_timeout: 1_000 });
    const refused = await client.connect().then(
      () => undefined,
      (error: unknown) => error as { code?: string; message: string },
    );
    await client.end().catch(() => {});
    expect(refused?.code).toBe("08P01");
    expect(refused?.message).toMatch(/unsupported startup parameter: statement_timeout/);
  });

  it("applies the migrations through DATABASE_DIRECT_URL (npm run db:migrate)", async () => {
    expect(migrateOutput).toMatch(/Applied: \d+_/);
    const direct = new pg.Client({ connectionString: database?.url });
    await direct.connect();
    try {
      const { rows } = await direct.query<{ n: number }>("SELECT count(*)::int AS n FROM _prisma_migrations WHERE finished_at IS NOT NULL");
      expect(rows[0]?.n).toBeGreaterThan(0);
    } finally {
      await direct.end();
    }
  });

  it("serves create, byId, list, update, history and delete, over tRPC and REST", async () => {
    const { token, api } = newOrg();
    const feature = await api.features.create.mutate({ name: "Pooled", description: "Through PgBouncer" });
    expect((await api.features.byId.query({ id: feature.id })).name).toBe("Pooled");
    const updated = await api.features.update.mutate({ id: feature.id, data: { status: "INACTIVE" } });
    expect(updated.status).toBe("INACTIVE");
    const page = await api.features.list.query({ search: "pooled" });
    expect(page.data.map((f) => f.id)).toEqual([feature.id]);
    expect(page.pagination.total).toBe(1);
    const history = await api.features.history.query({ id: feature.id });
    expect(history.items.map((event) => event.type)).toEqual(["updated", "created"]);
    const rest = await fetch(`${instance(b).url}/api/v1/features?search=pooled`, { headers: { authorization: `Bearer ${token}` } });
    expect(rest.status).toBe(200);
    expect(((await rest.json()) as { data: { id: string }[] }).data.map((f) => f.id)).toEqual([feature.id]);
    await api.features.delete.mutate({ id: feature.id });
    expect((await api.features.list.query({})).pagination.total).toBe(0);
  });

  it("a subscriber on instance B receives the changes made on instance A", async () => {
    const { token, api } = newOrg();
    const subscriber = subscribeToFeatures(instance(b).url, token);
    try {
      await subscriber.waitStarted();
      const feature = await api.features.create.mutate({ name: "Heard elsewhere" });
      await api.features.update.mutate({ id: feature.id, data: { name: "Heard again" } });
      await api.features.delete.mutate({ id: feature.id });
      await subscriber.waitForChanges(3);
      expect(summary(subscriber.changes)).toEqual([
        ["created", feature.id],
        ["updated", feature.id],
        ["deleted", feature.id],
      ]);
    } finally {
      subscriber.stop();
    }
  });

  it("an update of a row locked elsewhere is 503 within about the statement timeout (tRPC and REST), never 500", async () => {
    const { token, api } = newOrg();
    const feature = await api.features.create.mutate({ name: "Locked" });
    const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const locker = new pg.Client({ connectionString: database?.url });
    await locker.connect();
    try {
      await locker.query("BEGIN");
      await locker.query("SELECT id FROM features WHERE id = $1 FOR UPDATE", [feature.id]);
      let started = Date.now();
      const trpc = await fetch(`${instance(a).url}/trpc/features.update`, { method: "POST", headers, body: JSON.stringify({ id: feature.id, data: { name: "Blocked" } }) });
      const trpcMs = Date.now() - started;
      expect(trpc.status).toBe(503);
      expect(((await trpc.json()) as { error: { data: { code: string } } }).error.data.code).toBe("SERVICE_UNAVAILABLE");
      started = Date.now();
      const rest = await fetch(`${instance(b).url}/api/v1/features/${feature.id}`, { method: "PATCH", headers, body: JSON.stringify({ name: "Blocked" }) });
      const restMs = Date.now() - started;
      expect(rest.status).toBe(503);
      // The statement timeout (2 s) cut them, not the pooler nor the transaction limit (once 500 after 13.55 s).
      for (const elapsed of [trpcMs, restMs]) {
        expect(elapsed).toBeGreaterThanOrEqual(STATEMENT_TIMEOUT_MS - 100);
        expect(elapsed).toBeLessThan(STATEMENT_TIMEOUT_MS + 2_000);
      }
    } finally {
      await locker.query("ROLLBACK").catch(() => {});
      await locker.end();
    }
    expect((await api.features.update.mutate({ id: feature.id, data: { name: "Free again" } })).name).toBe("Free again");
    expect(errorLines(instance(a))).toEqual([]);
    expect(errorLines(instance(b))).toEqual([]);
  }, 30_000);

  it("a read outside a transaction that waits past the statement timeout is 503 too, and the pool goes on", async () => {
    const { token, api } = newOrg();
    await api.features.create.mutate({ name: "Behind a lock" });
    const locker = new pg.Client({ connectionString: database?.url });
    await locker.connect();
    try {
      await locker.query("BEGIN");
      await locker.query("LOCK TABLE features IN ACCESS EXCLUSIVE MODE");
      const started = Date.now();
      const list = await fetch(`${instance(a).url}/api/v1/features`, { headers: { authorization: `Bearer ${token}` } });
      const elapsed = Date.now() - started;
      expect(list.status).toBe(503);
      expect(elapsed).toBeGreaterThanOrEqual(STATEMENT_TIMEOUT_MS - 100);
      expect(elapsed).toBeLessThan(STATEMENT_TIMEOUT_MS + 2_000);
    } finally {
      await locker.query("ROLLBACK").catch(() => {});
      await locker.end();
    }
    // The cancelled statement is gone from the server, and every later call is answered.
    for (let i = 0; i < 20; i++) expect((await api.features.list.query({})).pagination.total).toBe(1);
    expect(errorLines(instance(a))).toEqual([]);
  }, 30_000);
});
