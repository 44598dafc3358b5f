/**
 * Redis under the rate limits goes away, and the service does not notice beyond a log line: a Redis of the
 * test's own (tests/support/redis-server.ts) frozen with SIGSTOP mid-run, killed, or absent at the start,
 * under the service as users run it (a child process, its stdout and stderr captured). Every API call
 * (tRPC, a tRPC batch and REST, each with a token so both limiters run) is answered within 1 s of its
 * normal time; readiness stays 200 and says where the limits count; the gauge says the same; the limits
 * still apply while they count locally; each change of state is one JSON log line and nothing else is
 * logged for it; when Redis answers again the counters are in Redis again (its Lua scripts loaded anew).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { PrismaPg } from "@prisma/adapter-pg";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations } from "../../server/db/schema-engine.js";
import { tokenFor } from "../support/app.js";
import { createEmptyPostgresDatabase, testDatabaseUrl } from "../support/database.js";
import { parsePrometheusText, sampleValue } from "../support/prometheus-text.js";
import { createTestRedis, stopAll } from "../support/redis-server.js";
import type { TestRedis } from "../support/redis-server.js";
import { startServiceProcess, stopServiceProcess } from "../support/service-process.js";
import type { ServiceProcess } from "../support/service-process.js";

/** The per-organization limit: small, so a test reaches it; every timed call uses an organization of its own. */
const ORG_LIMIT = 6;
/** "Within 1 s of its normal time". */
const SLACK_MS = 1_000;
const PREFIX = "kuark:rl:";

const cleanups: Array<() => Promise<unknown>> = [];
const redises: TestRedis[] = [];
let databaseEnv: NodeJS.ProcessEnv = {};

beforeAll(async () => {
  // One database for the file; its services run one after another.
  if (testDatabaseUrl) {
    const empty = await createEmptyPostgresDatabase();
    cleanups.push(() => empty.drop());
    await applyMigrations(new PrismaPg({ connectionString: empty.url }));
    databaseEnv = { DATABASE_URL: empty.url };
  } else {
    const dataDir = await mkdtemp(path.join(tmpdir(), "kuark-redis-faults-"));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    databaseEnv = { PGLITE_DATA_DIR: dataDir };
  }
});
afterAll(async () => {
  await stopAll(redises);
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function testRedis(): Promise<TestRedis> {
  const redis = await createTestRedis();
  redises.push(redis);
  return redis;
}

async function service(redis: TestRedis): Promise<ServiceProcess> {
  const started = await startServiceProcess({
    ...databaseEnv,
    REDIS_URL: redis.url,
    RATE_LIMIT_PER_ORG: String(ORG_LIMIT),
    RATE_LIMIT_PER_IP: "100000",
    // Above the default 100: on a test machine shared by many processes a redis-server starved of CPU misses
    // 100 ms now and then, which is (by design) a change of state, and a log line this test does not expect.
    REDIS_TIMEOUT_MS: "250",
    LOG_LEVEL: "info",
  });
  cleanups.push(async () => {
    if (started.child.exitCode === null) await stopServiceProcess(started, "SIGKILL");
  });
  return started;
}

let orgs = 0;
const freshOrg = () => `redis-faults-${process.pid}-${++orgs}`;
const auth = (org: string) => ({ authorization: `Bearer ${tokenFor("alice", org)}` });

type Kind = "tRPC" | "tRPC batch" | "REST";
const KINDS: Kind[] = ["tRPC", "tRPC batch", "REST"];
interface Sample {
  kind: Kind;
  status: number;
  ms: number;
}

function call(s: ServiceProcess, kind: Kind, org: string): Promise<Response> {
  const path = { tRPC: "/trpc/features.list", "tRPC batch": "/trpc/auth.me,features.list?batch=1", REST: "/api/v1/features" }[kind];
  return fetch(`${s.url}${path}`, { headers: auth(org) });
}

/** One call of each kind, each for an organization of its own (never near its limit), timed. */
async function round(s: ServiceProcess): Promise<Sample[]> {
  const samples: Sample[] = [];
  for (const kind of KINDS) {
    const started = performance.now();
    const res = await call(s, kind, freshOrg());
    await res.arrayBuffer();
    samples.push({ kind, status: res.status, ms: performance.now() - started });
  }
  return samples;
}

/**
 * The normal time of each kind of call, Redis answering, under the load the faults meet (two callers): the
 * median of eight, after a first round that warms the process up (its first queries are planned then).
 */
async function normalTimes(s: ServiceProcess): Promise<Record<Kind, number>> {
  expect((await round(s)).map((sample) => sample.status)).toEqual([200, 200, 200]);
  const worker = async () => [...(await round(s)), ...(await round(s)), ...(await round(s)), ...(await round(s))];
  const samples = (await Promise.all([worker(), worker()])).flat();
  expect(samples.filter((sample) => sample.status !== 200)).toEqual([]);
  const median = (kind: Kind) => {
    const times = samples.filter((sample) => sample.kind === kind).map((sample) => sample.ms).sort((a, b) => a - b);
    return (times[times.length / 2 - 1]! + times[times.length / 2]!) / 2;
  };
  return { tRPC: median("tRPC"), "tRPC batch": median("tRPC batch"), REST: median("REST") };
}

function expectAllAnsweredInTime(samples: Sample[], normal: Record<Kind, number>) {
  expect(samples.length).toBeGreaterThan(0);
  expect(samples.filter((sample) => sample.status !== 200)).toEqual([]);
  expect(samples.filter((sample) => sample.ms > normal[sample.kind] + SLACK_MS)).toEqual([]);
}

/** Rounds of calls, two at a time, until `stop` is called; resolves with every sample. */
function load(s: ServiceProcess): { stop: () => Promise<Sample[]> } {
  const samples: Sample[] = [];
  let running = true;
  const worker = async () => {
    while (running) samples.push(...(await round(s)));
  };
  const workers = [worker(), worker()];
  return {
    async stop() {
      running = false;
      await Promise.all(workers);
      return samples;
    },
  };
}

async function readiness(s: ServiceProcess): Promise<{ status: number; rateLimits: unknown }> {
  const res = await fetch(`${s.url}/health/ready`);
  return { status: res.status, rateLimits: ((await res.json()) as { rateLimits?: unknown }).rateLimits };
}

/** Polls readiness (200 every time) until it reports `store`. */
async function readinessReports(s: ServiceProcess, store: "redis" | "local", withinMs = 10_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const ready = await readiness(s);
    expect(ready.status).toBe(200);
    if (ready.rateLimits === store) return;
    if (Date.now() > deadline) throw new Error(`readiness still reports rateLimits ${String(ready.rateLimits)}, not ${store}, after ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** kuark_rate_limit_store: which store the gauge has at 1 (and the other at 0). */
async function gauge(s: ServiceProcess): Promise<Record<string, number | undefined>> {
  const samples = parsePrometheusText(await (await fetch(s.metricsUrl!)).text());
  return {
    redis: sampleValue(samples, "kuark_rate_limit_store", { store: "redis" }),
    local: sampleValue(samples, "kuark_rate_limit_store", { store: "local" }),
  };
}

/** Counting locally, the per-organization limit still holds: ORG_LIMIT calls pass, the next are 429 (tRPC with its request id, REST). */
async function expectOrgLimitApplies(s: ServiceProcess): Promise<void> {
  const org = freshOrg();
  const statuses: number[] = [];
  for (let i = 0; i < ORG_LIMIT; i++) statuses.push((await call(s, "tRPC", org)).status);
  expect(statuses).toEqual(Array.from({ length: ORG_LIMIT }, () => 200));
  const refused = await call(s, "tRPC", org);
  expect(refused.status).toBe(429);
  const body = (await refused.json()) as { error: { data: { code: string; requestId?: unknown } } };
  expect(body.error.data.code).toBe("TOO_MANY_REQUESTS");
  expect(body.error.data.requestId).toEqual(refused.headers.get("x-request-id"));
  expect((await call(s, "REST", org)).status).toBe(429);
}

/** With Redis back, a call's counter is a key in Redis again: the scripts were loaded (again) and are used. */
async function expectCountedInRedis(s: ServiceProcess, redis: TestRedis): Promise<void> {
  const org = freshOrg();
  expect((await call(s, "tRPC", org)).status).toBe(200);
  const inspect = createClient({ url: redis.url });
  await inspect.connect();
  try {
    expect(await inspect.get(`${PREFIX}org:${org}`)).toBe("1");
  } finally {
    await inspect.close();
  }
}

/**
 * What the service wrote from its start: every line JSON (nothing else on stdout or stderr: no stack of
 * express-rate-limit's), the `rateLimits` of its state lines in order, and any other warning or error.
 */
function logOf(s: ServiceProcess) {

  const lines = s.output().split("\n").filter((line) => line.trim() !== "");
  const notJson: string[] = [];
  const entries: Array<Record<string, unknown>> = [];
  for (const line of lines) {
    try {
      entries.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      notJson.push(line);
    }
  }
  const refusals = /^rate limit: too many requests/;
  return {
    notJson,
    states: entries.filter((entry) => "rateLimits" in entry).map((entry) => entry.rateLimits),
    stateLines: entries.filter((entry) => "rateLimits" in entry).map((entry) => JSON.stringify([entry.time, entry.rateLimits, entry.reason])),
    otherWarnings: entries.filter((entry) => (entry.level as number) >= 40 && !("rateLimits" in entry) && !refusals.test(String(entry.msg))),
    mentionsOfTimeouts: lines.filter((line) => /TimeoutError|express-rate-limit|"stack"/.test(line)),
  };
}

function expectLog(s: ServiceProcess, states: Array<"redis" | "local">) {
  const log = logOf(s);
  expect(log.notJson).toEqual([]);
  expect(log.states, log.stateLines.join("\n")).toEqual(states);
  expect(log.otherWarnings).toEqual([]);
  expect(log.mentionsOfTimeouts).toEqual([]);
}

describe("Redis under the rate limits (issue 21, item 1)", () => {
  it("frozen mid-run (SIGSTOP): calls answered in time, limits counted locally; resumed: back to Redis", async () => {
    const redis = await testRedis();
    await redis.start();
    const s = await service(redis);
    await readinessReports(s, "redis");
    const normal = await normalTimes(s);

    const running = load(s);
    await new Promise((resolve) => setTimeout(resolve, 300));
    redis.freeze();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await readinessReports(s, "local", 2_000);
    expect(await gauge(s)).toEqual({ redis: 0, local: 1 });
    await expectOrgLimitApplies(s);
    redis.resume();
    await readinessReports(s, "redis");
    await new Promise((resolve) => setTimeout(resolve, 300));
    expectAllAnsweredInTime(await running.stop(), normal);

    expect(await gauge(s)).toEqual({ redis: 1, local: 0 });
    await expectCountedInRedis(s, redis);
    expectLog(s, ["redis", "local", "redis"]);
  }, 60_000);

  it("killed: calls answered in time, limits counted locally; restarted on its port: reconnects, back to Redis", async () => {
    const redis = await testRedis();
    await redis.start();
    const s = await service(redis);
    await readinessReports(s, "redis");
    const normal = await normalTimes(s);

    const running = load(s);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await redis.kill();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await readinessReports(s, "local", 2_000);
    expect(await gauge(s)).toEqual({ redis: 0, local: 1 });
    await expectOrgLimitApplies(s);
    await redis.start();
    await readinessReports(s, "redis");
    await new Promise((resolve) => setTimeout(resolve, 300));
    expectAllAnsweredInTime(await running.stop(), normal);

    expect(await gauge(s)).toEqual({ redis: 1, local: 0 });
    // A new Redis has no scripts: they were loaded again before it counted.
    await expectCountedInRedis(s, redis);
    expectLog(s, ["redis", "local", "redis"]);
  }, 60_000);

  it("absent at the start: the service starts, listens and serves, counting locally; Redis started: it connects", async () => {
    const redis = await testRedis();
    const s = await service(redis); // resolves once it listens
    expect(await readiness(s)).toEqual({ status: 200, rateLimits: "local" });
    expect(await gauge(s)).toEqual({ redis: 0, local: 1 });
    // Served without Redis; this first round (a fresh process plans its first queries) is not timed.
    expect((await round(s)).map((sample) => sample.status)).toEqual([200, 200, 200]);
    const running = load(s);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await expectOrgLimitApplies(s);
    const duringAbsence = await running.stop();

    await redis.start();
    await readinessReports(s, "redis");
    expect(await gauge(s)).toEqual({ redis: 1, local: 0 });
    // The normal time is measured now that Redis answers; the calls made without it are held to it.
    expectAllAnsweredInTime(duringAbsence, await normalTimes(s));
    await expectCountedInRedis(s, redis);
    expectLog(s, ["local", "redis"]);
  }, 60_000);

  it("SIGTERM with Redis frozen: the service exits 0 in time, not held by Redis", async () => {
    const redis = await testRedis();
    await redis.start();
    const s = await service(redis);
    await readinessReports(s, "redis");
    expect((await call(s, "tRPC", freshOrg())).status).toBe(200);
    redis.freeze();
    const started = Date.now();
    expect(await stopServiceProcess(s)).toBe(0);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(s.output()).toContain('"msg":"stopped"');
  }, 60_000);
});
