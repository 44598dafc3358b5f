/**
 * Prometheus metrics on METRICS_PORT: a known sequence of calls against the service process, then exact
 * counts read from /metrics (per procedure, per error code, per route, rate-limit refusals, the
 * PostgreSQL pool), and /metrics absent from the public port.
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tokenFor } from "../support/app.js";
import { createTestDatabase, databaseKind } from "../support/database.js";
import type { TestDatabase } from "../support/database.js";
import { parsePrometheusText, sampleValue } from "../support/prometheus-text.js";
import type { Sample } from "../support/prometheus-text.js";
import { projectRoot, startServiceProcess, stopServiceProcess } from "../support/service-process.js";
import type { ServiceProcess } from "../support/service-process.js";

const ORG_A = "metrics-org-a";
const ORG_B = "metrics-org-b";
const POOL_SIZE = 3;

let database: TestDatabase | undefined;
let dataDir: string | undefined;
let service: ServiceProcess;
let samples: Sample[];
let metricsText: string;
let publicMetricsStatus: number;
const unknownId = randomUUID();

beforeAll(async () => {
  let env: NodeJS.ProcessEnv;
  if (databaseKind === "postgres") {
    database = await createTestDatabase();
    await database.db.close(); // the service opens its own pool
    env = { DATABASE_URL: database.url, DATABASE_POOL_SIZE: String(POOL_SIZE) };
  } else {
    dataDir = await mkdtemp(path.join(tmpdir(), "kuark-metrics-"));
    env = { PGLITE_DATA_DIR: dataDir };
  }
  // Six calls per organization and window: organization B's 7th and 8th are refused.
  service = await startServiceProcess({ ...env, RATE_LIMIT_PER_ORG: "6", RATE_LIMIT_PER_IP: "0" });
  const a = { authorization: `Bearer ${tokenFor("alice", ORG_A)}` };
  const b = { authorization: `Bearer ${tokenFor("bob", ORG_B)}` };
  const call = (url: string, headers: Record<string, string> = {}, body?: object) =>
    fetch(service.url + url, body ? { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify(body) } : { headers });
  const input = (value: object) => encodeURIComponent(JSON.stringify(value));

  // Organization A: exactly six calls (the batch's two count as two: a batch costs one per call).
  for (const name of ["Metrics one", "Metrics two"]) expect((await call("/trpc/features.create", a, { name })).status).toBe(200);
  expect((await call(`/trpc/features.list?input=${input({ limit: 5 })}`, a)).status).toBe(200);
  expect((await call(`/trpc/features.byId?input=${input({ id: unknownId })}`, a)).status).toBe(404);
  expect((await call(`/trpc/auth.me,features.list?batch=1&input=${input({ 1: { limit: 5 } })}`, a)).status).toBe(200);
  // An unknown procedure, called by a third organization (A's six are spent).
  expect((await call("/trpc/no.such.procedure", { authorization: `Bearer ${tokenFor("carol", `${ORG_A}-c`)}` })).status).toBe(404);
  // Organization B: eight calls, two refused.
  const statuses = [];
  for (let i = 0; i < 8; i++) statuses.push((await call("/trpc/auth.me", b)).status);
  expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429, 429]);
  // No token.
  expect((await call("/trpc/features.list")).status).toBe(401);
  publicMetricsStatus = (await call("/metrics")).status;

  expect(service.metricsUrl).toBeDefined();
  const response = await fetch(service.metricsUrl!);
  expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  metricsText = await response.text();
  samples = parsePrometheusText(metricsText);
});

afterAll(async () => {
  if (service) expect(await stopServiceProcess(service)).toBe(0);
  await database?.drop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const count = (name: string, labels: Record<string, string>) => sampleValue(samples, `${name}_count`, labels) ?? 0;

describe("/metrics on METRICS_PORT", () => {
  it("counts every procedure call by path, type and outcome, each call of a batch on its own", () => {
    const procedure = (p: string, type: string, outcome: string) => count("kuark_trpc_procedure_duration_seconds", { procedure: p, type, outcome });
    expect(procedure("features.create", "mutation", "ok")).toBe(2);
    expect(procedure("features.list", "query", "ok")).toBe(2); // one alone, one in the batch
    expect(procedure("features.list", "query", "error")).toBe(1); // the call without a token
    expect(procedure("features.byId", "query", "error")).toBe(1);
    expect(procedure("auth.me", "query", "ok")).toBe(7); // one in the batch, six of organization B
    // An unknown procedure never runs and never becomes a label value.
    expect(samples.filter((s) => s.name.startsWith("kuark_trpc_procedure_duration_seconds") && s.labels.procedure === "no.such.procedure")).toEqual([]);
  });

  it("counts tRPC errors by code, with unknown procedures under 'unknown'", () => {
    expect(sampleValue(samples, "kuark_trpc_errors_total", { procedure: "features.byId", code: "NOT_FOUND" })).toBe(1);
    expect(sampleValue(samples, "kuark_trpc_errors_total", { procedure: "unknown", code: "NOT_FOUND" })).toBe(1);
    expect(sampleValue(samples, "kuark_trpc_errors_total", { procedure: "features.list", code: "UNAUTHORIZED" })).toBe(1);
  });

  it("times HTTP requests by route template, never the URL", () => {
    const http = (route: string, status: string, method = "GET") => count("kuark_http_request_duration_seconds", { method, route, status });
    expect(http("/trpc/features.create", "200", "POST")).toBe(2);
    expect(http("/trpc/features.byId", "404")).toBe(1);
    expect(http("/trpc/(batch)", "200")).toBe(1);
    expect(http("/trpc/unknown", "404")).toBe(1);
    expect(http("/trpc/auth.me", "200")).toBe(6);
    expect(http("/trpc/auth.me", "429")).toBe(2);
    expect(http("unmatched", "404")).toBe(1); // GET /metrics on the public port
  });

  it("counts rate-limit refusals by limit", () => {
    expect(sampleValue(samples, "kuark_rate_limit_refusals_total", { limit: "org" })).toBe(2);
  });

  it("has no organization, user or id in any label", () => {
    for (const secret of [ORG_A, ORG_B, "alice", "bob", unknownId, "no.such.procedure"]) expect(metricsText).not.toContain(secret);
  });

  it("reports the PostgreSQL pool (PostgreSQL) or no pool (embedded PGlite has none)", () => {
    const total = sampleValue(samples, "kuark_db_pool_connections");
    if (databaseKind === "postgres") {
      expect(total).toBeGreaterThanOrEqual(1);
      expect(total).toBeLessThanOrEqual(POOL_SIZE);
      expect(sampleValue(samples, "kuark_db_pool_idle_connections")).toBe(total); // nothing in flight
      expect(sampleValue(samples, "kuark_db_pool_waiting_requests")).toBe(0);
    } else {
      expect(samples.filter((s) => s.name.startsWith("kuark_db_pool_"))).toEqual([]);
    }
  });

  it("includes the default process and event-loop metrics", () => {
    for (const name of ["process_cpu_seconds_total", "process_resident_memory_bytes", "nodejs_eventloop_lag_seconds", "nodejs_heap_size_used_bytes"]) {
      expect(sampleValue(samples, name), name).toBeGreaterThanOrEqual(0);
    }
    expect(sampleValue(samples, "process_cpu_seconds_total")).toBeGreaterThan(0);
  });

  it("is not served on the public port", () => {
    expect(publicMetricsStatus).toBe(404);
  });

  it("serves every metric the Grafana dashboard (docs/grafana-dashboard.json) queries", async () => {
    const dashboard = JSON.parse(await readFile(path.join(projectRoot, "docs/grafana-dashboard.json"), "utf8")) as { panels: { targets: { expr: string }[] }[] };
    const queried = new Set(dashboard.panels.flatMap((p) => p.targets.flatMap((t) => [...t.expr.matchAll(/\b((?:kuark|process|nodejs)_\w+?)(?:_bucket|_count)?\{/g)].map((m) => m[1]!))));
    const served = new Set(samples.map((s) => s.name.replace(/_(bucket|count|sum)$/, "")));
    const missing = [...queried].filter((name) => !served.has(name) && !(databaseKind === "embedded" && name.startsWith("kuark_db_pool_")));
    expect(queried.size).toBeGreaterThan(8);
    expect(missing).toEqual([]);
  });
});
