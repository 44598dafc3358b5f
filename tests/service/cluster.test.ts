/**
 * WEB_CONCURRENCY=2 (server/cluster.ts): two worker processes share PORT, each a full instance with its
 * own metrics on METRICS_PORT + its index; a worker that dies is replaced; SIGTERM stops both and the
 * supervisor exits 0. The service runs as users run it (a child process) on a PostgreSQL database of its
 * own; WEB_CONCURRENCY above 1 on embedded PGlite is refused (processes cannot share its directory).
 */
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { PrismaPg } from "@prisma/adapter-pg";
import { afterAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../server/config.js";
import { applyMigrations } from "../../server/db/schema-engine.js";
import { freePort, portIsFree } from "../../scripts/support/throwaway-postgres.js";
import { tokenFor } from "../support/app.js";
import { createEmptyPostgresDatabase, testDatabaseUrl } from "../support/database.js";
import { cleanEnv, projectRoot, startServiceProcess, stopServiceProcess, TSX_MAIN } from "../support/service-process.js";
import type { ServiceProcess } from "../support/service-process.js";

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** The REST requests a worker has answered, from its own /metrics. */
async function restRequestsServed(metricsPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  return text
    .split("\n")
    .filter((line) => line.startsWith("kuark_http_request_duration_seconds_count{") && line.includes('route="/api/v1/features"'))
    .reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0);
}

/** Lines of the service's JSON log with this message. */
const linesWith = (service: ServiceProcess, message: string) =>
  service
    .output()
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as { msg: string; pid: number; worker?: number })
    .filter((line) => line.msg === message);

async function until<T>(read: () => Promise<T> | T, done: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("WEB_CONCURRENCY", () => {
  it("is refused above 1 on embedded PGlite, and with PORT among the workers' metrics ports", () => {
    expect(parseConfig({}).webConcurrency).toBe(1);
    expect(() => parseConfig({ WEB_CONCURRENCY: "2" })).toThrow(/WEB_CONCURRENCY: above 1 needs DATABASE_URL/);
    expect(() => parseConfig({ WEB_CONCURRENCY: "0" })).toThrow(/WEB_CONCURRENCY/);
    const postgres = { DATABASE_URL: "postgres://postgres@127.0.0.1:5432/x" };
    expect(parseConfig({ ...postgres, WEB_CONCURRENCY: "2" }).webConcurrency).toBe(2);
    expect(() => parseConfig({ ...postgres, WEB_CONCURRENCY: "3", METRICS_PORT: "9000", PORT: "9002" })).toThrow(/METRICS_PORT: worker metrics take/);
  });

  it.skipIf(!testDatabaseUrl)(
    "serves from two workers on one port, replaces a dead one, and stops both on SIGTERM",
    async () => {
      const empty = await createEmptyPostgresDatabase();
      cleanups.push(() => empty.drop());
      await applyMigrations(new PrismaPg({ connectionString: empty.url }));
      // Two consecutive free ports for the workers' metrics.
      let metricsPort = await freePort();
      while (!(await portIsFree(metricsPort + 1))) metricsPort = await freePort();
      const service = await startServiceProcess({ DATABASE_URL: empty.url, WEB_CONCURRENCY: "2", METRICS_PORT: String(metricsPort), RATE_LIMIT_PER_IP: "0", RATE_LIMIT_PER_ORG: "0" });
      cleanups.push(async () => {
        if (service.child.exitCode === null) await stopServiceProcess(service, "SIGKILL");
      });
      await until(() => linesWith(service, "2 workers listening").length, (n) => n === 1, 20_000);
      const workers = linesWith(service, "listening on " + service.url.replace("127.0.0.1", "localhost"));
      expect(workers.map((line) => line.worker).sort()).toEqual([0, 1]);
      expect(new Set(workers.map((line) => line.pid)).size).toBe(2);

      // Each request on a connection of its own: the supervisor hands connections to the workers in turn.
      const headers = { authorization: `Bearer ${tokenFor("cluster", "cluster-org")}`, "content-type": "application/json", connection: "close" };
      for (let i = 0; i < 20; i++) {
        const res = await fetch(`${service.url}/api/v1/features`, { method: "POST", headers, body: JSON.stringify({ name: `f${i}` }) });
        expect(res.status).toBe(201);
      }
      const served = [await restRequestsServed(metricsPort), await restRequestsServed(metricsPort + 1)];
      expect(served[0]! + served[1]!).toBe(20);
      expect(served[0]).toBeGreaterThan(0);
      expect(served[1]).toBeGreaterThan(0);
      // One database for both: each worker lists all 20.
      const list = (await (await fetch(`${service.url}/api/v1/features?limit=50`, { headers })).json()) as { pagination: { total: number } };
      expect(list.pagination.total).toBe(20);

      // A worker killed outright is replaced; the port never stops serving.
      const second = workers.find((line) => line.worker === 1)!;
      process.kill(second.pid, "SIGKILL");
      const replaced = await until(() => linesWith(service, "listening on " + service.url.replace("127.0.0.1", "localhost")), (lines) => lines.length === 3, 20_000);
      expect(replaced).toHaveLength(3);
      expect(replaced[2]!.worker).toBe(1);
      expect((await fetch(`${service.url}/health`, { headers: { connection: "close" } })).status).toBe(200);
      expect(await restRequestsServed(metricsPort + 1)).toBe(0); // the new worker's own metrics

      // SIGTERM: both workers drain and stop, then the supervisor exits 0.
      const code = await stopServiceProcess(service, "SIGTERM");
      expect(code).toBe(0);
      expect(linesWith(service, "stopped")).toHaveLength(2);
      const first = workers.find((line) => line.worker === 0)!;
      expect(replaced[2]!.pid).not.toBe(second.pid);
      for (const pid of [first.pid, second.pid, replaced[2]!.pid]) expect(() => process.kill(pid, 0)).toThrow();
    },
    90_000,
  );

  it.skipIf(!testDatabaseUrl)(
    "fails the whole start, exit 1, when a worker cannot start (its metrics port taken)",
    async () => {
      const empty = await createEmptyPostgresDatabase();
      cleanups.push(() => empty.drop());
      let metricsPort = await freePort();
      while (!(await portIsFree(metricsPort + 1))) metricsPort = await freePort();
      const squatter = createServer().listen(metricsPort + 1, "127.0.0.1");
      cleanups.push(() => new Promise((resolve) => squatter.close(resolve)));
      const child = spawn(process.execPath, TSX_MAIN, {
        cwd: projectRoot,
        env: { ...cleanEnv(), DATABASE_URL: empty.url, WEB_CONCURRENCY: "2", PORT: "0", HOST: "127.0.0.1", METRICS_PORT: String(metricsPort), METRICS_HOST: "127.0.0.1" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let output = "";
      child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
      expect(code).toBe(1);
      expect(output).toContain(`cannot listen for metrics: port ${metricsPort + 1} is in use`);
      expect(output).toContain("a worker failed to start; stopping");
    },
    60_000,
  );
});
