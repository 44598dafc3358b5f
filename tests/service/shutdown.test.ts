/**
 * SIGTERM under load: readiness turns 503 first, in-flight requests complete, new connections are then
 * refused, the process exits 0 in time, and every create that was answered with success is stored.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { openEmbedded } from "../../server/db/database.js";
import { applyMigrations } from "../../server/db/schema-engine.js";
import { tokenFor } from "../support/app.js";
import { createEmptyPostgresDatabase, testDatabaseUrl } from "../support/database.js";
import { startServiceProcess } from "../support/service-process.js";

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

/** A database for the child process, and a way to count stored ids once it has exited. */
async function prepareDatabase(): Promise<{ env: NodeJS.ProcessEnv; storedIds(ids: string[]): Promise<Set<string>> }> {
  if (testDatabaseUrl) {
    const empty = await createEmptyPostgresDatabase();
    cleanups.push(() => empty.drop());
    await applyMigrations(new PrismaPg({ connectionString: empty.url }));
    return {
      env: { DATABASE_URL: empty.url },
      async storedIds(ids) {
        const client = new pg.Client({ connectionString: empty.url });
        await client.connect();
        const { rows } = await client.query<{ id: string }>("SELECT id::text FROM features WHERE id = ANY($1::uuid[])", [ids]);
        await client.end();
        return new Set(rows.map((r) => r.id));
      },
    };
  }
  const dataDir = await mkdtemp(path.join(tmpdir(), "kuark-shutdown-"));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  return {
    env: { PGLITE_DATA_DIR: dataDir },
    async storedIds(ids) {
      const db = await openEmbedded(dataDir);
      const rows = await db.prisma.feature.findMany({ where: { id: { in: ids } }, select: { id: true } });
      await db.close();
      return new Set(rows.map((r) => r.id));
    },
  };
}

describe("SIGTERM under load", () => {
  it("drains, finishes in-flight work, refuses new connections, exits 0, loses no acknowledged write", async () => {
    const database = await prepareDatabase();
    const drainMs = 2_000;
    const service = await startServiceProcess({ ...database.env, SHUTDOWN_DRAIN_MS: String(drainMs), SHUTDOWN_TIMEOUT_MS: "10000", RATE_LIMIT_PER_IP: "0", RATE_LIMIT_PER_ORG: "0" });
    const headers = { authorization: `Bearer ${tokenFor("loader", "shutdown-org")}`, "content-type": "application/json" };

    const acknowledged: string[] = [];
    const serverErrors: number[] = [];
    let connectionErrors = 0;
    let stopLoad = false;
    let sequence = 0;
    const worker = async () => {
      while (!stopLoad) {
        try {
          const res = await fetch(`${service.url}/trpc/features.create`, { method: "POST", headers, body: JSON.stringify({ name: `load ${++sequence}` }) });
          const body = (await res.json()) as { result?: { data: { id: string } } };
          if (res.status === 200 && body.result) acknowledged.push(body.result.data.id);
          else if (res.status >= 500) serverErrors.push(res.status);
        } catch {
          connectionErrors++; // not acknowledged: the client knows the write may not have happened
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    };
    const workers = Array.from({ length: 16 }, () => worker());

    // Load for 1.5 s, and on until some writes are acknowledged: on a loaded machine the first answers of a
    // fresh process (query plans compiled on first use) can take longer than that.
    const loadStarted = Date.now();
    await new Promise((r) => setTimeout(r, 1_500));
    while (acknowledged.length === 0 && Date.now() - loadStarted < 20_000) await new Promise((r) => setTimeout(r, 100));
    const beforeSignal = acknowledged.length;
    expect(beforeSignal).toBeGreaterThan(0);
    const signalledAt = Date.now();
    service.child.kill("SIGTERM");

    // Readiness says 503 while the listener still answers, so load balancers stop routing first.
    // (The signal is handled as soon as the loaded process's event loop gets to it: poll, briefly.)
    let readiness = 200;
    while (readiness === 200 && Date.now() - signalledAt < 10_000) {
      readiness = (await fetch(`${service.url}/health/ready`)).status;
    }
    expect(readiness).toBe(503);
    expect((await fetch(`${service.url}/health`)).status).toBe(200);

    const code = await service.exited;
    const stoppedAfter = Date.now() - signalledAt;
    stopLoad = true;
    await Promise.all(workers);

    expect(code).toBe(0);
    expect(stoppedAfter).toBeGreaterThanOrEqual(drainMs);
    expect(stoppedAfter).toBeLessThan(drainMs + 10_000);
    expect(serverErrors).toEqual([]);
    expect(acknowledged.length).toBeGreaterThan(beforeSignal); // requests kept being served while draining
    await expect(fetch(`${service.url}/health`)).rejects.toThrow(); // new connections are refused

    const stored = await database.storedIds(acknowledged);
    expect(acknowledged.filter((id) => !stored.has(id))).toEqual([]);
    expect(stored.size).toBe(acknowledged.length);
    expect(service.output()).toContain("stopped");
    void connectionErrors;
  }, 90_000);
});
