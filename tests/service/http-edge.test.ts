/**
 * The service's HTTP edge over a real listening server, for every route: health and readiness, CORS, and
 * JSON request logs with a request id and never a token. (tests/rest/http-edge.test.ts checks the same edge
 * for /api/v1; tests/trpc/http.test.ts checks tRPC's wire format and errors.)
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeDependencies, memoryLogger, startServer, testConfig, tokenFor } from "../support/app.js";
import type { RunningServer } from "../support/app.js";
import { createTestDatabase } from "../support/database.js";
import type { TestDatabase } from "../support/database.js";

let testDb: TestDatabase;
let logs: string[];
let server: RunningServer;
const token = tokenFor("alice", `http-${process.pid}`);
const auth = { authorization: `Bearer ${token}` };

beforeAll(async () => {
  testDb = await createTestDatabase();
  const memory = memoryLogger("info");
  logs = memory.lines;
  server = await startServer(makeDependencies(testDb.db, { config: testConfig({ ALLOWED_ORIGINS: "http://app.example.test" }), log: memory.log }));
});
afterAll(async () => {
  await server?.close();
  await testDb?.drop();
});

const get = (path: string, input?: unknown, headers: Record<string, string> = auth) =>
  fetch(`${server.url}/trpc/${path}${input === undefined ? "" : `?input=${encodeURIComponent(JSON.stringify(input))}`}`, { headers });

describe("health", () => {
  it("GET /health answers without touching the database", async () => {
    const res = await fetch(`${server.url}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "healthy" });
  });

  it("GET /health/ready answers 200 when the database does", async () => {
    const res = await fetch(`${server.url}/health/ready`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "ready" });
  });

  it("GET /health/ready answers 503 with a reason when the database is down; /health stays 200", async () => {
    const downDb = await createTestDatabase();
    const downServer = await startServer(makeDependencies(downDb.db));
    try {
      await downDb.drop(); // closes the client and (on PostgreSQL) drops the database
      const ready = await fetch(`${downServer.url}/health/ready`);
      expect(ready.status).toBe(503);
      const body = (await ready.json()) as { status: string; reason: string };
      expect(body.status).toBe("unavailable");
      expect(body.reason).toBe("database unavailable");
      expect((await fetch(`${downServer.url}/health`)).status).toBe(200);
    } finally {
      await downServer.close();
    }
  });

  it("readiness turns 503 while draining", async () => {
    server.state.draining = true;
    try {
      expect((await fetch(`${server.url}/health/ready`)).status).toBe(503);
    } finally {
      server.state.draining = false;
    }
  });
});

describe("CORS", () => {
  it("allows configured origins and no others", async () => {
    const allowed = await fetch(`${server.url}/trpc/auth.me`, { headers: { ...auth, origin: "http://app.example.test" } });
    expect(allowed.headers.get("access-control-allow-origin")).toBe("http://app.example.test");
    const preflight = await fetch(`${server.url}/trpc/features.create`, {
      method: "OPTIONS",
      headers: { origin: "http://app.example.test", "access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
    const denied = await fetch(`${server.url}/trpc/auth.me`, { headers: { ...auth, origin: "http://evil.example.test" } });
    expect(denied.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("logs", () => {
  it("are JSON with a request id per request and never contain a token", async () => {
    const before = logs.length;
    await get("features.list", undefined, { ...auth, "x-request-id": "req-log-1" });
    const lines = logs.slice(before).map((l) => JSON.parse(l) as { req?: { id?: string } });
    expect(lines.some((l) => l.req?.id === "req-log-1")).toBe(true);
    expect(logs.join("\n")).not.toContain(token.split(".")[2]!);
  });

  it("an unusable x-request-id is replaced by a fresh one", async () => {
    const res = await get("auth.me", undefined, { ...auth, "x-request-id": "bad id with spaces" });
    expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });
});
