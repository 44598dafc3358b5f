/**
 * `npm run bench [-- --quick] [-- --embedded]`: the service as users run it (built, one process) against
 * a raw `node:http` + `pg` baseline executing the same SQL, then the same service on one organization of
 * 10k, 100k and 1M features. Writes bench/results/ (JSON, SVG chart, summary.md). Not part of the tests.
 * Issue 22's comparisons (the FastAPI service, CPU per request, workers) are in ./comparisons.ts;
 * `BENCH_ONLY=peer,cpu,workers` runs some of them alone, `BENCH_SECONDS` shortens every measured run
 * (both write to bench/results/custom/, which git ignores).
 *
 * Everything runs on loopback and one thing at a time (service, then baseline): on a 2-core machine the
 * server, the load generator and PostgreSQL already share the cores.
 */
import { spawn, spawnSync } from "node:child_process";
import { createServer } from "node:http";
import type { ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { signAccessToken } from "../server/auth/token.js";
import { EXACT_COUNT_LIMIT } from "../server/kit/listing.js";
import { cursorOf } from "../server/contract/common.js";
import { createOrgData } from "../server/kit/scope.js";
import { createChangeHub } from "../server/kit/change-hub.js";
import { pino } from "pino";
import { createResourceService } from "../server/kit/service.js";
import { features as featureResource } from "../server/resources/features/definition.js";
import { PrismaPGliteWithExtensions, createPGlite } from "../server/db/pglite.js";
import { applyMigrations } from "../server/db/schema-engine.js";
import { PrismaClient } from "../server/generated/prisma/client.js";
import type { Sql as StatementRunner } from "../server/db/sql.js";
import { writeComparisonReport, writeReport } from "./report.js";
import { liveBench, writeLiveReport } from "./live.js";
import { seedFeatures } from "./seed.js";
import type { BenchResults, CapturedEndpoint, ComparisonResults, LeverResults, LoadResult, ObservabilityResults, PgBouncerResults, ScaleRow, Target, VariantRow, WorkerResults } from "./report.js";
import { pgbouncerVersion, startPgBouncer } from "../scripts/support/pgbouncer.js";
import { againstPeer, cpuPerRequest, peerUnavailable } from "./comparisons.js";
import type { BenchKit } from "./comparisons.js";
import { freePort, portIsFree } from "../scripts/support/throwaway-postgres.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const flags = new Set(process.argv.slice(2));
const quick = flags.has("--quick");
const embedded = flags.has("--embedded");
const adminUrl = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

/** Issue 22's sections, each run by a full run; BENCH_ONLY=<names, comma-separated> runs only those. */
const COMPARISONS = ["peer", "cpu", "workers"] as const;
type Comparison = (typeof COMPARISONS)[number];
const only = (() => {
  const value = process.env.BENCH_ONLY?.trim();
  if (!value) return undefined;
  const names = value.split(",").map((name) => name.trim());
  const unknown = names.filter((name) => !(COMPARISONS as readonly string[]).includes(name));
  if (unknown.length > 0) throw new Error(`BENCH_ONLY: unknown section(s) ${unknown.join(", ")}; the sections it selects are ${COMPARISONS.join(", ")}`);
  return new Set(names as Comparison[]);
})();
/** BENCH_SECONDS=<s>: every measured run lasts s seconds (warm-up: a quarter of it, at most 2 s), for smoke runs. */
const benchSeconds = (() => {
  const value = process.env.BENCH_SECONDS?.trim();
  if (!value) return undefined;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new Error(`BENCH_SECONDS must be a positive number of seconds, not ${JSON.stringify(value)}`);
  return seconds;
})();
/** A run that is not the standard one writes where git does not look. */
const custom = only !== undefined || benchSeconds !== undefined;
const outDir = path.join(root, "bench/results", [custom ? "custom" : quick && "quick", embedded && "embedded"].filter(Boolean).join("-"));

const CONNECTIONS = [1, 32, 128];
const WARMUP_S = benchSeconds !== undefined ? Math.min(2, benchSeconds / 4) : quick ? 0.3 : 2;
const DURATION_S = benchSeconds ?? (quick ? 1 : 8);
const SCALE_SIZES = quick || embedded ? [10_000, 100_000] : [10_000, 100_000, 1_000_000];
const SCALE_WARMUP_S = quick ? 0.3 : 0.5;
const SCALE_DURATION_S = quick ? 1 : 3;
const POOL_SIZE = 10;
const SECRET = "bench-secret-key-0123456789abcdef";
const BENCH_ORG = "bench-org";
const BENCH_ORG_ROWS = 5_000;
const SCALE_ORG = "bench-scale-org";
/** A selective search: 6 characters of the md5 in one seeded name (`Feature <i> <md5(i)[0..8]>`). */
const SEARCH_TERM = createHash("md5").update("4242").digest("hex").slice(0, 6);
const CREATED_NAME = "Bench created";

const started = Date.now();
const log = (message: string) => console.log(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${message}`);

/** SQL on the benchmark's own database: a pg client, or the PGlite directory while no service has it open. */
interface Sql {
  query<T>(text: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

async function openSql(): Promise<Sql & { prismaAdapter(): PrismaPg | PrismaPGliteWithExtensions }> {
  if (embedded) {
    const pglite = createPGlite(pgliteDir);
    await pglite.waitReady;
    return {
      query: async <T>(text: string, params?: unknown[]) => (await pglite.query<T>(text, params)).rows,
      close: () => pglite.close(),
      prismaAdapter: () => new PrismaPGliteWithExtensions(pglite),
    };
  }
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  return {
    query: async <T>(text: string, params?: unknown[]) => (await client.query(text, params)).rows as T[],
    close: () => client.end(),
    prismaAdapter: () => new PrismaPg({ connectionString: databaseUrl }),
  };
}

// ---------------------------------------------------------------------------------------------------
// The database of this run: created here, dropped at the end, never anything left over.

const dbName = `kuark_bench_${randomBytes(4).toString("hex")}`;
const databaseUrl = (() => {
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  return url.toString();
})();
const pgliteDir = embedded ? await mkdtemp(path.join(os.tmpdir(), "kuark-bench-")) : "";

async function adminQuery(text: string) {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

async function createDatabase() {
  if (!embedded) await adminQuery(`CREATE DATABASE "${dbName}"`);
  const sql = await openSql();
  try {
    await applyMigrations(sql.prismaAdapter());
  } finally {
    await sql.close();
  }
}

async function dropDatabase() {
  if (embedded) await rm(pgliteDir, { recursive: true, force: true });
  else await adminQuery(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
}

/** Seeds rows `from`..`to` of `org` (./seed.ts), then refreshes the planner's statistics. */
async function seed(sql: Sql, org: string, from: number, to: number) {
  await seedFeatures((text, params) => sql.query(text, params), org, from, to);
  await sql.query("VACUUM ANALYZE features");
}

// ---------------------------------------------------------------------------------------------------
// Processes: the built service, the baseline, the load generators.


interface Running {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

async function waitUntilUp(url: string, child: ChildProcess) {
  const until = Date.now() + 60_000;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`process exited with ${child.exitCode}`);
    const ok = await fetch(url).then(
      (r) => r.status < 500,
      () => false,
    );
    if (ok) return;
    // Polled often: the start-up time below is measured with it.
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${url} did not come up`);
}

/**
 * The first of `count` consecutive free ports, none of them `except`: the metrics ports of `count` workers
 * (worker i listens on METRICS_PORT + i, server/cluster.ts). Two free ports drawn one by one can be
 * neighbours, and then a second worker's metrics would take the service's port and fail the start.
 */
async function freePortRun(count: number, except: number): Promise<number> {
  for (;;) {
    const first = await freePort();
    const ports = Array.from({ length: count }, (_, i) => first + i);
    if (ports.includes(except) || ports.at(-1)! > 65_535) continue;
    if ((await Promise.all(ports.slice(1).map(portIsFree))).every(Boolean)) return first;
  }
}

async function start(target: Target, capturedFile: string, serviceEnv: NodeJS.ProcessEnv = {}): Promise<Running> {
  const port = await freePort();
  const metricsPort = await freePortRun(Math.max(1, Number(serviceEnv.WEB_CONCURRENCY ?? 1)), port);
  const common = { ...process.env, PORT: String(port), DATABASE_POOL_SIZE: String(POOL_SIZE) };
  const child =
    target === "service"
      ? spawn(process.execPath, [path.join(root, "dist/server/main.js")], {
          cwd: root,
          // As in production, with its default logging (LOG_LEVEL info, one JSON line per request, here
          // written to /dev/null); only the rate limits are off, or they would answer 429.
          env: {
            ...common,
            NODE_ENV: "production",
            SECRET_KEY: SECRET,
            HOST: "127.0.0.1",
            PANEL_ENABLED: "false",
            RATE_LIMIT_PER_IP: "0",
            RATE_LIMIT_PER_ORG: "0",
            // Metrics on (the default), on a port of their own; tracing off unless serviceEnv says so.
            METRICS_PORT: String(metricsPort),
            METRICS_HOST: "127.0.0.1",
            OTEL_EXPORTER_OTLP_ENDPOINT: "",
            ...(embedded ? { DATABASE_URL: "", PGLITE_DATA_DIR: pgliteDir } : { DATABASE_URL: databaseUrl }),
            // Last: a variant may point DATABASE_URL elsewhere (PgBouncer).
            ...serviceEnv,
          },
          stdio: ["ignore", "ignore", "inherit"],
        })
      : spawn(process.execPath, [path.join(root, "bench/baseline.mjs")], {
          cwd: root,
          env: { ...common, CAPTURED_SQL: capturedFile, ...(embedded ? { PGLITE_DATA_DIR: pgliteDir } : { DATABASE_URL: databaseUrl }) },
          stdio: ["ignore", "ignore", "inherit"],
        });
  const url = `http://127.0.0.1:${port}`;
  await waitUntilUp(target === "service" ? `${url}/health/ready` : `${url}/`, child);
  if (target === "baseline") {
    // Each captured read answered once before any load: a replay out of step with the service's SQL (its
    // rows read differently) stops the run here instead of filling the tables with errors.
    const { endpoints } = JSON.parse(await readFile(capturedFile, "utf8")) as { endpoints: CapturedEndpoint[] };
    for (const endpoint of endpoints.filter((e) => e.kind !== "create")) {
      const response = await fetch(url + endpoint.path);
      if (response.status !== 200) {
        child.kill("SIGTERM");
        throw new Error(`the baseline answers ${endpoint.method} ${endpoint.path} with ${response.status}, not 200: bench/baseline.mjs no longer reads the rows of its captured SQL`);
      }
    }
  }
  return {
    url,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

function rssOf(pid: number): number {
  const status = spawnSync("cat", [`/proc/${pid}/status`], { encoding: "utf8" }).stdout;
  const kb = /VmRSS:\s+(\d+)/.exec(status)?.[1];
  return kb ? Number(kb) * 1024 : 0;
}

/** Runs a generator script in its own process while sampling the target's RSS; returns its JSON and the peak. */
async function drive<T>(script: string, spec: object, pid: number): Promise<T & { peakRssBytes: number }> {
  let peak = rssOf(pid);
  const sampler = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 100);
  try {
    const child = spawn(process.execPath, [path.join(root, "bench", script), JSON.stringify(spec)], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    if (code !== 0) throw new Error(`${script} exited with ${code}`);
    return { ...(JSON.parse(out.trim().split("\n").at(-1)!) as T), peakRssBytes: Math.max(peak, rssOf(pid)) };
  } finally {
    clearInterval(sampler);
  }
}

// ---------------------------------------------------------------------------------------------------
// What is measured.

const token = signAccessToken({ sub: "bench-user", organizationId: BENCH_ORG, minutes: 600 }, SECRET);
const scaleToken = signAccessToken({ sub: "bench-user", organizationId: SCALE_ORG, minutes: 600 }, SECRET);
const query = (procedure: string, input: object) => `/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify(input))}`;

interface EndpointSpec {
  key: string;
  label: string;
  method: "GET" | "POST";
  path: string;
  body?: string;
  kind: CapturedEndpoint["kind"];
  input: Record<string, unknown>;
}

/**
 * Requests that stop at a layer: `/health` passes Express and its middlewares only (helmet, logging);
 * `auth.me` adds the tRPC adapter, JWT verification and output validation, but no database.
 */
const LAYER_PROBES = [
  { key: "layerHttp", label: "GET /health (Express, helmet, the request id)", path: "/health" },
  { key: "layerTrpc", label: "auth.me (+ tRPC adapter, JWT, zod; no database)", path: "/trpc/auth.me" },
] as const;

function endpointsFor(byIdId: string): EndpointSpec[] {
  const list = (key: string, label: string, input: Record<string, unknown>): EndpointSpec => ({
    key,
    label,
    method: "GET",
    path: query("features.list", input),
    kind: "list",
    input,
  });
  return [
    list("list", "features.list page 1", { page: 1, limit: 20 }),
    list("listSearch", `features.list search "${SEARCH_TERM}"`, { page: 1, limit: 20, search: SEARCH_TERM }),
    list("listStatus", "features.list status INACTIVE", { page: 1, limit: 20, status: "INACTIVE" }),
    { key: "byId", label: "features.byId", method: "GET", path: query("features.byId", { id: byIdId }), kind: "byId", input: { id: byIdId } },
    // The REST routes of the same reads (same services, same SQL), measured against their tRPC counterparts.
    { key: "restList", label: "GET /api/v1/features (REST list page 1)", method: "GET", path: "/api/v1/features?page=1&limit=20", kind: "list", input: { page: 1, limit: 20 } },
    { key: "restById", label: "GET /api/v1/features/{id} (REST read)", method: "GET", path: `/api/v1/features/${byIdId}`, kind: "byId", input: { id: byIdId } },
    // Last, so that the rows it adds never change what the reads above see.
    {
      key: "create",
      label: "features.create",
      method: "POST",
      path: "/trpc/features.create",
      body: JSON.stringify({ name: CREATED_NAME }),
      kind: "create",
      input: { name: CREATED_NAME },
    },
  ];
}

/** Runs each endpoint through the service's own code (its scope and statements) and keeps the SQL it sent. */
async function captureSql(sql: Awaited<ReturnType<typeof openSql>>, endpoints: EndpointSpec[]): Promise<CapturedEndpoint[]> {
  const prisma = new PrismaClient({ adapter: sql.prismaAdapter() });
  let seen: CapturedEndpoint["statements"] = [];
  // Every statement the kit sends goes through this runner: kept, then run on the bench's own connection.
  const capturing: StatementRunner = {
    async query<T>(statement: { text: string; values: readonly unknown[]; prepared?: boolean }) {
      seen.push({ sql: statement.text, params: [...statement.values], ...(statement.prepared && { prepared: true }) });
      return sql.query<T>(statement.text, [...statement.values]);
    },
    // The captured calls are single statements; a transaction would only wrap them.
    transaction: (work) => work(capturing),
  };
  const data = createOrgData({ prisma, sql: capturing });
  // A hub that never listens: only the writes' SQL is captured here (the change event and its NOTIFY included).
  const hub = createChangeHub({ db: { listen: () => Promise.resolve({ close: () => Promise.resolve() }) }, data, log: pino({ level: "silent" }), limits: { perOrganization: 0, perIp: 0 }, retentionHours: 168 });
  const features = createResourceService(featureResource, data, { hub, retentionHours: 168 });
  const actor = { sub: "bench-user", organizationId: BENCH_ORG, role: "member" as const };
  const captured: CapturedEndpoint[] = [];
  for (const endpoint of endpoints) {
    seen = [];
    if (endpoint.kind === "list") await features.list(actor, { page: 1, limit: 20, ...endpoint.input });
    else if (endpoint.kind === "byId") await features.byId(actor, endpoint.input.id as string);
    else await features.create(actor, { name: CREATED_NAME });
    const statements = [...seen];
    captured.push({
      key: endpoint.key,
      method: endpoint.method,
      path: endpoint.path,
      kind: endpoint.kind,
      statements,
      ...(endpoint.kind === "list" && { pagination: { page: 1, limit: 20 } }),
      ...(endpoint.kind === "create" && (() => {
        // The write is one statement (the row, the organization's lock, its change event and NOTIFY).
        const insertStatement = statements.findIndex((s) => s.params.includes(CREATED_NAME));
        return { insertStatement, nameParam: statements[insertStatement]!.params.indexOf(CREATED_NAME) };
      })()),
    });
  }
  await prisma.$disconnect();
  await sql.query(`DELETE FROM features WHERE organization_id = $1 AND name = $2`, [BENCH_ORG, CREATED_NAME]);
  return captured;
}

/** One endpoint under load from its own autocannon process, with the service's peak RSS. */
function loadEndpoint(running: Running, endpoint: EndpointSpec, connections: number) {
  return drive<Omit<LoadResult, "target" | "endpoint" | "label" | "connections" | "peakRssBytes">>(
    "load.mjs",
    {
      url: running.url + endpoint.path,
      method: endpoint.method,
      headers: { authorization: `Bearer ${token}`, ...(endpoint.body && { "content-type": "application/json" }) },
      body: endpoint.body,
      connections,
      warmup: WARMUP_S,
      duration: DURATION_S,
    },
    running.pid,
  );
}

async function throughput(endpoints: EndpointSpec[], capturedFile: string): Promise<LoadResult[]> {
  const results: LoadResult[] = [];
  for (const target of ["service", "baseline"] as const) {
    const running = await start(target, capturedFile);
    log(`${target} up (pid ${running.pid}, RSS ${(rssOf(running.pid) / 2 ** 20).toFixed(0)} MiB)`);
    for (const endpoint of endpoints) {
      for (const connections of CONNECTIONS) {
        const result = await loadEndpoint(running, endpoint, connections);
        results.push({ target, endpoint: endpoint.key, label: endpoint.label, connections, ...result });
        log(
          `${target.padEnd(8)} ${endpoint.key.padEnd(10)} c=${String(connections).padStart(3)}: ${result.requestsPerSec.toFixed(0).padStart(6)} req/s, p50 ${result.latencyP50} ms, p99 ${result.latencyP99} ms, errors ${result.errors}, peak RSS ${(result.peakRssBytes / 2 ** 20).toFixed(0)} MiB`,
        );
      }
    }
    if (target === "service") {
      // Layer probes: the same stack with less behind it, to attribute the per-request cost.
      for (const probe of LAYER_PROBES) {
        const result = await drive<Omit<LoadResult, "target" | "endpoint" | "label" | "connections" | "peakRssBytes">>(
          "load.mjs",
          { url: running.url + probe.path, method: "GET", headers: { authorization: `Bearer ${token}` }, connections: 32, warmup: WARMUP_S, duration: DURATION_S },
          running.pid,
        );
        results.push({ target, endpoint: probe.key, label: probe.label, connections: 32, ...result });
        log(`service  ${probe.key.padEnd(10)} c= 32: ${result.requestsPerSec.toFixed(0).padStart(6)} req/s (layer probe)`);
      }
    }
    await running.stop();
    await removeCreated();
  }
  return results;
}

/** What create added goes (with its change events), so the next run reads the same rows. */
async function removeCreated() {
  const sql = await openSql();
  await sql.query(`DELETE FROM features WHERE organization_id = $1 AND name = $2`, [BENCH_ORG, CREATED_NAME]);
  await sql.query(`DELETE FROM change_events WHERE organization_id = $1`, [BENCH_ORG]);
  await sql.query("VACUUM ANALYZE features");
  await sql.close();
}

interface Variant {
  key: string;
  label: string;
  env: NodeJS.ProcessEnv;
}

/**
 * The same requests against service processes started with different settings, at 32 connections.
 * Variants alternate within each round (the order rotating), and each figure is the median of the
 * rounds, so a noisy neighbour on a shared machine hits all variants alike.
 */
async function compareVariants(section: string, variants: Variant[], measured: EndpointSpec[], rounds: number): Promise<VariantRow[]> {
  const samples = new Map<string, LoadResult[]>();
  for (let round = 0; round < rounds; round++) {
    const order = variants.map((_, i) => variants[(i + round) % variants.length]!);
    for (const variant of order) {
      const running = await start("service", "", variant.env);
      for (const endpoint of measured) {
        const result = await loadEndpoint(running, endpoint, 32);
        const key = `${variant.key}/${endpoint.key}`;
        samples.set(key, [...(samples.get(key) ?? []), { target: "service", endpoint: endpoint.key, label: variant.label, connections: 32, ...result }]);
        log(`${section} round ${round + 1}/${rounds} ${variant.key.padEnd(12)} ${endpoint.key.padEnd(6)} c= 32: ${result.requestsPerSec.toFixed(0).padStart(6)} req/s, p50 ${result.latencyP50} ms, p99 ${result.latencyP99} ms, errors ${result.errors}`);
      }
      await running.stop();
      if (measured.some((e) => e.kind === "create")) await removeCreated();
    }
  }
  return [...samples.entries()].map(([key, runs]) => {
    const [variant, endpoint] = key.split("/") as [string, string];
    const sorted = [...runs].sort((a, b) => a.requestsPerSec - b.requestsPerSec);
    const middle = sorted[Math.floor(sorted.length / 2)]!;
    return {
      variant,
      label: variants.find((v) => v.key === variant)!.label,
      endpoint,
      requestsPerSec: middle.requestsPerSec,
      samples: runs.map((r) => r.requestsPerSec),
      latencyP50: middle.latencyP50,
      latencyP99: middle.latencyP99,
      errors: runs.reduce((n, r) => n + r.errors, 0),
    };
  });
}

/**
 * The cost of observability: the same requests with metrics off (METRICS_PORT=0), on (the default), and
 * with tracing on, exporting every span to a local OTLP receiver (this process: it reads and drops the bodies).
 */
async function observability(endpoints: EndpointSpec[]): Promise<ObservabilityResults> {
  let exports = 0;
  let exportedBytes = 0;
  const receiver = createServer((req, res) => {
    req.on("data", (chunk: Buffer) => (exportedBytes += chunk.length));
    req.on("end", () => {
      exports++;
      res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
  const rounds = quick ? 1 : 3;
  try {
    const rows = await compareVariants(
      "observability",
      [
        { key: "metricsOff", label: "metrics off (METRICS_PORT=0)", env: { METRICS_PORT: "0" } },
        { key: "metricsOn", label: "metrics on (default)", env: {} },
        { key: "tracingOn", label: "metrics and tracing on (OTLP http/protobuf to a local receiver)", env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiverUrl } },
      ],
      endpoints.filter((e) => e.key === "byId" || e.key === "list"),
      rounds,
    );
    log(`observability: the OTLP receiver got ${exports} exports (${(exportedBytes / 2 ** 20).toFixed(1)} MiB)`);
    return { rounds, connections: 32, rows, otlpExports: exports, otlpBytes: exportedBytes };
  } finally {
    await new Promise((resolve) => receiver.close(resolve));
  }
}

/**
 * Levers with a setting of their own, each against the default (everything on): the fast paths for tRPC
 * against tRPC's official adapter alone, request logs at warn (no line per request), a larger young
 * generation for V8 (--max-semi-space-size).
 */
async function levers(endpoints: EndpointSpec[]): Promise<LeverResults> {
  const rounds = quick ? 1 : 3;
  const rows = await compareVariants(
    "levers",
    [
      { key: "default", label: "default settings", env: {} },
      { key: "officialAdapter", label: "tRPC's Express adapter only (TRPC_FAST_PATHS=false)", env: { TRPC_FAST_PATHS: "false" } },
      { key: "logWarn", label: "no request log lines (LOG_LEVEL=warn)", env: { LOG_LEVEL: "warn" } },
      { key: "semiSpace", label: "NODE_OPTIONS=--max-semi-space-size=32", env: { NODE_OPTIONS: "--max-semi-space-size=32" } },
    ],
    endpoints.filter((e) => e.key === "byId" || e.key === "list" || e.key === "create"),
    rounds,
  );
  return { rounds, connections: 32, rows };
}

/**
 * The service on PostgreSQL directly against the same service behind PgBouncer in transaction mode (Debian's
 * pgbouncer, started here at its defaults, scripts/support/pgbouncer.ts), DATABASE_DIRECT_URL on PostgreSQL.
 */
async function behindPgBouncer(endpoints: EndpointSpec[]): Promise<PgBouncerResults> {
  const rounds = quick ? 1 : 3;
  const bouncer = await startPgBouncer(databaseUrl);
  try {
    const version = pgbouncerVersion();
    const rows = await compareVariants(
      "pgbouncer",
      [
        { key: "direct", label: "DATABASE_URL on PostgreSQL", env: {} },
        { key: "pgbouncer", label: "DATABASE_URL on PgBouncer (transaction mode)", env: { DATABASE_URL: bouncer.urlFor(databaseUrl), DATABASE_DIRECT_URL: databaseUrl } },
      ],
      endpoints.filter((e) => e.key === "byId" || e.key === "list" || e.key === "create"),
      rounds,
    );
    return { rounds, connections: 32, version, rows };
  } finally {
    await bouncer.stop();
  }
}

/**
 * WEB_CONCURRENCY=1 against 2 on this machine (issue 22): the same requests to one process and to a
 * supervisor with two workers, alternating within each round as the levers do.
 */
async function workers(endpoints: EndpointSpec[]): Promise<WorkerResults> {
  const rounds = quick || custom ? 1 : 3;
  const rows = await compareVariants(
    "workers",
    [
      { key: "workers1", label: "WEB_CONCURRENCY=1", env: { WEB_CONCURRENCY: "1" } },
      { key: "workers2", label: "WEB_CONCURRENCY=2", env: { WEB_CONCURRENCY: "2" } },
    ],
    endpoints.filter((e) => e.key === "byId" || e.key === "list" || e.key === "create"),
    rounds,
  );
  return { rounds, connections: 32, rows };
}

/** What issue 22's comparisons need from this file. */
function benchKit(): BenchKit {
  return {
    root,
    log,
    adminUrl,
    databaseUrl,
    secret: SECRET,
    poolSize: POOL_SIZE,
    warmupSeconds: WARMUP_S,
    durationSeconds: DURATION_S,
    benchOrg: BENCH_ORG,
    benchOrgRows: BENCH_ORG_ROWS,
    createdName: CREATED_NAME,
    token,
    startService: (env) => start("service", "", env),
    startBaseline: () => start("baseline", capturedFile),
    seedService: async (org, from, to) => {
      const sql = await openSql();
      try {
        await seed(sql, org, from, to);
      } finally {
        await sql.close();
      }
    },
    removeCreated,
  };
}

/**
 * Issue 22's sections (all, or BENCH_ONLY's), one after the other. They need PostgreSQL: the peer has its
 * own database on it, the workers cannot share PGlite, the bare app connects as the service does.
 */
async function comparisons(endpoints: EndpointSpec[], byIdId: string): Promise<ComparisonResults> {
  const selected = (name: Comparison) => !only || only.has(name);
  const results: ComparisonResults = {};
  if (embedded) {
    log("issue 22's sections (peer, cpu, workers) need PostgreSQL: NOT RUN on embedded PGlite");
    results.skipped = Object.fromEntries(COMPARISONS.map((name) => [name, "needs PostgreSQL (this run is on embedded PGlite)"]));
    return results;
  }
  if (selected("peer")) results.peer = await againstPeer(benchKit(), dbName);
  if (selected("cpu")) results.cpu = await cpuPerRequest(benchKit(), byIdId);
  if (selected("workers")) results.workers = await workers(endpoints);
  return results;
}

/** Spawn to a ready answer of the built service (3 starts, median), and both processes' RSS a second after start. */
async function startup(): Promise<NonNullable<BenchResults["startup"]>> {
  const readyMs: number[] = [];
  let serviceIdleRssBytes = 0;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const running = await start("service", "");
    readyMs.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 1000));
    serviceIdleRssBytes = rssOf(running.pid);
    await running.stop();
  }
  const baseline = await start("baseline", capturedFile);
  await new Promise((r) => setTimeout(r, 1000));
  const baselineIdleRssBytes = rssOf(baseline.pid);
  await baseline.stop();
  const medianReadyMs = [...readyMs].sort((a, b) => a - b)[1]!;
  log(`startup: ready in ${readyMs.map((ms) => ms.toFixed(0)).join(", ")} ms; idle RSS service ${(serviceIdleRssBytes / 2 ** 20).toFixed(0)} MiB, baseline ${(baselineIdleRssBytes / 2 ** 20).toFixed(0)} MiB`);
  return { readyMs, medianReadyMs, serviceIdleRssBytes, baselineIdleRssBytes };
}

async function median(times: number, work: () => Promise<unknown>): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < times; i++) {
    const t0 = process.hrtime.bigint();
    await work();
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return samples.sort((a, b) => a - b)[Math.floor(times / 2)]!;
}

async function scale(): Promise<ScaleRow[]> {
  const rows: ScaleRow[] = [];
  let seeded = 0;
  for (const size of SCALE_SIZES) {
    const sql = await openSql();
    const t0 = Date.now();
    await seed(sql, SCALE_ORG, seeded + 1, size);
    seeded = size;
    log(`scale: ${size} features in one organization (seeded in ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    // The count strategy's numbers, measured on SQL alone (median of 5).
    const where = `organization_id = $1 AND deleted_at IS NULL`;
    const exactCount = await median(5, () => sql.query(`SELECT count(*) FROM features WHERE ${where}`, [SCALE_ORG]));
    const boundedCount = await median(5, () =>
      sql.query(`SELECT count(*)::int AS n FROM (SELECT 1 FROM features WHERE ${where} LIMIT $2) AS bounded`, [SCALE_ORG, EXACT_COUNT_LIMIT + 1]),
    );
    const estimateRows = await sql.query<{ "QUERY PLAN": [{ Plan: { "Plan Rows": number } }] | string }>(
      `EXPLAIN (FORMAT JSON) SELECT 1 FROM features WHERE ${where}`,
      [SCALE_ORG],
    );
    const planCell = estimateRows[0]!["QUERY PLAN"];
    const plan = (typeof planCell === "string" ? JSON.parse(planCell) : planCell) as [{ Plan: { "Plan Rows": number } }];
    const estimateMs = await median(5, () => sql.query(`EXPLAIN (FORMAT JSON) SELECT 1 FROM features WHERE ${where}`, [SCALE_ORG]));
    // The cursor of the feature in the middle of the organization: a page deep into the infinite list.
    const [middle] = await sql.query<{ id: string; created_at: Date }>(
      `SELECT id, created_at FROM features WHERE organization_id = $1 AND deleted_at IS NULL ORDER BY created_at DESC, id DESC OFFSET $2 LIMIT 1`,
      [SCALE_ORG, Math.floor(size / 2)],
    );
    // The same position under a sort by name (issue 18: every sortable field has its index).
    const [middleByName] = await sql.query<{ id: string; name: string }>(
      `SELECT id, name FROM features WHERE organization_id = $1 AND deleted_at IS NULL ORDER BY name ASC, id ASC OFFSET $2 LIMIT 1`,
      [SCALE_ORG, Math.floor(size / 2)],
    );
    await sql.close();
    const deepCursor = `${middle!.created_at.toISOString()}_${middle!.id}`;
    const deepNameCursor = cursorOf({ field: "name", direction: "asc", value: middleByName!.name, id: middleByName!.id });

    const running = await start("service", "");
    const measures: [string, string][] = [
      ["page1", query("features.list", { page: 1, limit: 20 })],
      ["page1Status", query("features.list", { page: 1, limit: 20, status: "INACTIVE" })],
      ["search", query("features.list", { page: 1, limit: 20, search: SEARCH_TERM })],
      ["deepPage", query("features.list", { page: 250, limit: 20 })],
      ["infiniteFirst", query("features.infinite", { limit: 20 })],
      ["infiniteDeep", query("features.infinite", { limit: 20, cursor: deepCursor })],
      ["sortedName", query("features.list", { page: 1, limit: 20, sort: { field: "name", direction: "asc" } })],
      ["sortedUpdated", query("features.list", { page: 1, limit: 20, sort: { field: "updatedAt", direction: "desc" } })],
      ["sortedNameDeep", query("features.infinite", { limit: 20, sort: { field: "name", direction: "asc" }, cursor: deepNameCursor })],
    ];
    const row: ScaleRow = {
      size,
      sql: { exactCountMs: exactCount, boundedCountMs: boundedCount, estimateMs, estimate: Math.round(plan[0].Plan["Plan Rows"]) },
      http: {},
      total: { value: 0, estimate: false },
    };
    for (const [key, urlPath] of measures) {
      const result = await drive<{ p50: number; p99: number; mean: number; requests: number; errors: number }>(
        "latency.mjs",
        { url: running.url + urlPath, headers: { authorization: `Bearer ${scaleToken}` }, warmup: SCALE_WARMUP_S, duration: SCALE_DURATION_S },
        running.pid,
      );
      row.http[key] = { p50: result.p50, p99: result.p99, errors: result.errors, requests: result.requests };
      log(`scale ${size} ${key.padEnd(13)} p50 ${result.p50.toFixed(2)} ms, p99 ${result.p99.toFixed(2)} ms, errors ${result.errors}`);
    }
    const page1 = (await (await fetch(running.url + measures[0]![1], { headers: { authorization: `Bearer ${scaleToken}` } })).json()) as {
      result: { data: { pagination: { total: number; totalIsEstimate: boolean } } };
    };
    row.total = { value: page1.result.data.pagination.total, estimate: page1.result.data.pagination.totalIsEstimate };
    await running.stop();
    rows.push(row);
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------------

// `npm run bench -- --live`: the live-updates benchmark alone (PostgreSQL; see bench/live.ts).
if (flags.has("--live")) {
  await mkdir(outDir, { recursive: true });
  await writeLiveReport(outDir, await liveBench(adminUrl, log));
  log(`done: ${path.relative(root, outDir)}/live.md`);
  process.exit(0);
}

log(`${only ? `BENCH_ONLY=${[...only].join(",")}` : quick ? "quick" : "full"} run on ${embedded ? "embedded PGlite" : `PostgreSQL (${new URL(adminUrl).host})`}; results to ${path.relative(root, outDir)}/`);
// The FastAPI service is part of the targets: a run that would leave it out stops here, before any work.
if (!embedded && !flags.has("--levers") && (!only || only.has("peer"))) {
  const missing = peerUnavailable(root);
  if (missing) {
    console.error(`bench: cannot run the FastAPI service beside the service: ${missing}`);
    process.exit(1);
  }
}
if (embedded && only) throw new Error("BENCH_ONLY's sections need PostgreSQL: run them without --embedded");
log("building the server (npm run build:server)");
const build = spawnSync("npm", ["run", "-s", "build:server"], { cwd: root, stdio: "inherit" });
if (build.status !== 0) throw new Error("npm run build:server failed");

await mkdir(outDir, { recursive: true });
const capturedFile = path.join(outDir, "captured-sql.json");
try {
  await createDatabase();
  const sql = await openSql();
  await seed(sql, BENCH_ORG, 1, BENCH_ORG_ROWS);
  const [byIdRow] = await sql.query<{ id: string }>(`SELECT id FROM features WHERE organization_id = $1 AND name LIKE 'Feature 2500 %'`, [BENCH_ORG]);
  const endpoints = endpointsFor(byIdRow!.id);
  const captured = await captureSql(sql, endpoints);
  await sql.close();
  await writeFile(capturedFile, JSON.stringify({ note: "the statements the kit sends for each benchmark request, recorded by its statement runner", endpoints: captured }, null, 2));
  log(`captured ${captured.reduce((n, e) => n + e.statements.length, 0)} statements the kit sends`);

  if (only) {
    // BENCH_ONLY: those of issue 22's sections alone, to bench/results/custom/.
    const partial = await comparisons(endpoints, byIdRow!.id);
    await writeComparisonReport(outDir, {
      date: new Date().toISOString(),
      mode: { quick, embedded },
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? "", memoryBytes: os.totalmem(), node: process.version },
      settings: { only: [...only].join(","), warmupSeconds: WARMUP_S, durationSeconds: DURATION_S, poolSize: POOL_SIZE, benchOrgRows: BENCH_ORG_ROWS },
      ...partial,
      elapsedSeconds: (Date.now() - started) / 1000,
    });
    log(`done: ${path.relative(root, outDir)}/summary.md`);
  } else if (flags.has("--pgbouncer")) {
    // `npm run bench -- --pgbouncer`: only the direct vs PgBouncer comparison, printed (nothing written).
    if (embedded) throw new Error("--pgbouncer needs PostgreSQL (not --embedded)");
    console.log(JSON.stringify(await behindPgBouncer(endpoints), null, 2));
  } else if (flags.has("--levers")) {
    // `npm run bench -- --levers`: only the levers' comparison, printed (nothing written).
    console.log(JSON.stringify(await levers(endpoints), null, 2));
  } else {
    const startupResults = await startup();
    const load = await throughput(endpoints, capturedFile);
    const observabilityResults = await observability(endpoints);
    const leverResults = await levers(endpoints);
    // PgBouncer pools connections to a PostgreSQL server: not part of the embedded run.
    const pgbouncerResults = embedded ? undefined : await behindPgBouncer(endpoints);
    // Before the scale part, which adds a million rows to the table the peer's seed mirrors.
    const comparisonResults = await comparisons(endpoints, byIdRow!.id);
    const scaleRows = await scale();
    const results: BenchResults = {
      date: new Date().toISOString(),
      mode: { quick, embedded },
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? "", memoryBytes: os.totalmem(), node: process.version },
      settings: { connections: CONNECTIONS, warmupSeconds: WARMUP_S, durationSeconds: DURATION_S, poolSize: POOL_SIZE, benchOrgRows: BENCH_ORG_ROWS, searchTerm: SEARCH_TERM, exactCountLimit: EXACT_COUNT_LIMIT },
      load,
      observability: observabilityResults,
      levers: leverResults,
      ...(pgbouncerResults && { pgbouncer: pgbouncerResults }),
      ...comparisonResults,
      startup: startupResults,
      scale: scaleRows,
      captured,
      elapsedSeconds: (Date.now() - started) / 1000,
    };
    await writeReport(outDir, results);
    // Live updates need PostgreSQL (LISTEN/NOTIFY across processes): not part of the embedded run.
    if (!embedded) await writeLiveReport(outDir, await liveBench(adminUrl, log));
    log(`done in ${results.elapsedSeconds.toFixed(0)} s: ${path.relative(root, outDir)}/summary.md`);
  }
} finally {
  await dropDatabase().catch((error: unknown) => console.error("could not drop the benchmark database:", error));
}
// Read back once so a broken file fails the run, not the reader (--levers writes none).
if ((!flags.has("--levers") && !flags.has("--pgbouncer")) || only) JSON.parse(await readFile(path.join(outDir, "results.json"), "utf8"));
