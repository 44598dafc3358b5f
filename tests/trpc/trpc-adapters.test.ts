/**
 * The lean JSON adapter (server/trpc/json-adapter.ts) against tRPC's official Express adapter: the same
 * raw HTTP calls to two servers on one database, one with the lean path (the default) and one with
 * TRPC_FAST_PATHS=false (tRPC's Express adapter for everything), must get the same status, the same headers and the same body. Only what
 * cannot be equal is set aside: the date, the request id, and a buffered answer's Content-Length where
 * tRPC streams with Transfer-Encoding: chunked (that difference is the point of the lean path).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AppDependencies } from "../../server/dependencies.js";
import { makeDependencies, startServer, testConfig, tokenFor } from "../support/app.js";
import type { RunningServer } from "../support/app.js";
import { createTestDatabase } from "../support/database.js";
import type { TestDatabase } from "../support/database.js";

let testDb: TestDatabase;
const running: { deps: AppDependencies; server: RunningServer }[] = [];
let lean: RunningServer;
let official: RunningServer;
const org = `adapters-${process.pid}`;
const token = tokenFor("alice", org);
const auth = { authorization: `Bearer ${token}` };
let existingId = "";

beforeAll(async () => {
  testDb = await createTestDatabase();
  for (const env of [{}, { TRPC_FAST_PATHS: "false" }]) {
    const deps = makeDependencies(testDb.db, { config: testConfig({ MAX_BATCH_SIZE: "3", ...env }) });
    running.push({ deps, server: await startServer(deps) });
  }
  lean = running[0]!.server;
  official = running[1]!.server;
  // Seeded through the service, so both servers have answered the same requests (their rate-limit counts match).
  const { deps } = running[0]!;
  await deps.organizations.ensure(org);
  existingId = (await deps.resourceServices.features.create({ sub: "alice", organizationId: org, role: "member" }, { name: "Existing feature", description: "seeded", status: "ACTIVE" })).id;
});
afterAll(async () => {
  for (const { server } of running) await server.close();
  await testDb?.drop();
});

interface Case {
  name: string;
  method?: "GET" | "POST" | "HEAD" | "PUT";
  path: string | (() => string);
  headers?: Record<string, string>;
  body?: string;
  bodyOf?: () => string;
  /** Which handler answers on the fast-path server: `lean` for plain JSON calls, `sse` for a subscription, `official` for the rest. */
  by: "lean" | "sse" | "official";
}

const q = (input: unknown) => encodeURIComponent(JSON.stringify(input));
const unknownId = "00000000-0000-4000-8000-000000000000";
const json = { ...auth, "content-type": "application/json" };

const cases: Case[] = [
  { name: "a query without input", path: "features.list", headers: auth, by: "lean" },
  { name: "a query with input", path: () => `features.list?input=${q({ page: 1, limit: 5, search: "existing" })}`, headers: auth, by: "lean" },
  { name: "a query by id", path: () => `features.byId?input=${q({ id: existingId })}`, headers: auth, by: "lean" },
  { name: "auth.me", path: "auth.me", headers: auth, by: "lean" },
  { name: "NOT_FOUND", path: `features.byId?input=${q({ id: unknownId })}`, headers: auth, by: "lean" },
  { name: "BAD_REQUEST with fieldErrors", path: `features.byId?input=${q({ id: "not-a-uuid" })}`, headers: auth, by: "lean" },
  { name: "UNAUTHORIZED without a token", path: "features.list", by: "lean" },
  { name: "UNAUTHORIZED with a garbage token", path: "features.list", headers: { authorization: "Bearer abc.def.ghi" }, by: "lean" },
  { name: "a mutation", method: "POST", path: "features.create", headers: json, body: JSON.stringify({ name: "Created by both" }), by: "lean" },
  { name: "a mutation with charset", method: "POST", path: "features.create", headers: { ...json, "content-type": "application/json; charset=utf-8" }, body: JSON.stringify({ name: "Charset" }), by: "lean" },
  { name: "a mutation with a field error", method: "POST", path: "features.create", headers: json, body: JSON.stringify({ name: "x" }), by: "lean" },
  { name: "a mutation without a body", method: "POST", path: "features.create", headers: json, body: "", by: "lean" },
  { name: "a stale update (CONFLICT)", method: "POST", path: "features.update", headers: json, bodyOf: () => JSON.stringify({ id: existingId, expectedUpdatedAt: "2000-01-01T00:00:00.000Z", data: { description: "stale" } }), by: "lean" },
  { name: "a batch of queries", path: () => `features.list,features.byId?batch=1&input=${q({ 0: { limit: 2 }, 1: { id: existingId } })}`, headers: auth, by: "lean" },
  { name: "a batch with one failure (207)", path: () => `features.byId,features.byId?batch=1&input=${q({ 0: { id: existingId }, 1: { id: unknownId } })}`, headers: auth, by: "lean" },
  { name: "a batch where all fail alike", path: `features.byId,features.byId?batch=1&input=${q({ 0: { id: unknownId }, 1: { id: unknownId } })}`, headers: auth, by: "lean" },
  { name: "a batch without input", path: "auth.me,features.list?batch=1", headers: auth, by: "lean" },
  { name: "a batch of mutations", method: "POST", path: "features.create,features.create?batch=1", headers: json, body: JSON.stringify({ 0: { name: "Batched one" }, 1: { name: "" } }), by: "lean" },
  { name: "an URL-encoded path", path: "features%2Elist", headers: auth, by: "lean" },
  // Passed on to tRPC's adapter:
  { name: "a streamed batch (httpBatchStreamLink)", path: () => `features.byId?batch=1&input=${q({ 0: { id: existingId } })}`, headers: { ...auth, "trpc-accept": "application/jsonl" }, by: "official" },
  { name: "malformed JSON input", path: "features.list?input=%7Bnope", headers: auth, by: "official" },
  { name: "a malformed JSON body", method: "POST", path: "features.create", headers: json, body: "{nope", by: "official" },
  { name: "an unknown procedure", path: "features.nope", headers: auth, by: "official" },
  { name: "a POST to a query", method: "POST", path: "features.list", headers: json, body: "{}", by: "official" },
  { name: "a GET of a mutation", path: "features.create", headers: auth, by: "official" },
  { name: "a batch over MAX_BATCH_SIZE", path: "auth.me,auth.me,auth.me,auth.me?batch=1", headers: auth, by: "official" },
  { name: "a batch whose input is not an object", path: `auth.me?batch=1&input=${q([1])}`, headers: auth, by: "official" },
  { name: "a text/plain body", method: "POST", path: "features.create", headers: { ...auth, "content-type": "text/plain" }, body: "{}", by: "official" },
  // Its first event here; tests/live/sse-wire.test.ts compares whole streams, errors and pings.
  { name: "a subscription (the SSE handler)", path: "features.onChange", headers: { ...auth, accept: "text/event-stream" }, by: "sse" },
  { name: "HEAD", method: "HEAD", path: "features.list", headers: auth, by: "official" },
  { name: "PUT", method: "PUT", path: "features.create", headers: json, body: "{}", by: "official" },
];

/** Values that differ on every answer (ids, times, request ids) replaced by placeholders. */
function normalized(text: string): unknown {
  if (text === "") return "";
  const stable = text
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, (id) => (id === existingId ? "<existing>" : id === unknownId ? "<unknown>" : "<uuid>"))
    .replace(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/g, "<time>")
    .replace(/"requestId":"[^"]*"/g, '"requestId":"<id>"');
  try {
    return JSON.parse(stable) as unknown;
  } catch {
    return stable;
  }
}

const VOLATILE = new Set(["date", "x-request-id", "content-length", "transfer-encoding", "keep-alive", "connection"]);

async function call(server: RunningServer, c: Case) {
  const path = typeof c.path === "function" ? c.path() : c.path;
  const controller = new AbortController();
  const res = await fetch(`${server.url}/trpc/${path}`, {
    method: c.method ?? "GET",
    headers: c.headers ?? {},
    ...((c.body !== undefined || c.bodyOf) && { body: c.bodyOf?.() ?? c.body }),
    signal: controller.signal,
  });
  // A subscription stays open: its first event is enough to compare.
  const text = res.headers.get("content-type")?.startsWith("text/event-stream")
    ? await readFirstEvent(res).finally(() => controller.abort())
    : await res.text();
  // The rate limit's seconds to its window's reset tick on between the two calls.
  const headers = Object.fromEntries(
    [...res.headers].filter(([name]) => !VOLATILE.has(name)).map(([name, value]) => [name, name === "ratelimit" ? value.replace(/reset=\d+/, "reset=<s>") : value]),
  );
  return {
    status: res.status,
    headers,
    body: normalized(text),
    buffered: res.headers.get("content-length") !== null && res.headers.get("transfer-encoding") === null,
    hasRequestId: res.headers.get("x-request-id") !== null,
  };
}

async function readFirstEvent(res: Response): Promise<string> {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = "";
  while (!text.includes("\n\n")) {
    const chunk = await reader.read();
    if (chunk.done) break;
    text += decoder.decode(chunk.value, { stream: true });
  }
  return text.slice(0, text.indexOf("\n\n"));
}

describe("the lean JSON adapter answers exactly as tRPC's adapter", () => {
  for (const c of cases) {
    it(`${c.name}: same status, headers and body${c.by === "lean" ? " (buffered, with Content-Length)" : c.by === "sse" ? "" : " (passed on to tRPC's adapter)"}`, async () => {
      const fromOfficial = await call(official, c);
      const fromLean = await call(lean, c);
      expect(fromLean.status).toBe(fromOfficial.status);
      expect(fromLean.headers).toEqual(fromOfficial.headers);
      expect(fromLean.body).toEqual(fromOfficial.body);
      expect(fromLean.hasRequestId).toBe(true);
      // Which adapter answered: tRPC's streams every body it writes; the lean path buffers it.
      if (c.method !== "HEAD") {
        expect(fromOfficial.buffered).toBe(false);
        expect(fromLean.buffered).toBe(c.by === "lean");
      }
    });
  }

  it("covers successes, errors of several codes, and 207 batches", async () => {
    const statuses = new Set<number>();
    for (const c of cases.filter((c) => c.by === "lean")) statuses.add((await call(official, c)).status);
    expect([...statuses].sort()).toEqual([200, 207, 400, 401, 404, 409].filter((s) => statuses.has(s)));
    for (const s of [200, 207, 400, 401, 404]) expect(statuses).toContain(s);
  });
});
