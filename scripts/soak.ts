/**
 * `npm run soak -- [--minutes 5] [--concurrency 16] [--orgs 5] [--embedded] [--max-requests N]`
 *
 * Runs the service as users run it (a child process) on a fresh database of its own (the local
 * PostgreSQL, or embedded PGlite with --embedded) and drives mixed reads and writes from several
 * organizations over loopback, bounded in time and in requests. Reports errors, p99 latency and RSS over
 * time, then checks that every acknowledged write is stored and that no organization sees another's
 * rows. Writes bench/results/soak.json and soak.md; exits non-zero on any error, loss or leak.
 */
import { spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { signAccessToken } from "../server/auth/token.js";
import { openEmbedded } from "../server/db/database.js";
import { applyMigrations } from "../server/db/schema-engine.js";
import { createThrowawayDatabase, freePort } from "./support/throwaway-postgres.js";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "5" },
    concurrency: { type: "string", default: "16" },
    orgs: { type: "string", default: "5" },
    "max-requests": { type: "string", default: "5000000" },
    embedded: { type: "boolean", default: false },
    "database-url": { type: "string", default: process.env.SOAK_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres" },
    out: { type: "string", default: "bench/results" },
  },
});
const minutes = Number(values.minutes);
const concurrency = Number(values.concurrency);
const orgCount = Number(values.orgs);
const maxRequests = Number(values["max-requests"]);
if (![minutes, concurrency, orgCount, maxRequests].every((n) => Number.isFinite(n) && n > 0)) {
  console.error("usage: npm run soak -- [--minutes 5] [--concurrency 16] [--orgs 5] [--max-requests N] [--embedded]");
  process.exit(2);
}
const durationMs = minutes * 60_000;
const SECRET = randomBytes(24).toString("hex");
const root = path.resolve(import.meta.dirname, "..");

// ---------- database of its own ----------
interface SoakDatabase {
  env: NodeJS.ProcessEnv;
  label: string;
  /** id -> { organizationId, deleted } of the given ids, read straight from the database. */
  rows(ids: string[]): Promise<Map<string, { organizationId: string; deleted: boolean }>>;
  drop(): Promise<void>;
}

async function createDatabase(): Promise<SoakDatabase> {
  if (values.embedded) {
    const dir = await mkdtemp(path.join(tmpdir(), "kuark-soak-"));
    return {
      env: { PGLITE_DATA_DIR: dir },
      label: "embedded PGlite",
      async rows(ids) {
        const db = await openEmbedded(dir);
        const found = await db.prisma.feature.findMany({ where: { id: { in: ids } }, select: { id: true, organizationId: true, deletedAt: true } });
        await db.close();
        return new Map(found.map((r) => [r.id, { organizationId: r.organizationId, deleted: r.deletedAt !== null }]));
      },
      drop: () => rm(dir, { recursive: true, force: true }),
    };
  }
  const database = await createThrowawayDatabase(values["database-url"], "kuark_soak");
  const url = database.url;
  await applyMigrations(new PrismaPg({ connectionString: url }));
  return {
    env: { DATABASE_URL: url },
    label: "PostgreSQL (local server)",
    async rows(ids) {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      const { rows } = await c.query<{ id: string; organization_id: string; deleted: boolean }>(
        "SELECT id::text, organization_id, deleted_at IS NOT NULL AS deleted FROM features WHERE id = ANY($1::uuid[])",
        [ids],
      );
      await c.end();
      return new Map(rows.map((r) => [r.id, { organizationId: r.organization_id, deleted: r.deleted }]));
    },
    drop: () => database.drop(),
  };
}

async function rssKb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  return Number(status.match(/VmRSS:\s+(\d+)/)?.[1] ?? 0);
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

// ---------- run ----------
const database = await createDatabase();
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const child = spawn(process.execPath, ["--import", "tsx", "server/main.ts"], {
  cwd: root,
  env: {
    ...process.env,
    ...database.env,
    PORT: String(port),
    HOST: "127.0.0.1",
    SECRET_KEY: SECRET,
    NODE_ENV: "production",
    LOG_LEVEL: "warn",
    RATE_LIMIT_PER_IP: "0",
    RATE_LIMIT_PER_ORG: "0",
  },
  stdio: ["ignore", "ignore", "inherit"],
});
const childExit = new Promise<number | null>((resolve) => child.once("exit", resolve));
for (let i = 0; ; i++) {
  if (i > 300) throw new Error("service did not become ready in 60 s");
  const ok = await fetch(`${base}/health/ready`).then((r) => r.ok, () => false);
  if (ok) break;
  await new Promise((r) => setTimeout(r, 200));
}
console.log(`soak: ${minutes} min, ${concurrency} connections, ${orgCount} organizations, ${database.label}, service pid ${child.pid}`);

const orgs = Array.from({ length: orgCount }, (_, i) => {
  const id = `soak-org-${i}-${randomUUID().slice(0, 8)}`;
  const token = signAccessToken({ sub: `soak-user-${i}`, organizationId: id, minutes: minutes + 30 }, SECRET);
  return { id, token, live: new Set<string>(), deleted: new Set<string>() };
});

interface Interval {
  atSeconds: number;
  requests: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  rssMb: number;
}
const intervals: Interval[] = [];
const errorSamples: string[] = [];
let requests = 0;
let errors = 0;
let window: number[] = [];
let windowErrors = 0;
const started = performance.now();
const deadline = started + durationMs;

const pick = <T>(items: T[]): T => items[Math.floor(Math.random() * items.length)]!;

async function call(org: (typeof orgs)[number], procedure: string, input: unknown, mutation: boolean): Promise<unknown> {
  const headers = { authorization: `Bearer ${org.token}`, "content-type": "application/json" };
  const t = performance.now();
  let res: Response;
  try {
    res = mutation
      ? await fetch(`${base}/trpc/${procedure}`, { method: "POST", headers, body: JSON.stringify(input) })
      : await fetch(`${base}/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify(input))}`, { headers });
  } catch (error) {
    requests++;
    errors++;
    windowErrors++;
    if (errorSamples.length < 20) errorSamples.push(`${procedure}: ${(error as Error).message}`);
    return undefined;
  }
  const body = (await res.json()) as { result?: { data: unknown }; error?: unknown };
  window.push(performance.now() - t);
  requests++;
  if (!res.ok || !body.result) {
    errors++;
    windowErrors++;
    if (errorSamples.length < 20) errorSamples.push(`${procedure} ${res.status}: ${JSON.stringify(body.error).slice(0, 300)}`);
    return undefined;
  }
  return body.result.data;
}

type Lane = (typeof orgs)[number];

/** One connection's loop. Each lane owns the rows it creates, so its deletes never race its own reads. */
async function worker(org: Lane) {
  while (performance.now() < deadline && requests < maxRequests) {
    const roll = Math.random();
    const live = [...org.live];
    if (roll < 0.3 || live.length < 5) {
      const created = (await call(org, "features.create", { name: `soak ${randomUUID().slice(0, 13)}`, status: pick(["ACTIVE", "INACTIVE"]) }, true)) as { id: string } | undefined;
      if (created) org.live.add(created.id);
    } else if (roll < 0.7) {
      await call(org, "features.list", { page: 1 + Math.floor(Math.random() * 3), limit: 20, ...(Math.random() < 0.3 && { search: "soak" }), ...(Math.random() < 0.3 && { status: pick(["ACTIVE", "INACTIVE"]) }) }, false);
    } else if (roll < 0.85) {
      await call(org, "features.byId", { id: pick(live) }, false);
    } else if (roll < 0.95) {
      await call(org, "features.update", { id: pick(live), data: { status: pick(["ACTIVE", "INACTIVE"]) } }, true);
    } else {
      const id = pick(live);
      org.live.delete(id);
      const deleted = await call(org, "features.delete", { id }, true);
      if (deleted) org.deleted.add(id);
      else org.live.add(id);
    }
  }
}

const sampler = setInterval(() => {
  void (async () => {
    const sorted = window.sort((a, b) => a - b);
    intervals.push({
      atSeconds: Math.round((performance.now() - started) / 1000),
      requests: sorted.length,
      errors: windowErrors,
      p50Ms: Number(percentile(sorted, 50).toFixed(2)),
      p99Ms: Number(percentile(sorted, 99).toFixed(2)),
      rssMb: Number(((await rssKb(child.pid!)) / 1024).toFixed(1)),
    });
    window = [];
    windowErrors = 0;
  })();
}, 10_000);

// Lanes of one organization share its id and token; several lanes per organization write concurrently.
const laneOrgs: Lane[] = Array.from({ length: concurrency }, (_, n) => ({ ...orgs[n % orgs.length]!, live: new Set<string>(), deleted: new Set<string>() }));
await Promise.all(laneOrgs.map((lane) => worker(lane)));
clearInterval(sampler);
const elapsedSeconds = (performance.now() - started) / 1000;

// ---------- verify ----------
const byOrg = new Map<string, { live: Set<string>; deleted: Set<string> }>();
for (const lane of laneOrgs) {
  const entry = byOrg.get(lane.id) ?? { live: new Set<string>(), deleted: new Set<string>() };
  lane.live.forEach((id) => entry.live.add(id));
  lane.deleted.forEach((id) => entry.deleted.add(id));
  byOrg.set(lane.id, entry);
}

// Isolation through the API: each organization's listing shows exactly its own live rows.
const isolationProblems: string[] = [];
for (const lane of orgs) {
  const expected = byOrg.get(lane.id)!;
  const seen = new Set<string>();
  // Walked with the keyset listing: exact at any size (list's total is an estimate past 10,000).
  let cursor: string | null = null;
  do {
    const result = (await call(lane, "features.infinite", { limit: 100, ...(cursor && { cursor }) }, false)) as { items: Array<{ id: string; organizationId: string }>; nextCursor: string | null } | undefined;
    if (!result) {
      isolationProblems.push(`${lane.id}: infinite listing failed after ${seen.size} rows`);
      break;
    }
    for (const f of result.items) {
      if (f.organizationId !== lane.id || !expected.live.has(f.id)) isolationProblems.push(`${lane.id} sees ${f.id} of ${f.organizationId}`);
      seen.add(f.id);
    }
    cursor = result.nextCursor;
  } while (cursor);
  for (const id of expected.live) if (!seen.has(id)) isolationProblems.push(`${lane.id}: acknowledged ${id} missing from its list`);
}

child.kill("SIGTERM");
const exitCode = await childExit;

// Durability straight from the database: every acknowledged create is there, in its organization,
// deleted exactly when its delete was acknowledged.
const acknowledged = [...byOrg.entries()].flatMap(([org, e]) => [...[...e.live].map((id) => ({ id, org, deleted: false })), ...[...e.deleted].map((id) => ({ id, org, deleted: true }))]);
const stored = await database.rows(acknowledged.map((a) => a.id));
const lost = acknowledged.filter((a) => {
  const row = stored.get(a.id);
  return !row || row.organizationId !== a.org || row.deleted !== a.deleted;
});
await database.drop();

// ---------- report ----------
const rss = intervals.map((i) => i.rssMb).filter((v) => v > 0);
const half = rss.slice(Math.floor(rss.length / 2));
const slope = (() => {
  // Least squares over the second half (after warm-up), in MB per minute.
  const n = half.length;
  if (n < 2) return 0;
  const xs = half.map((_, i) => (i * 10) / 60);
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = half.reduce((a, b) => a + b, 0) / n;
  const num = xs.reduce((a, x, i) => a + (x - mx) * (half[i]! - my), 0);
  const den = xs.reduce((a, x) => a + (x - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
})();
const meanRss = half.length ? half.reduce((a, b) => a + b, 0) / half.length : 0;
const growthOverSecondHalf = slope * ((half.length * 10) / 60);
const noGrowthTrend = meanRss === 0 || growthOverSecondHalf < meanRss * 0.1;

const report = {
  date: new Date().toISOString(),
  database: database.label,
  minutes,
  concurrency,
  organizations: orgCount,
  elapsedSeconds: Number(elapsedSeconds.toFixed(1)),
  requests,
  requestsPerSecond: Number((requests / elapsedSeconds).toFixed(1)),
  errors,
  errorSamples,
  acknowledgedWrites: acknowledged.length,
  lost: lost.length,
  lostSamples: lost.slice(0, 10),
  isolationProblems: isolationProblems.slice(0, 20),
  serviceExitCode: exitCode,
  rss: { firstMb: rss[0] ?? 0, lastMb: rss.at(-1) ?? 0, maxMb: Math.max(0, ...rss), secondHalfSlopeMbPerMin: Number(slope.toFixed(2)), noGrowthTrend },
  intervals,
};
const passed = errors === 0 && lost.length === 0 && isolationProblems.length === 0 && exitCode === 0 && noGrowthTrend;

await mkdir(values.out, { recursive: true });
const jsonPath = path.join(values.out, "soak.json");
await writeFile(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
const md = [
  `# Soak run: ${passed ? "passed" : "FAILED"}`,
  "",
  `Command: \`npm run soak -- --minutes ${minutes}${values.embedded ? " --embedded" : ""}\` on ${report.date.slice(0, 10)}, ${database.label}, ${concurrency} connections, ${orgCount} organizations; mixed traffic (30% create, 40% list with page/search/status, 15% byId, 10% update, 5% delete).`,
  "",
  "| what | result |",
  "| --- | --- |",
  `| duration | ${report.elapsedSeconds} s |`,
  `| requests | ${requests} (${report.requestsPerSecond}/s) |`,
  `| errors | ${errors} |`,
  `| acknowledged writes checked in the database | ${acknowledged.length}, lost or wrong: ${lost.length} |`,
  `| organization isolation (each organization's full listing = exactly its own acknowledged live rows) | ${isolationProblems.length === 0 ? "held" : `${isolationProblems.length} problems`} |`,
  `| service exit after SIGTERM | ${exitCode} |`,
  `| RSS first / max / last | ${report.rss.firstMb} / ${report.rss.maxMb} / ${report.rss.lastMb} MB |`,
  `| RSS trend, second half | ${report.rss.secondHalfSlopeMbPerMin} MB/min (${noGrowthTrend ? "no growth trend" : "GROWING"}) |`,
  "",
  "## Over time (10 s intervals)",
  "",
  "| t (s) | requests | errors | p50 ms | p99 ms | RSS MB |",
  "| ---: | ---: | ---: | ---: | ---: | ---: |",
  ...intervals.map((i) => `| ${i.atSeconds} | ${i.requests} | ${i.errors} | ${i.p50Ms} | ${i.p99Ms} | ${i.rssMb} |`),
  "",
  ...(errorSamples.length ? ["## Error samples", "", ...errorSamples.map((e) => `- ${e}`), ""] : []),
].join("\n");
await writeFile(path.join(values.out, "soak.md"), `${md}\n`);
console.log(md);
process.exit(passed ? 0 : 1);
