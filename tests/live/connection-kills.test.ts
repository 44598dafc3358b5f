/**
 * Live streams survive what queries survive (PostgreSQL only): the service as a child process on a database
 * of the test's own, 16 writers creating, updating and deleting features through the typed client, one
 * subscriber through tRPC's `httpSubscriptionLink` (which reconnects by itself with the last event id), and
 * rounds of `pg_terminate_backend` of every backend of that database (the service's pool and its LISTEN
 * connection) during the writes. The subscriber must end up with every event of the change log exactly
 * once, in order, each acknowledged write's among them; the stream never says INTERNAL_SERVER_ERROR; no
 * transient fault is logged at error level.
 */
import { PrismaPg } from "@prisma/adapter-pg";
import { EventSource } from "eventsource";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKuarkClient } from "../../client/src/index.js";
import { applyMigrations } from "../../server/db/schema-engine.js";
import { tokenFor } from "../support/app.js";
import { createEmptyPostgresDatabase, testDatabaseUrl } from "../support/database.js";
import { subscribeToFeatures } from "../support/live.js";
import { startServiceProcess, stopServiceProcess } from "../support/service-process.js";
import type { ServiceProcess } from "../support/service-process.js";

const WRITERS = 16;
const SUBSCRIBERS = 4;
const KILL_ROUNDS = 4;
/** Kills after each round's first, a few tens of milliseconds apart. */
const BURST = 6;

let service: ServiceProcess | undefined;
let database: { url: string; drop(): Promise<void> } | undefined;
let admin: pg.Client | undefined;
let databaseName = "";

describe.skipIf(!testDatabaseUrl)("onChange under repeated pg_terminate_backend of the service's connections", () => {
  beforeAll(async () => {
    database = await createEmptyPostgresDatabase();
    databaseName = new URL(database.url).pathname.slice(1);
    await applyMigrations(new PrismaPg({ connectionString: database.url }));
    admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    service = await startServiceProcess({ DATABASE_URL: database.url, RATE_LIMIT_PER_IP: "0", DATABASE_CONNECT_TIMEOUT_MS: "1000", SHUTDOWN_DRAIN_MS: "200" });
  }, 120_000);
  afterAll(async () => {
    if (service && service.child.exitCode === null) await stopServiceProcess(service, "SIGKILL");
    await admin?.end().catch(() => {});
    await database?.drop();
  });

  /** The LISTEN connection's backend, once the service's listener is (again) listening. */
  async function listenBackend(timeoutMs = 15_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { rows } = await (admin as pg.Client).query<{ pid: number }>(
        "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND query LIKE 'LISTEN %'",
        [databaseName],
      );
      if (rows[0]) return rows[0].pid;
      if (Date.now() > deadline) throw new Error(`the service's listener did not listen again (service exit code: ${service?.child.exitCode})`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Terminates every backend of the test's database but the admin's own; returns their pids. */
  async function killAll(): Promise<number[]> {
    const { rows } = await (admin as pg.Client).query<{ pid: number }>(
      "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
      [databaseName],
    );
    return rows.map((row) => row.pid);
  }

  it("every acknowledged write's event arrives exactly once, in order; the stream only ever retries after SERVICE_UNAVAILABLE", { timeout: 120_000 }, async () => {
    const url = (service as ServiceProcess).url;
    const org = `kills-${process.pid}`;
    const token = tokenFor("alice", org);
    const subscribers = Array.from({ length: SUBSCRIBERS }, () => subscribeToFeatures(url, token));
    for (const subscriber of subscribers) await subscriber.waitStarted();

    type Acknowledged = { type: "created" | "updated" | "deleted"; id: string; updatedAt?: string };
    const acknowledged: Acknowledged[] = [];
    const writeFailures: (string | undefined)[] = [];
    let writing = true;
    const writer = async (n: number) => {
      const api = createKuarkClient({ url: `${url}/trpc`, getToken: () => token, EventSource });
      for (let round = 0; writing; round++) {
        try {
          const feature = await api.features.create.mutate({ name: `Writer ${n} round ${round}` });
          acknowledged.push({ type: "created", id: feature.id });
          const updated = await api.features.update.mutate({ id: feature.id, data: { status: "INACTIVE" } });
          acknowledged.push({ type: "updated", id: feature.id, updatedAt: updated.updatedAt });
          await api.features.delete.mutate({ id: feature.id });
          acknowledged.push({ type: "deleted", id: feature.id });
        } catch (error) {
          // Not acknowledged (its change may or may not have committed): the next round starts afresh.
          writeFailures.push((error as { data?: { code?: string } }).data?.code);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    };
    const writers = Array.from({ length: WRITERS }, (_, n) => writer(n));

    // Each subscriber has an event id to resume from before the first round.
    for (const subscriber of subscribers) await subscriber.waitForChanges(1, 10_000);
    const listenersKilled: boolean[] = [];
    for (let round = 0; round < KILL_ROUNDS; round++) {
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const listening = await listenBackend();
      const killed = await killAll();
      listenersKilled.push(killed.includes(listening));
      // Then again, while the pool and the listener reconnect and the streams catch up.
      for (let again = 0; again < BURST; again++) {
        await new Promise((resolve) => setTimeout(resolve, 40 + 30 * again));
        await killAll();
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    writing = false;
    await Promise.all(writers);

    // Every event the change log holds for the organization (the subscriber started before any write).
    const { rows } = await (admin as pg.Client).query<{ id: string }>("SELECT id::text AS id FROM change_events WHERE organization_id = $1 ORDER BY change_events.id", [org]);
    const logged = rows.map((row) => row.id);
    for (const subscriber of subscribers) await subscriber.waitForChanges(logged.length, 30_000);
    // Time for a duplicate to show up, if one were on its way.
    await new Promise((resolve) => setTimeout(resolve, 1_000));

    for (const subscriber of subscribers) {
      const received = subscriber.changes.map((change) => change.id);
      const seen = new Set(logged);
      expect({
        missing: logged.filter((id) => !received.includes(id)),
        twice: received.filter((id, i) => received.indexOf(id) !== i),
        unknown: received.filter((id) => !seen.has(id)),
      }).toEqual({ missing: [], twice: [], unknown: [] });
      // And in commit order.
      expect(received).toEqual(logged);
      for (const write of acknowledged) {
        const matching = subscriber.changes.filter(
          (change) => change.type === write.type && change.feature.id === write.id && (write.updatedAt === undefined || change.feature.updatedAt === write.updatedAt),
        );
        expect(matching, `${write.type} ${write.id}`).toHaveLength(1);
      }
      expect(subscriber.error).toBeUndefined();
      expect(subscriber.retried.filter((error) => error.code !== undefined && error.code !== "SERVICE_UNAVAILABLE")).toEqual([]);
    }
    expect(acknowledged.length).toBeGreaterThan(WRITERS * 3);
    expect(listenersKilled).toEqual(Array.from({ length: KILL_ROUNDS }, () => true));
    // Writes refused by a killed connection are a 503, as any query's.
    expect(writeFailures.filter((code) => code !== "SERVICE_UNAVAILABLE")).toEqual([]);
    // Its LISTEN connection came back after each round.
    expect(service?.output().match(/change listener: listening again/g)?.length ?? 0).toBeGreaterThanOrEqual(KILL_ROUNDS);
    // A transient fault is a warning, never an error-level line with a stack.
    const errorLines = (service as ServiceProcess)
      .output()
      .split("\n")
      .filter((line) => /"level":(50|60)/.test(line));
    expect(errorLines).toEqual([]);
    for (const subscriber of subscribers) subscriber.stop();
  });
});
