/**
 * Issue 22's comparisons, run by bench/run.ts: the service against the FastAPI service it replaces (the
 * "peer", /work/shared/peers/fastapi_seed: its own database on the same PostgreSQL, seeded with the same
 * rows, the same load), and the CPU per request of the service process beside the raw baseline's and a bare
 * Express + tRPC + Prisma app's (bench/bare-app.ts). One target under load at a time.
 *
 * Everything here gets what it needs from run.ts through `BenchKit`, so that run.ts keeps its own sections.
 */
import { spawn, spawnSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { signAccessToken } from "../server/auth/token.js";
import { freePort } from "../scripts/support/throwaway-postgres.js";
import { cpuSecondsOf } from "./proc-stat.js";
import type { CpuResults, MeasuredLoad, PeerResults } from "./report.js";

/** A process the benchmark started and stops. */
export interface Running {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export interface BenchKit {
  root: string;
  log(message: string): void;
  /** The PostgreSQL server's admin URL (databases are created and dropped through it). */
  adminUrl: string;
  /** The service's database (already migrated and seeded with the bench organization). */
  databaseUrl: string;
  secret: string;
  poolSize: number;
  warmupSeconds: number;
  durationSeconds: number;
  benchOrg: string;
  benchOrgRows: number;
  /** The name every create sends (run.ts removes the service's created rows by it). */
  createdName: string;
  /** A token of the bench organization, valid for the whole run. */
  token: string;
  /** Starts the built service with its benchmark settings (one process, unless `env` says otherwise). */
  startService(env?: NodeJS.ProcessEnv): Promise<Running>;
  /** Starts the raw baseline (bench/baseline.mjs) on the service's database. */
  startBaseline(): Promise<Running>;
  /** Seeds rows `from`..`to` of an organization in the service's database (run.ts's seed). */
  seedService(org: string, from: number, to: number): Promise<void>;
  /** Removes what the service's creates added (and the bench organization's change events). */
  removeCreated(): Promise<void>;
}

const CONNECTIONS = 32;
/** The organization whose rows the deletes remove: the reads' organization keeps its rows. */
const DELETE_ORG = "bench-delete-org";
/** Ids provisioned per delete run: (warm-up + measured seconds) x this rate, far above any delete rate seen. */
const DELETE_RATE_CEILING = 4_000;
const UPDATED_DESCRIPTION = "Bench updated {n}";

// ---------------------------------------------------------------------------------------------------
// A load run with the target's CPU time around its measured part.

type LoadSpec = {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string | undefined;
  idsFile?: string | undefined;
  cycle?: boolean;
};

/**
 * Runs bench/load.mjs against one target, reading the target's CPU time (utime + stime of `pid`) when the
 * generator says its measured run starts and when its result arrives: the warm-up is not counted.
 */
export async function measuredLoad(kit: BenchKit, spec: LoadSpec, pid: number): Promise<Omit<MeasuredLoad, "target" | "api" | "endpoint" | "label">> {
  const child = spawn(
    process.execPath,
    [path.join(kit.root, "bench/load.mjs"), JSON.stringify({ ...spec, connections: CONNECTIONS, warmup: kit.warmupSeconds, duration: kit.durationSeconds, markMeasure: true })],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  let cpuAtStart: number | undefined;
  let cpuAtEnd: number | undefined;
  let result: string | undefined;
  let pending = "";
  child.stdout.on("data", (chunk: Buffer) => {
    pending += chunk.toString();
    let newline: number;
    while ((newline = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, newline).trim();
      pending = pending.slice(newline + 1);
      if (line === '{"phase":"measure"}') cpuAtStart = cpuSecondsOf(pid);
      else if (line) {
        cpuAtEnd = cpuSecondsOf(pid);
        result = line;
      }
    }
  });
  const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
  if (code !== 0 || result === undefined || cpuAtStart === undefined || cpuAtEnd === undefined) throw new Error(`bench/load.mjs exited with ${code} (${spec.method} ${spec.url})`);
  const load = JSON.parse(result) as { requestsPerSec: number; latencyP50: number; latencyP99: number; requests: number; errors: number; non2xx: number; idsWrapped?: boolean };
  const cpuSeconds = cpuAtEnd - cpuAtStart;
  return {
    connections: CONNECTIONS,
    requestsPerSec: load.requestsPerSec,
    latencyP50: load.latencyP50,
    latencyP99: load.latencyP99,
    requests: load.requests,
    errors: load.errors,
    non2xx: load.non2xx,
    cpuSeconds,
    cpuPerRequestUs: load.requests > 0 ? (cpuSeconds / load.requests) * 1e6 : Number.NaN,
    ...(load.idsWrapped !== undefined && { idsWrapped: load.idsWrapped }),
  };
}

function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
    });
}

async function waitForAnswer(url: string, child: ChildProcess, what: string) {
  const until = Date.now() + 60_000;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode} before it answered`);
    if (await fetch(url).then((r) => r.status < 500, () => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not answer ${url} within 60 s`);
}

async function query<T>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}

async function writeIds(dir: string, name: string, ids: string[]): Promise<string> {
  const file = path.join(dir, `${name}.json`);
  await writeFile(file, JSON.stringify(ids));
  return file;
}

// ---------------------------------------------------------------------------------------------------
// The FastAPI peer.

/** Debian's Python and the modules the peer imports, each from the Debian package `python3-<module>`. */
const PEER_PYTHON = "/usr/bin/python3";
const PEER_MODULES = ["fastapi", "uvicorn", "sqlalchemy", "asyncpg", "jose", "httptools", "uvloop"];
export const PEER_INSTALL = `apt-get update && apt-get install -y ${PEER_MODULES.map((m) => `python3-${m}`).join(" ")}`;

/** Where the peer's app.py is: BENCH_PEER_DIR, or the shared folder beside the project's root. */
export function peerDirectory(root: string): string {
  return process.env.BENCH_PEER_DIR ?? path.resolve(root, "../shared/peers/fastapi_seed");
}

/** Why the peer cannot run here (a sentence saying what to do), or undefined when it can. */
export function peerUnavailable(root: string): string | undefined {
  const dir = peerDirectory(root);
  if (!existsSync(path.join(dir, "app.py"))) return `the FastAPI service's app.py is not in ${dir} (set BENCH_PEER_DIR to its folder)`;
  if (!existsSync(PEER_PYTHON)) return `${PEER_PYTHON} is missing; install Debian's Python and the peer's packages: ${PEER_INSTALL}`;
  const probe = spawnSync(
    PEER_PYTHON,
    ["-c", `import importlib.util; print(" ".join(m for m in ${JSON.stringify(PEER_MODULES)} if importlib.util.find_spec(m) is None))`],
    { encoding: "utf8" },
  );
  if (probe.status !== 0) return `${PEER_PYTHON} failed (${probe.stderr.trim()}); the peer needs: ${PEER_INSTALL}`;
  const missing = probe.stdout.trim();
  return missing ? `the FastAPI service needs Python modules that are not installed (${missing}); install them with: ${PEER_INSTALL}` : undefined;
}

function peerVersions(): string {
  const probe = spawnSync(PEER_PYTHON, ["-c", "import sys, fastapi, uvicorn, sqlalchemy, asyncpg; print(f'Python {sys.version.split()[0]}, FastAPI {fastapi.__version__}, uvicorn {uvicorn.__version__}, SQLAlchemy {sqlalchemy.__version__}, asyncpg {asyncpg.__version__}')"], {
    encoding: "utf8",
  });
  return probe.stdout.trim();
}

/** The peer's database URL for SQLAlchemy's asyncpg driver, and for pg. */
function peerUrls(adminUrl: string, name: string) {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { pg: url.toString(), sqlalchemy: url.toString().replace(/^postgres(ql)?:/, "postgresql+asyncpg:") };
}

/** uvicorn with one worker, as the peer was deployed; it creates its tables on start. */
async function startPeer(kit: BenchKit, sqlalchemyUrl: string): Promise<Running> {
  const port = await freePort();
  const child = spawn(PEER_PYTHON, ["-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port", String(port), "--workers", "1", "--log-level", "warning"], {
    cwd: peerDirectory(kit.root),
    // The shared folder is read-only: no bytecode cache written there.
    env: { ...process.env, DATABASE_URL: sqlalchemyUrl, SECRET_KEY: kit.secret, PYTHONDONTWRITEBYTECODE: "1" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForAnswer(`${url}/health`, child, "the FastAPI service");
  return { url, pid: child.pid!, stop: stopper(child) };
}

/** The service's seed, in the peer's own tables (text ids, its enum type, timestamps without time zone). */
async function seedPeer(url: string, org: string, from: number, to: number) {
  await query(url, `INSERT INTO organizations (id) VALUES ($1) ON CONFLICT DO NOTHING`, [org]);
  for (let start = from; start <= to; start += 100_000) {
    const end = Math.min(to, start + 99_999);
    await query(
      url,
      `INSERT INTO features (id, organization_id, name, description, status, created_at, updated_at)
       SELECT gen_random_uuid()::text, $1, 'Feature ' || i || ' ' || left(md5(i::text), 8), 'Seeded by the benchmark',
              (CASE WHEN i % 10 = 0 THEN 'INACTIVE' ELSE 'ACTIVE' END)::featurestatus, ts, ts
       FROM generate_series($2::int, $3::int) AS i,
            LATERAL (SELECT timestamp '2025-01-01' + i * interval '1 second' AS ts) AS t`,
      [org, start, end],
    );
  }
  await query(url, "VACUUM ANALYZE features");
}

interface Endpoint {
  key: MeasuredLoad["endpoint"];
  api: MeasuredLoad["api"];
  label: string;
  method: string;
  path: string;
  body?: string;
  /** Which ids the requests go through: the bench organization's rows (cycled), or the deletes' own. */
  ids?: "rows" | "deletes";
}

const trpcQuery = (procedure: string, input: object) => `/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify(input))}`;

/** The same five operations over tRPC and REST (the service) and REST (the peer: the same routes and bodies). */
function operations(readId: string, createdName: string): Record<MeasuredLoad["endpoint"], { trpc: Endpoint; rest: Endpoint }> {
  const rest = (key: MeasuredLoad["endpoint"], label: string, method: string, path: string, body?: object, ids?: Endpoint["ids"]): Endpoint => ({
    key,
    api: "rest",
    label,
    method,
    path,
    ...(body && { body: JSON.stringify(body) }),
    ...(ids && { ids }),
  });
  const trpc = (key: MeasuredLoad["endpoint"], procedure: string, body?: object, ids?: Endpoint["ids"]): Endpoint => ({
    key,
    api: "trpc",
    label: `features.${procedure}`,
    method: body ? "POST" : "GET",
    path: body ? `/trpc/features.${procedure}` : "",
    ...(body && { body: JSON.stringify(body) }),
    ...(ids && { ids }),
  });
  return {
    list: { trpc: { ...trpc("list", "list"), path: trpcQuery("features.list", { page: 1, limit: 20 }) }, rest: rest("list", "GET /api/v1/features?page=1&limit=20", "GET", "/api/v1/features?page=1&limit=20") },
    byId: { trpc: { ...trpc("byId", "byId"), path: trpcQuery("features.byId", { id: readId }) }, rest: rest("byId", "GET /api/v1/features/{id}", "GET", "/api/v1/features/{readId}") },
    create: { trpc: trpc("create", "create", { name: createdName }), rest: rest("create", "POST /api/v1/features", "POST", "/api/v1/features", { name: createdName }) },
    update: {
      trpc: trpc("update", "update", { id: "{id}", data: { description: UPDATED_DESCRIPTION } }, "rows"),
      rest: rest("update", "PUT /api/v1/features/{id}", "PUT", "/api/v1/features/{id}", { description: UPDATED_DESCRIPTION }, "rows"),
    },
    delete: { trpc: trpc("delete", "delete", { id: "{id}" }, "deletes"), rest: rest("delete", "DELETE /api/v1/features/{id}", "DELETE", "/api/v1/features/{id}", undefined, "deletes") },
  };
}

/**
 * The service (tRPC and REST) and the peer (REST) under the same load, endpoint by endpoint: list, read by
 * id, create, update (PUT), delete, at 32 connections, the service first, then the peer. Both databases
 * hold the same rows: the bench organization's (updates go through them in turn, one organization's
 * writes), and, from just before the deletes on, an organization of rows to delete (a request per row).
 * Afterwards the service's database is as before (run.ts's later sections read it).
 */
export async function againstPeer(kit: BenchKit, dbName: string): Promise<PeerResults> {
  const urls = peerUrls(kit.adminUrl, `${dbName}_peer`);
  const tmp = await mkdtemp(path.join(os.tmpdir(), "kuark-bench-ids-"));
  const deleteToken = signAccessToken({ sub: "bench-user", organizationId: DELETE_ORG, minutes: 600 }, kit.secret);
  const deleteBudget = Math.ceil((kit.warmupSeconds + kit.durationSeconds) * DELETE_RATE_CEILING);
  await query(kit.adminUrl, `CREATE DATABASE "${dbName}_peer"`);
  let peer: Running | undefined;
  let service: Running | undefined;
  let failed = true;
  try {
    peer = await startPeer(kit, urls.sqlalchemy);
    await seedPeer(urls.pg, kit.benchOrg, 1, kit.benchOrgRows);
    kit.log(`peer: the FastAPI service up (pid ${peer.pid}), ${kit.benchOrgRows} features seeded in its database ${dbName}_peer`);
    service = await kit.startService();

    const rowsOf = async (url: string, org: string) =>
      (await query<{ id: string }>(url, `SELECT id::text AS id FROM features WHERE organization_id = $1 AND deleted_at IS NULL ORDER BY created_at, id`, [org])).map((r) => r.id);
    const readIdOf = async (url: string) =>
      (await query<{ id: string }>(url, `SELECT id::text AS id FROM features WHERE organization_id = $1 AND name LIKE 'Feature 2500 %'`, [kit.benchOrg]))[0]!.id;
    const sides = {
      service: { running: service, db: kit.databaseUrl, readId: await readIdOf(kit.databaseUrl), rowsFile: await writeIds(tmp, "service-rows", await rowsOf(kit.databaseUrl, kit.benchOrg)) },
      peer: { running: peer, db: urls.pg, readId: await readIdOf(urls.pg), rowsFile: await writeIds(tmp, "peer-rows", await rowsOf(urls.pg, kit.benchOrg)) },
    };
    const deleteFiles = { service: [] as string[], peer: [] as string[] };

    const runs: MeasuredLoad[] = [];
    const order: MeasuredLoad["endpoint"][] = ["list", "byId", "create", "update", "delete"];
    for (const key of order) {
      if (key === "delete") {
        // Two runs' worth of rows in each database (the service deletes over tRPC and over REST).
        await kit.seedService(DELETE_ORG, 1, 2 * deleteBudget);
        await seedPeer(urls.pg, DELETE_ORG, 1, 2 * deleteBudget);
        for (const side of ["service", "peer"] as const) {
          const ids = await rowsOf(sides[side].db, DELETE_ORG);
          deleteFiles[side] = [await writeIds(tmp, `${side}-deletes-0`, ids.slice(0, deleteBudget)), await writeIds(tmp, `${side}-deletes-1`, ids.slice(deleteBudget))];
        }
        kit.log(`peer: ${2 * deleteBudget} rows to delete seeded in organization ${DELETE_ORG} of each database`);
      }
      const plan: { target: "service" | "peer"; endpoint: Endpoint }[] = [
        { target: "service", endpoint: operations(sides.service.readId, kit.createdName)[key].trpc },
        { target: "service", endpoint: operations(sides.service.readId, kit.createdName)[key].rest },
        { target: "peer", endpoint: operations(sides.peer.readId, kit.createdName)[key].rest },
      ];
      let deleteSlice = 0;
      for (const { target, endpoint } of plan) {
        const side = sides[target];
        const idsFile = endpoint.ids === "rows" ? side.rowsFile : endpoint.ids === "deletes" ? deleteFiles[target][target === "service" ? deleteSlice++ : 0] : undefined;
        const result = await measuredLoad(
          kit,
          {
            url: side.running.url + endpoint.path.replace("{readId}", side.readId),
            method: endpoint.method,
            headers: { authorization: `Bearer ${endpoint.ids === "deletes" ? deleteToken : kit.token}`, ...(endpoint.body && { "content-type": "application/json" }) },
            body: endpoint.body,
            idsFile,
            cycle: endpoint.ids === "rows",
          },
          side.running.pid,
        );
        runs.push({ target, api: endpoint.api, endpoint: key, label: endpoint.label, ...result });
        kit.log(
          `peer ${target.padEnd(7)} ${endpoint.api.padEnd(4)} ${key.padEnd(6)} c=${CONNECTIONS}: ${result.requestsPerSec.toFixed(0).padStart(6)} req/s, p50 ${result.latencyP50} ms, p99 ${result.latencyP99} ms, ` +
            `CPU ${result.cpuPerRequestUs.toFixed(0)} µs/request, errors ${result.errors}${result.idsWrapped ? " (ran out of ids: raise DELETE_RATE_CEILING)" : ""}`,
        );
      }
    }
    failed = false;
    return { connections: CONNECTIONS, peer: peerVersions(), benchOrgRows: kit.benchOrgRows, deleteRowsPerDatabase: 2 * deleteBudget, runs };
  } finally {
    await service?.stop();
    await peer?.stop();
    await rm(tmp, { recursive: true, force: true });
    await query(kit.adminUrl, `DROP DATABASE IF EXISTS "${dbName}_peer" WITH (FORCE)`).catch((error: unknown) => console.error("could not drop the peer's database:", error));
    // After a failure, the failure is what the run reports.
    await restoreServiceDatabase(kit).catch((error: unknown) => {
      if (!failed) throw error;
      console.error("could not restore the service's database:", error);
    });
  }
}

/** The service's database as the other sections expect it: the bench organization's rows as seeded, nothing else. */
async function restoreServiceDatabase(kit: BenchKit) {
  await query(kit.databaseUrl, `DELETE FROM change_events WHERE organization_id = $1`, [DELETE_ORG]);
  await query(kit.databaseUrl, `DELETE FROM organizations WHERE id = $1`, [DELETE_ORG]);
  await query(kit.databaseUrl, `UPDATE features SET description = 'Seeded by the benchmark', updated_by_id = 'bench', updated_at = created_at WHERE organization_id = $1 AND description LIKE 'Bench updated %'`, [kit.benchOrg]);
  await kit.removeCreated();
  const [left] = await query<{ rows: number; updated: number; deletes: number }>(
    kit.databaseUrl,
    `SELECT count(*) FILTER (WHERE organization_id = $1)::int AS rows, count(*) FILTER (WHERE description LIKE 'Bench updated %')::int AS updated,
            count(*) FILTER (WHERE organization_id = $2)::int AS deletes FROM features`,
    [kit.benchOrg, DELETE_ORG],
  );
  if (left?.rows !== kit.benchOrgRows || left.updated !== 0 || left.deletes !== 0) throw new Error(`the service's database was not restored after the peer's comparison: ${JSON.stringify(left)}`);
}

// ---------------------------------------------------------------------------------------------------
// CPU per request.

/** bench/bare-app.ts, run with tsx as the service is in development. */
async function startBare(kit: BenchKit): Promise<Running> {
  const port = await freePort();
  const child = spawn(process.execPath, ["--import", "tsx", path.join(kit.root, "bench/bare-app.ts")], {
    cwd: kit.root,
    env: { ...process.env, NODE_ENV: "production", PORT: String(port), DATABASE_URL: kit.databaseUrl, DATABASE_POOL_SIZE: String(kit.poolSize), SECRET_KEY: kit.secret },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForAnswer(`${url}/`, child, "bench/bare-app.ts");
  return { url, pid: child.pid!, stop: stopper(child) };
}

/**
 * CPU seconds of each target's process (utime + stime from /proc/<pid>/stat) over the measured run, per
 * request completed: the raw baseline, the bare stack, the service, for `features.byId` and
 * `features.list` (the same tRPC requests to all three), at 32 connections, one target at a time.
 */
export async function cpuPerRequest(kit: BenchKit, readId: string): Promise<CpuResults> {
  const requests = [
    { endpoint: "byId" as const, label: "features.byId", path: trpcQuery("features.byId", { id: readId }) },
    { endpoint: "list" as const, label: "features.list page 1", path: trpcQuery("features.list", { page: 1, limit: 20 }) },
  ];
  const targets: [MeasuredLoad["target"], () => Promise<Running>][] = [
    ["baseline", () => kit.startBaseline()],
    ["bare", () => startBare(kit)],
    ["service", () => kit.startService()],
  ];
  const runs: MeasuredLoad[] = [];
  for (const [target, start] of targets) {
    const running = await start();
    try {
      for (const request of requests) {
        const result = await measuredLoad(kit, { url: running.url + request.path, method: "GET", headers: { authorization: `Bearer ${kit.token}` } }, running.pid);
        runs.push({ target, api: "trpc", endpoint: request.endpoint, label: request.label, ...result });
        kit.log(`cpu ${target.padEnd(8)} ${request.endpoint.padEnd(5)} c=${CONNECTIONS}: ${result.requestsPerSec.toFixed(0).padStart(6)} req/s, CPU ${result.cpuPerRequestUs.toFixed(0)} µs/request (${result.cpuSeconds.toFixed(2)} s for ${result.requests}), errors ${result.errors}`);
      }
    } finally {
      await running.stop();
    }
  }
  return { connections: CONNECTIONS, runs };
}
