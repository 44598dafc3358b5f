/**
 * tRPC over a real listening server: its wire format (plain JSON, batches, the typed client) and its errors
 * on the wire (401, 400 with per-field messages, 404, malformed requests, a hidden 500 in production).
 * The edge every route shares (health, CORS, logs) is tests/service/http-edge.test.ts.
 */
import { createTRPCClient, httpBatchLink, TRPCClientError } from "@trpc/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AppRouter } from "../../server/trpc/app-router.js";
import { makeDependencies, memoryLogger, startServer, testConfig, tokenFor } from "../support/app.js";
import type { RunningServer } from "../support/app.js";
import { createTestDatabase } from "../support/database.js";
import type { TestDatabase } from "../support/database.js";

let testDb: TestDatabase;
let server: RunningServer;
const token = tokenFor("alice", `http-${process.pid}`);
const auth = { authorization: `Bearer ${token}` };

beforeAll(async () => {
  testDb = await createTestDatabase();
  server = await startServer(makeDependencies(testDb.db));
});
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  await server?.close();
  await testDb?.drop();
  for (const cleanup of cleanups) await cleanup();
});

const post = (path: string, body: unknown, headers: Record<string, string> = auth) =>
  fetch(`${server.url}/trpc/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
const get = (path: string, input?: unknown, headers: Record<string, string> = auth) =>
  fetch(`${server.url}/trpc/${path}${input === undefined ? "" : `?input=${encodeURIComponent(JSON.stringify(input))}`}`, { headers });

describe("tRPC over HTTP, plain JSON", () => {
  it("a mutation and a query as curl sends them", async () => {
    const created = await post("features.create", { name: "Over the wire" });
    expect(created.status).toBe(200);
    const { result } = (await created.json()) as { result: { data: { id: string; createdAt: string } } };
    expect(typeof result.data.createdAt).toBe("string");

    const read = await get("features.byId", { id: result.data.id });
    expect(read.status).toBe(200);
    expect(((await read.json()) as { result: { data: unknown } }).result.data).toEqual(result.data);

    const list = await get("features.list", { search: "wire" });
    expect(((await list.json()) as { result: { data: { pagination: { total: number } } } }).result.data.pagination.total).toBe(1);
  });

  it("batches several calls in one request", async () => {
    const res = await fetch(`${server.url}/trpc/auth.me,features.list?batch=1&input=${encodeURIComponent(JSON.stringify({ 1: { limit: 1 } }))}`, { headers: auth });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Array<{ result: { data: unknown } }>;
    expect(body).toHaveLength(2);
    expect(body[0]?.result.data).toMatchObject({ sub: "alice" });
  });

  it("the typed tRPC client works against it", async () => {
    const client = createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: `${server.url}/trpc`, headers: auth })] });
    const feature = await client.features.create.mutate({ name: "Typed" });
    const [me, byId] = await Promise.all([client.auth.me.query(), client.features.byId.query({ id: feature.id })]);
    expect(me.sub).toBe("alice");
    expect(byId.name).toBe("Typed");
    const error = await client.features.create.mutate({ name: "x" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCClientError);
    expect((error as TRPCClientError<AppRouter>).data).toMatchObject({ code: "BAD_REQUEST", httpStatus: 400, fieldErrors: { name: ["must be at least 2 characters"] } });
  });
});

describe("errors on the wire", () => {
  it("401 with a generic message for a missing or bad token", async () => {
    for (const headers of [{}, { authorization: "Bearer nope" }, { authorization: token }] as Array<Record<string, string>>) {
      const res = await get("auth.me", undefined, headers);
      expect(res.status).toBe(401);
      const body = (await res.json()) as { error: { message: string; data: { code: string } } };
      expect(body.error.message).toBe("Invalid or missing credentials");
      expect(body.error.data.code).toBe("UNAUTHORIZED");
    }
  });

  it("400 with per-field messages", async () => {
    const res = await post("features.update", { id: "nope", data: { name: "x", status: "MAYBE" } });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { message: string; data: { code: string; fieldErrors: Record<string, string[]> } } };
    expect(body.error.data.code).toBe("BAD_REQUEST");
    expect(Object.keys(body.error.data.fieldErrors).sort()).toEqual(["data.name", "data.status", "id"]);
    expect(body.error.data.fieldErrors["data.name"]).toEqual(["must be at least 2 characters"]);
    expect(body.error.data).not.toHaveProperty("stack");
  });

  it("404 for another organization's feature", async () => {
    const created = (await (await post("features.create", { name: "Mine" })).json()) as { result: { data: { id: string } } };
    const other = { authorization: `Bearer ${tokenFor("eve", "other-org")}` };
    const res = await get("features.byId", { id: created.result.data.id }, other);
    expect(res.status).toBe(404);
  });

  it("malformed JSON, unknown procedures and wrong methods get tRPC errors, and the server keeps serving", async () => {
    const malformed = await post("features.create", "{not json");
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { error: { data: { code: string } } }).error.data.code).toBe("BAD_REQUEST");

    const unknown = await get("features.nope");
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { data: { code: string } } }).error.data.code).toBe("NOT_FOUND");

    const wrongMethod = await get("features.create", { name: "via GET" });
    expect(wrongMethod.status).toBe(405);

    const queryByPost = await post("features.list", {});
    expect(queryByPost.status).toBe(405);

    const badInputParam = await fetch(`${server.url}/trpc/features.list?input=%7Bnot`, { headers: auth });
    expect(badInputParam.status).toBe(400);

    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });

  it("unknown paths outside /trpc are a JSON 404", async () => {
    const res = await fetch(`${server.url}/nowhere`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: "Not found" });
  });
});

describe("unexpected errors", () => {
  async function serverWithBrokenDatabase(nodeEnv: "production" | "development") {
    const broken = await createTestDatabase();
    const memory = memoryLogger("info");
    const s = makeDependencies(broken.db, { config: testConfig({ NODE_ENV: nodeEnv, SECRET_KEY: "test-secret-key-0123456789abcdef" }), log: memory.log });
    const running = await startServer(s);
    // A schema that lost its table: a bug, not an outage (a dropped database is 503, see database-faults).
    await broken.db.prisma.$executeRawUnsafe("DROP TABLE features CASCADE");
    cleanups.push(() => broken.drop());
    return { running, lines: memory.lines };
  }

  it("are 500 with no stack, SQL or Prisma text in production, and logged with the request id", async () => {
    const { running, lines } = await serverWithBrokenDatabase("production");
    try {
      const res = await fetch(`${running.url}/trpc/features.list`, { headers: { ...auth, "x-request-id": "req-prod-1" } });
      expect(res.status).toBe(500);
      expect(res.headers.get("x-request-id")).toBe("req-prod-1");
      const text = await res.text();
      const body = JSON.parse(text) as { error: { message: string; data: Record<string, unknown> } };
      expect(body.error.message).toBe("Internal server error");
      expect(body.error.data).toMatchObject({ code: "INTERNAL_SERVER_ERROR", httpStatus: 500, requestId: "req-prod-1" });
      expect(text).not.toMatch(/stack|prisma|SELECT|features"|at \//i);
      const logged = lines.map((l) => JSON.parse(l) as { msg: string; requestId?: string; err?: unknown }).find((l) => l.msg === "unexpected error");
      expect(logged?.requestId).toBe("req-prod-1");
      expect(logged?.err).toBeDefined();
    } finally {
      await running.close();
    }
  });

  it("carry the message and stack outside production", async () => {
    const { running } = await serverWithBrokenDatabase("development");
    try {
      const res = await fetch(`${running.url}/trpc/features.list`, { headers: auth });
      expect(res.status).toBe(500);
      const body = (await res.json()) as { error: { message: string; data: { stack?: string } } };
      expect(body.error.message).not.toBe("Internal server error");
      expect(body.error.data.stack).toBeTypeOf("string");
    } finally {
      await running.close();
    }
  });
});
