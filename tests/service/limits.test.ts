/** Hostile input at the HTTP edge: body and batch limits, rate limits (alone and shared through Redis), headers. */
import { randomBytes } from "node:crypto";
import { request } from "node:http";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectRedis } from "../../server/http/redis.js";
import { makeDependencies, startServer, testConfig, tokenFor } from "../support/app.js";
import type { RunningServer } from "../support/app.js";
import { createTestDatabase } from "../support/database.js";
import type { TestDatabase } from "../support/database.js";
import { pino } from "pino";

const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
let testDb: TestDatabase;
const servers: RunningServer[] = [];
const closers: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await Promise.all(closers.map((close) => close()));
  await testDb?.drop();
});

async function serve(env: NodeJS.ProcessEnv, redis?: Awaited<ReturnType<typeof connectRedis>>) {
  const config = testConfig(env);
  const deps = { ...makeDependencies(testDb.db, { config }), redis };
  const server = await startServer(deps);
  servers.push(server);
  return server;
}

const auth = (org: string) => ({ authorization: `Bearer ${tokenFor("alice", org)}` });

describe("request size", () => {
  it("a declared body over MAX_BODY_BYTES is 413 before it is read", async () => {
    const server = await serve({ MAX_BODY_BYTES: "1000" });
    const res = await fetch(`${server.url}/trpc/features.create`, {
      method: "POST",
      headers: { ...auth("limits"), "content-type": "application/json" },
      body: JSON.stringify({ name: "x".repeat(2000) }),
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { data: { code: string } } }).error.data.code).toBe("PAYLOAD_TOO_LARGE");
  });

  it("a chunked body (no length) over the limit is 413 too", async () => {
    const server = await serve({ MAX_BODY_BYTES: "1000" });
    const { port } = new URL(server.url);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ port, host: "127.0.0.1", path: "/trpc/features.create", method: "POST", headers: { ...auth("limits"), "content-type": "application/json", "transfer-encoding": "chunked" } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.write(`{"name":"${"y".repeat(1500)}`);
      req.end(`"}`);
    });
    expect(status).toBe(413);
  });

  it("the default limit is 1 MB", async () => {
    expect(testConfig().maxBodyBytes).toBe(1_048_576);
    const server = await serve({});
    const res = await fetch(`${server.url}/trpc/features.create`, {
      method: "POST",
      headers: { ...auth("limits"), "content-type": "application/json" },
      body: JSON.stringify({ name: "ok", description: "z".repeat(1_100_000) }),
    });
    expect(res.status).toBe(413);
  });
});

describe("batches against the rate limits (issue 21, item 4)", () => {
  const batchOf = (server: RunningServer, n: number, org: string) =>
    fetch(`${server.url}/trpc/${Array.from({ length: n }, () => "auth.me").join(",")}?batch=1`, { headers: auth(org) });

  it("a batch costs one per call on the per-IP limit, and one that would pass it is refused whole", async () => {
    const server = await serve({ RATE_LIMIT_PER_IP: "10", RATE_LIMIT_PER_ORG: "0" });
    expect((await batchOf(server, 6, "batch-ip")).status).toBe(200);
    const over = await batchOf(server, 6, "batch-ip");
    expect(over.status).toBe(429);
    // Refused whole: no call of it ran, the answer is the one 429 of the request.
    expect(((await over.json()) as { error: { data: { code: string } } }).error.data.code).toBe("TOO_MANY_REQUESTS");
  });

  it("a batch of 25 costs 25 on the per-organization limit", async () => {
    const server = await serve({ RATE_LIMIT_PER_IP: "0", RATE_LIMIT_PER_ORG: "25" });
    const org = `batch-org-${process.pid}`;
    expect((await batchOf(server, 25, org)).status).toBe(200);
    expect((await fetch(`${server.url}/trpc/auth.me`, { headers: auth(org) })).status).toBe(429);
    // Another organization's budget is its own.
    expect((await fetch(`${server.url}/trpc/auth.me`, { headers: auth(`${org}-other`) })).status).toBe(200);
  });

  it("counted the same through Redis, shared by two instances", async () => {
    const redis = await connectRedis(REDIS_URL, pino({ level: "silent" }));
    closers.push(() => redis.quit());
    const prefix = `kuark-test-batch-${process.pid}-${randomBytes(4).toString("hex")}:`;
    const env = { RATE_LIMIT_PER_IP: "0", RATE_LIMIT_PER_ORG: "8", RATE_LIMIT_PREFIX: prefix };
    const [one, two] = [await serve(env, redis), await serve(env, redis)];
    const org = `batch-redis-${process.pid}`;
    expect((await batchOf(one, 5, org)).status).toBe(200);
    expect((await batchOf(two, 4, org)).status).toBe(429);
  });
});

describe("batch size", () => {
  it("a batch over MAX_BATCH_SIZE (default 25) is refused with a clear error; 25 calls pass", async () => {
    expect(testConfig().maxBatchSize).toBe(25);
    const server = await serve({});
    const batch = (n: number) =>
      fetch(`${server.url}/trpc/${Array.from({ length: n }, () => "auth.me").join(",")}?batch=1`, { headers: auth("batch") });
    const ok = await batch(25);
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as unknown[]).length).toBe(25);
    const tooMany = await batch(26);
    expect(tooMany.status).toBe(400);
    const body = (await tooMany.json()) as Array<{ error: { message: string; data: { code: string } } }> | { error: { message: string } };
    expect(JSON.stringify(body)).toMatch(/batch/i);
  });
});

describe("rate limits", () => {
  it("per client IP: 429 with Retry-After once the budget is spent", async () => {
    const server = await serve({ RATE_LIMIT_PER_IP: "3", RATE_LIMIT_PER_ORG: "0" });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await fetch(`${server.url}/trpc/auth.me`, { headers: auth("ip") })).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const limited = await fetch(`${server.url}/trpc/auth.me`, { headers: auth("ip") });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(((await limited.json()) as { error: { data: { code: string } } }).error.data.code).toBe("TOO_MANY_REQUESTS");
    // Health checks are never limited.
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });

  it("per organization: one busy organization does not spend another's budget", async () => {
    const server = await serve({ RATE_LIMIT_PER_IP: "0", RATE_LIMIT_PER_ORG: "2" });
    const call = (org: string) => fetch(`${server.url}/trpc/auth.me`, { headers: auth(org) }).then((r) => r.status);
    expect([await call("busy"), await call("busy"), await call("busy")]).toEqual([200, 200, 429]);
    expect(await call("quiet")).toBe(200);
    // Requests without a valid token are not counted against any organization (they get 401).
    expect((await fetch(`${server.url}/trpc/auth.me`)).status).toBe(401);
  });

  it("a request's token is verified once, for the organization limit and the procedure together", async () => {
    const deps = makeDependencies(testDb.db, { config: testConfig({ RATE_LIMIT_PER_ORG: "100" }) });
    let verifications = 0;
    const verifyToken = deps.verifyToken;
    const server = await startServer({ ...deps, verifyToken: (token) => (verifications++, verifyToken(token)) });
    servers.push(server);
    expect((await fetch(`${server.url}/trpc/auth.me`, { headers: auth("once") })).status).toBe(200);
    expect(verifications).toBe(1);
  });

  it("with REDIS_URL, instances share one budget", async () => {
    const prefix = `kuark:test:${randomBytes(4).toString("hex")}:`;
    const env = { RATE_LIMIT_PER_IP: "4", RATE_LIMIT_PER_ORG: "0", RATE_LIMIT_PREFIX: prefix, REDIS_URL };
    const redisA = await connectRedis(REDIS_URL, pino({ level: "silent" }));
    const redisB = await connectRedis(REDIS_URL, pino({ level: "silent" }));
    closers.push(() => redisA.quit(), () => redisB.quit());
    const a = await serve(env, redisA);
    const b = await serve(env, redisB);
    const call = (s: RunningServer) => fetch(`${s.url}/trpc/auth.me`, { headers: auth("shared") }).then((r) => r.status);
    expect([await call(a), await call(b), await call(a), await call(b)]).toEqual([200, 200, 200, 200]);
    expect(await call(a)).toBe(429);
    expect(await call(b)).toBe(429);

    const inspect = createClient({ url: REDIS_URL });
    await inspect.connect();
    const keys = await inspect.keys(`${prefix}*`);
    expect(keys.length).toBeGreaterThan(0);
    await inspect.del(keys);
    await inspect.quit();
  });
});

describe("headers", () => {
  it("security headers are set (helmet)", async () => {
    const server = await serve({});
    const res = await fetch(`${server.url}/health`);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("strict-transport-security")).toContain("max-age");
    expect(res.headers.get("content-security-policy")).toContain("default-src 'self'");
    expect(res.headers.get("x-powered-by")).toBeNull();
  });
});
