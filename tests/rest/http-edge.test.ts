/**
 * What the service does at its edge for /trpc holds for /api/v1 too: body limit (413), rate limits (429
 * with Retry-After, one budget for both APIs), CORS, request ids, JSON logs without tokens, and a hidden
 * 500 in production; each REST error carries `detail` and matches the document.
 */
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Config } from "../../server/config.js";
import { makeDependencies, memoryLogger, startServer, testConfig, tokenFor } from "../support/app.js";
import type { RunningServer } from "../support/app.js";
import { createTestDatabase } from "../support/database.js";
import type { TestDatabase } from "../support/database.js";
import { DocumentedApi } from "./documented-api.js";

let testDb: TestDatabase;
const servers: RunningServer[] = [];
const token = tokenFor("alice", `rest-edge-${process.pid}`);

beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await testDb?.drop();
});

async function serve(env: NodeJS.ProcessEnv, log?: ReturnType<typeof memoryLogger>["log"]): Promise<{ server: RunningServer; api: DocumentedApi; config: Config }> {
  const config = testConfig(env);
  const server = await startServer(makeDependencies(testDb.db, { config, ...(log && { log }) }));
  servers.push(server);
  return { server, api: await DocumentedApi.load(server.url), config };
}

describe("body limit", () => {
  it('a declared body over MAX_BODY_BYTES is 413 with "detail", before it is read', async () => {
    const { api } = await serve({ MAX_BODY_BYTES: "1000" });
    const res = await api.call<{ detail: string }>("POST", "/api/v1/features", { token, body: { name: "x".repeat(2000) } });
    expect(res.status).toBe(413);
    expect(res.body).toEqual({ detail: "Request body is larger than 1000 bytes" });
  });

  it("a chunked body (no declared length) over the limit is 413 with detail too", async () => {
    const { server, api } = await serve({ MAX_BODY_BYTES: "1000" });
    const { port } = new URL(server.url);
    const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        { port, host: "127.0.0.1", path: "/api/v1/features", method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "transfer-encoding": "chunked" } },
        (res) => {
          let text = "";
          res.on("data", (chunk: Buffer) => (text += chunk.toString()));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on("error", reject);
      req.write(`{"name":"${"y".repeat(1500)}`);
      req.end(`"}`);
    });
    expect(answer.status).toBe(413);
    const body: unknown = JSON.parse(answer.text);
    expect(body).toEqual({ detail: "Request body is larger than 1000 bytes" });
    api.check("POST", "/api/v1/features", answer.status, answer.text, body);
  });
});

describe("rate limits", () => {
  it("429 with Retry-After and detail; /trpc and /api/v1 spend one per-IP budget", async () => {
    const { server, api } = await serve({ RATE_LIMIT_PER_IP: "4", RATE_LIMIT_PER_ORG: "0" });
    // DocumentedApi.load spent one request of the budget on the document.
    expect((await fetch(`${server.url}/trpc/auth.me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect((await api.call("GET", "/api/v1/features", { token })).status).toBe(200);
    expect((await api.call("GET", "/api/v1/features", { token })).status).toBe(200);
    const limited = await api.call<{ detail: string }>("GET", "/api/v1/features", { token });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(limited.body.detail).toMatch(/too many requests/i);
    // The tRPC side keeps its own error shape for the same refusal.
    const trpc = await fetch(`${server.url}/trpc/auth.me`, { headers: { authorization: `Bearer ${token}` } });
    expect(trpc.status).toBe(429);
    expect(((await trpc.json()) as { error: { data: { code: string } } }).error.data.code).toBe("TOO_MANY_REQUESTS");
  });

  it("a 429 on tRPC carries data.requestId, the x-request-id it is sent with (issue 21, item 11)", async () => {
    const { server } = await serve({ RATE_LIMIT_PER_IP: "1", RATE_LIMIT_PER_ORG: "0" });
    const headers = { authorization: `Bearer ${token}` };
    let limited = await fetch(`${server.url}/trpc/auth.me`, { headers });
    for (let i = 0; i < 3 && limited.status !== 429; i++) limited = await fetch(`${server.url}/trpc/auth.me`, { headers });
    expect(limited.status).toBe(429);
    const body = (await limited.json()) as { error: { data: { code: string; requestId?: string } } };
    expect(body.error.data.code).toBe("TOO_MANY_REQUESTS");
    expect(body.error.data.requestId).toBeTruthy();
    expect(body.error.data.requestId).toBe(limited.headers.get("x-request-id"));
  });

  it("per organization, counted from the same verified token", async () => {
    const { api } = await serve({ RATE_LIMIT_PER_IP: "0", RATE_LIMIT_PER_ORG: "2" });
    const busy = tokenFor("alice", `busy-${process.pid}`);
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await api.call("GET", "/api/v1/features", { token: busy })).status);
    expect(statuses).toEqual([200, 200, 429]);
    expect((await api.call("GET", "/api/v1/features", { token: tokenFor("bob", `quiet-${process.pid}`) })).status).toBe(200);
  });
});

describe("CORS, request ids and logs", () => {
  it("allows configured origins (preflight included) and no others", async () => {
    const { server } = await serve({ ALLOWED_ORIGINS: "http://app.example.test" });
    const allowed = await fetch(`${server.url}/api/v1/features`, { headers: { authorization: `Bearer ${token}`, origin: "http://app.example.test" } });
    expect(allowed.headers.get("access-control-allow-origin")).toBe("http://app.example.test");
    const preflight = await fetch(`${server.url}/api/v1/features/x`, {
      method: "OPTIONS",
      headers: { origin: "http://app.example.test", "access-control-request-method": "PUT", "access-control-request-headers": "authorization,content-type" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-methods")).toContain("PUT");
    const denied = await fetch(`${server.url}/api/v1/features`, { headers: { authorization: `Bearer ${token}`, origin: "http://evil.example.test" } });
    expect(denied.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("keeps a sane x-request-id, logs the request as JSON with it, and never logs the token", async () => {
    const memory = memoryLogger("info");
    const { api } = await serve({}, memory.log);
    const res = await api.call("GET", "/api/v1/features?limit=5", { token, headers: { "x-request-id": "rest-req-1" } });
    expect(res.headers.get("x-request-id")).toBe("rest-req-1");
    const fresh = await api.call("GET", "/api/v1/features", { token, headers: { "x-request-id": "bad id with spaces" } });
    expect(fresh.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    const entries = memory.lines.map((line) => JSON.parse(line) as { req?: { id: string; url: string }; res?: { statusCode: number } });
    expect(entries.find((entry) => entry.req?.id === "rest-req-1")).toMatchObject({ req: { url: "/api/v1/features?limit=5" }, res: { statusCode: 200 } });
    expect(memory.lines.join("\n")).not.toContain(token.split(".")[2]!);
  });
});

describe("unexpected errors", () => {
  it("a 500 in production says only 'Internal server error'; the log has the cause and the request id", async () => {
    const broken = await createTestDatabase();
    try {
      const memory = memoryLogger("info");
      const config = testConfig({ NODE_ENV: "production", DOCS_ENABLED: "true" });
      const server = await startServer(makeDependencies(broken.db, { config, log: memory.log }));
      servers.push(server);
      const api = await DocumentedApi.load(server.url);
      // A real fault no mapping knows: the table is gone.
      await broken.db.prisma.$executeRawUnsafe("DROP TABLE features CASCADE");
      const res = await api.call<{ detail: string }>("GET", "/api/v1/features", { token, headers: { "x-request-id": "rest-500" } });
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ detail: "Internal server error" });
      expect(res.text).not.toMatch(/features|prisma|table/i);
      const logged = memory.lines.map((line) => JSON.parse(line) as { msg: string; requestId?: string; err?: { message: string } });
      const entry = logged.find((line) => line.msg === "unexpected error" && line.requestId === "rest-500");
      expect(entry?.err?.message).toMatch(/features/);
    } finally {
      await broken.drop();
    }
  });

  it("outside production the 500's detail is the error's message", async () => {
    const broken = await createTestDatabase();
    try {
      const server = await startServer(makeDependencies(broken.db));
      servers.push(server);
      const api = await DocumentedApi.load(server.url);
      await broken.db.prisma.$executeRawUnsafe("DROP TABLE features CASCADE");
      const res = await api.call<{ detail: string }>("POST", "/api/v1/features", { token, body: { name: "Nowhere to go" } });
      expect(res.status).toBe(500);
      expect(res.body.detail).toMatch(/features/);
    } finally {
      await broken.drop();
    }
  });
});
