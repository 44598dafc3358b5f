/**
 * Two builds of the service side by side, for measuring one lever (bench/results/levers.md): each tree's
 * `dist/server/main.js` runs on its own port against a throwaway database of its own on the local
 * PostgreSQL, migrated by that tree's migrations and seeded alike, both get the same requests at the same fixed rate at the same time, and the CPU time of each process per
 * request is compared round by round. Running both at once, at one rate, is what makes the figures
 * comparable on a machine whose speed moves by up to 2x between minutes: whatever slows one slows the other,
 * and CPU per request depends on the load, which is the same.
 *
 *   node --import tsx bench/side-by-side.ts <tree A> <tree B> <endpoint> [rate] [rounds] [seconds]
 *
 * A tree is a checkout with its own `node_modules` and a built `dist/` (`npm ci && npm run build:server`),
 * e.g. `git worktree add /tmp/a <commit>`. Endpoints: byId, list, create, update, delete (tRPC), rbyId, rlist,
 * rcreate, rupdate, rdelete (REST). Rate: requests per second to each side (default 300); rounds: 7;
 * seconds per round: 4. BENCH_ENV_A / BENCH_ENV_B (JSON objects) add environment variables to one side
 * (compare a setting with one tree given twice); `{DATABASE_URL}` in a value is that side's database URL. A first round warms both up and is not counted. The
 * answer: each round's CPU µs per request of A and B, and the median of B / A.
 *
 * Rate 0 measures throughput instead: each round loads A, then B, alone, as fast as they answer at 32
 * connections (the bench's load), so the two see the machine of the same minute; the answer is each round's
 * requests per second and p99 of A and B, and the median of B / A of requests per second.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { signAccessToken } from "../server/auth/token.js";
import { createThrowawayDatabase, freePort } from "../scripts/support/throwaway-postgres.js";
import type { ThrowawayDatabase } from "../scripts/support/throwaway-postgres.js";
import { cpuSecondsOf } from "./proc-stat.js";
import { seedFeatures } from "./seed.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const [treeA, treeB, endpoint = "byId", rateText = "300", roundsText = "7", secondsText = "4"] = process.argv.slice(2);
if (!treeA || !treeB) {
  console.error("usage: node --import tsx bench/side-by-side.ts <tree A> <tree B> <endpoint> [rate] [rounds] [seconds]");
  process.exit(2);
}
const rate = Number(rateText);
const rounds = Number(roundsText);
const seconds = Number(secondsText);
const SECRET = "side-by-side-secret-0123456789abcdef";
const ORG = "side-by-side";
const ROWS = 5_000;
const adminUrl = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

/** `n` features of `org`, as the full run seeds them (./seed.ts); answers their ids, oldest first. */
async function seed(client: pg.Client, org: string, n: number): Promise<string[]> {
  await seedFeatures((text, params) => client.query(text, params), org, 1, n);
  const { rows } = await client.query<{ id: string }>("SELECT id::text AS id FROM features WHERE organization_id = $1 ORDER BY created_at, id", [org]);
  return rows.map((row) => row.id);
}

async function start(tree: string, databaseUrl: string, extra: NodeJS.ProcessEnv): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(tree, "dist/server/main.js")], {
    cwd: tree,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: "127.0.0.1",
      NODE_ENV: "production",
      SECRET_KEY: SECRET,
      DATABASE_URL: databaseUrl,
      DATABASE_POOL_SIZE: "10",
      PANEL_ENABLED: "false",
      RATE_LIMIT_PER_IP: "0",
      RATE_LIMIT_PER_ORG: "0",
      METRICS_PORT: String(await freePort()),
      METRICS_HOST: "127.0.0.1",
      OTEL_EXPORTER_OTLP_ENDPOINT: "",
      ...extra,
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const url = `http://127.0.0.1:${port}`;
  for (const until = Date.now() + 60_000; ; ) {
    if (child.exitCode !== null) throw new Error(`${tree}: the service exited with ${child.exitCode}`);
    if (await fetch(`${url}/health/ready`).then((r) => r.ok, () => false)) return { url, child };
    if (Date.now() > until) throw new Error(`${tree}: the service did not get ready`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

interface Load {
  requestsPerSec: number;
  requests: number;
  errors: number;
  latencyP99: number;
  statusCodes?: Record<string, number>;
  connectionErrors?: number;
  timeouts?: number;
}

/** A round's errors, and what they were. */
const errorsOf = (load: Load) =>
  load.errors === 0 ? "0 errors" : `${load.errors} errors (${JSON.stringify({ statusCodes: load.statusCodes, connectionErrors: load.connectionErrors, timeouts: load.timeouts })})`;

const throughput = rate === 0;

/** One round of bench/load.mjs at the fixed rate; the CPU seconds of `pid` over it. */
function round(spec: object, pid: number): Promise<{ load: Load; cpu: number }> {
  const child = spawn(process.execPath, [path.join(root, "bench/load.mjs"), JSON.stringify({ ...spec, connections: throughput ? 32 : 16, warmup: 0, duration: seconds, rate })], { stdio: ["ignore", "pipe", "inherit"] });
  const before = cpuSecondsOf(pid);
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  return new Promise((resolve, reject) =>
    child.once("close", (code) => {
      const cpu = cpuSecondsOf(pid) - before;
      if (code !== 0) return reject(new Error(`bench/load.mjs exited with ${code}`));
      resolve({ load: JSON.parse(out.trim().split("\n").at(-1)!) as Load, cpu });
    }),
  );
}

/** Applies `tree`'s own migrations to `databaseUrl` (its `npm run db:migrate:prod`). */
function migrate(tree: string, databaseUrl: string): Promise<void> {
  const child = spawn(process.execPath, [path.join(tree, "dist/scripts/migrate.js")], { cwd: tree, env: { ...process.env, DATABASE_URL: databaseUrl }, stdio: ["ignore", "ignore", "inherit"] });
  return new Promise((resolve, reject) => child.once("close", (code) => (code === 0 ? resolve() : reject(new Error(`${tree}: its migrations exited with ${code}`)))));
}

const SIDES = ["A", "B"] as const;
type Side = (typeof SIDES)[number];
const trees: Record<Side, string> = { A: treeA, B: treeB };
const databases: ThrowawayDatabase[] = [];
const tmp = await mkdtemp(path.join(os.tmpdir(), "kuark-side-by-side-"));
const running: ChildProcess[] = [];
try {
  // Each side's deletes take, each round, a slice of rows of their own (an id deleted twice is a 404).
  const deletesPerRound = Math.ceil((throughput ? 2_000 : rate) * seconds * 1.2);
  const deletes = deletesPerRound * (rounds + 1);
  const seeded = {} as Record<Side, { url: string; rows: string[]; toDelete: string[] }>;
  for (const side of SIDES) {
    const database = await createThrowawayDatabase(adminUrl, `kuark_side_by_side_${side.toLowerCase()}`);
    databases.push(database);
    await migrate(trees[side], database.url);
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const rows = await seed(client, ORG, ROWS);
    const toDelete = await seed(client, `${ORG}-delete`, deletes);
    await client.query("VACUUM ANALYZE features");
    await client.end();
    seeded[side] = { url: database.url, rows, toDelete };
    await writeFile(path.join(tmp, `rows-${side}.json`), JSON.stringify(rows));
  }

  const envOf = (side: Side) =>
    Object.fromEntries(Object.entries(JSON.parse(process.env[`BENCH_ENV_${side}`] ?? "{}") as Record<string, string>).map(([key, value]) => [key, value.replaceAll("{DATABASE_URL}", seeded[side].url)]));
  const sides = { A: await start(treeA, seeded.A.url, envOf("A")), B: await start(treeB, seeded.B.url, envOf("B")) };
  running.push(sides.A.child, sides.B.child);
  const deleteFile = (side: Side) => path.join(tmp, `delete-${side}.json`);
  let deleteRound = 0;
  /** Before each round (both sides): the next slice of each side's rows to delete. */
  const nextDeletes = async () => {
    for (const side of SIDES) await writeFile(deleteFile(side), JSON.stringify(seeded[side].toDelete.slice(deleteRound * deletesPerRound, (deleteRound + 1) * deletesPerRound)));
    deleteRound++;
  };
  const specOf = (side: Side) => {
    const org = endpoint.endsWith("delete") ? `${ORG}-delete` : ORG;
    const rows = seeded[side].rows;
    const rowsFile = path.join(tmp, `rows-${side}.json`);
    const headers = { authorization: `Bearer ${signAccessToken({ sub: "bench", organizationId: org, minutes: 60 }, SECRET)}`, "content-type": "application/json" };
    const url = sides[side].url;
    const input = (value: object) => encodeURIComponent(JSON.stringify(value));
    const deleteIds = deleteFile(side);
    const specs: Record<string, object> = {
      byId: { url: `${url}/trpc/features.byId?input=${input({ id: rows[2_500] })}` },
      rbyId: { url: `${url}/api/v1/features/${rows[2_500]}` },
      list: { url: `${url}/trpc/features.list?input=${input({ page: 1, limit: 20 })}` },
      rlist: { url: `${url}/api/v1/features?page=1&limit=20` },
      create: { url: `${url}/trpc/features.create`, method: "POST", body: JSON.stringify({ name: "Side by side" }) },
      rcreate: { url: `${url}/api/v1/features`, method: "POST", body: JSON.stringify({ name: "Side by side" }) },
      update: { url: `${url}/trpc/features.update`, method: "POST", body: JSON.stringify({ id: "{id}", data: { description: "Updated {n}" } }), idsFile: rowsFile, cycle: true },
      rupdate: { url: `${url}/api/v1/features/{id}`, method: "PUT", body: JSON.stringify({ description: "Updated {n}" }), idsFile: rowsFile, cycle: true },
      delete: { url: `${url}/trpc/features.delete`, method: "POST", body: JSON.stringify({ id: "{id}" }), idsFile: deleteIds },
      rdelete: { url: `${url}/api/v1/features/{id}`, method: "DELETE", idsFile: deleteIds },
    };
    const spec = specs[endpoint];
    if (!spec) throw new Error(`unknown endpoint ${endpoint}: one of ${Object.keys(specs).join(", ")}`);
    return { method: "GET", headers, ...spec };
  };
  const spec = { A: specOf("A"), B: specOf("B") };
  const pid = { A: sides.A.child.pid!, B: sides.B.child.pid! };
  const ratios: number[] = [];
  const us = (side: { load: Load; cpu: number }) => (side.cpu / side.load.requests) * 1e6;
  if (throughput) {
    console.log(`${endpoint}, as fast as each answers at 32 connections, A then B alone, ${rounds} rounds of ${seconds} s; A = ${treeA}, B = ${treeB}`);
    // One round of each first that is not counted: both processes compile their hot paths in it.
    await nextDeletes();
    await round(spec.A, pid.A);
    await round(spec.B, pid.B);
    for (let r = 1; r <= rounds; r++) {
      await nextDeletes();
      const a = await round(spec.A, pid.A);
      const b = await round(spec.B, pid.B);
      ratios.push(b.load.requestsPerSec / a.load.requestsPerSec);
      console.log(
        `round ${r}: A ${a.load.requestsPerSec.toFixed(0)} req/s, p99 ${a.load.latencyP99} ms, ${errorsOf(a.load)} | ` +
          `B ${b.load.requestsPerSec.toFixed(0)} req/s, p99 ${b.load.latencyP99} ms, ${errorsOf(b.load)} | B/A ${ratios.at(-1)!.toFixed(3)}`,
      );
    }
  } else {
    console.log(`${endpoint} at ${rate} req/s each, ${rounds} rounds of ${seconds} s; A = ${treeA}, B = ${treeB}`);
    await nextDeletes();
    await Promise.all([round(spec.A, pid.A), round(spec.B, pid.B)]);
    for (let r = 1; r <= rounds; r++) {
      await nextDeletes();
      const [a, b] = await Promise.all([round(spec.A, pid.A), round(spec.B, pid.B)]);
      ratios.push(us(b) / us(a));
      console.log(
        `round ${r}: A ${a.load.requestsPerSec.toFixed(0)} req/s, ${us(a).toFixed(0)} µs/request, ${errorsOf(a.load)} | ` +
          `B ${b.load.requestsPerSec.toFixed(0)} req/s, ${us(b).toFixed(0)} µs/request, ${errorsOf(b.load)} | B/A ${ratios.at(-1)!.toFixed(3)}`,
      );
    }
  }
  ratios.sort((x, y) => x - y);
  console.log(
    `median B/A of ${throughput ? "requests per second" : "CPU per request"}: ${ratios[Math.floor(ratios.length / 2)]!.toFixed(3)} ` +
      `(rounds from ${ratios[0]!.toFixed(3)} to ${ratios.at(-1)!.toFixed(3)})`,
  );
} finally {
  for (const child of running) child.kill("SIGTERM");
  await Promise.all(running.filter((child) => child.exitCode === null).map((child) => new Promise((resolve) => child.once("exit", resolve))));
  for (const database of databases) await database.drop();
  await rm(tmp, { recursive: true, force: true });
}
