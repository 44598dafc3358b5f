/**
 * Issue 21, item 7: no 500 from any input. Each hostile input below gets its documented 4xx, naming the
 * field where there is one, and the log holds no error-level line for any of them.
 */
import { request } from "node:http";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { makeDependencies, memoryLogger, startServer, tokenFor } from "../support/app.js";
import type { RunningServer } from "../support/app.js";
import { createTestDatabase } from "../support/database.js";
import type { TestDatabase } from "../support/database.js";

let testDb: TestDatabase;
let server: RunningServer;
const logged = memoryLogger("info");
const token = tokenFor("alice", `hostile-${process.pid}`);
const auth = { authorization: `Bearer ${token}` };
const UUID = "00000000-0000-4000-8000-000000000000";

beforeAll(async () => {
  testDb = await createTestDatabase();
  server = await startServer(makeDependencies(testDb.db, { log: logged.log }));
});
afterAll(async () => {
  await server?.close();
  await testDb?.drop();
});

const query = (path: string, input: unknown) => fetch(`${server.url}/trpc/${path}?input=${encodeURIComponent(JSON.stringify(input))}`, { headers: auth });

/** The error-level lines of the log (pino level 50 and above) since the test began. */
let seen = 0;
beforeEach(() => {
  seen = logged.lines.length;
});
const errorLines = () => logged.lines.slice(seen).filter((line) => (JSON.parse(line) as { level: number }).level >= 50);

describe("hostile input is bad input, never a 500", () => {
  it.each([
    ["features.infinite", { cursor: `0000-01-01T00:00:00.000Z_${UUID}` }, "cursor"],
    ["features.infinite", { cursor: `9999-12-31T23:59:59.999Z_${UUID}` }, undefined],
    ["features.history", { id: UUID, cursor: "9223372036854775808" }, "cursor"],
    ["features.history", { id: UUID, cursor: "9223372036854775807" }, undefined],
    ["features.infinite", { sort: { field: "createdAt", direction: "asc" }, cursor: "s1.WyJjcmVhdGVkQXQiLCJhc2MiLCIwMDAwLTAxLTAxVDAwOjAwOjAwLjAwMFoiLCIwMDAwMDAwMC0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDAiXQ" }, "cursor"],
  ])("%s %j: 400 naming %s (or an answer)", async (path, input, field) => {
    const res = await query(path, input);
    const body = (await res.json()) as { error?: { data: { code: string; fieldErrors?: Record<string, string[]> } } };
    if (field === undefined) {
      // In range: an ordinary answer (an empty page, or NOT_FOUND for the unknown row's history).
      expect([200, 404]).toContain(res.status);
    } else {
      expect(res.status).toBe(400);
      expect(Object.keys(body.error?.data.fieldErrors ?? {})).toEqual([field]);
    }
    expect(errorLines()).toEqual([]);
  });

  it("onChange with a lastEventId past PostgreSQL's bigint is BAD_REQUEST naming it, as the stream's error event", async () => {
    const res = await fetch(`${server.url}/trpc/features.onChange?input=${encodeURIComponent(JSON.stringify({ lastEventId: "9999999999999999999" }))}`, {
      headers: auth,
      signal: AbortSignal.timeout(5_000),
    });
    // A subscription's errors travel in its stream (tRPC's SSE wire): one serialized-error event, then the end.
    const text = await res.text();
    const event = /event: serialized-error\ndata: (.*)\n/.exec(text)?.[1];
    const error = JSON.parse(event ?? "null") as { data: { code: string; fieldErrors?: Record<string, string[]> } } | null;
    expect(error?.data.code).toBe("BAD_REQUEST");
    expect(Object.keys(error?.data.fieldErrors ?? {})).toEqual(["lastEventId"]);
    expect(errorLines()).toEqual([]);
  });

  it("TRACE and other methods tRPC does not serve are 4xx, never 500", async () => {
    // node:http, not fetch: fetch refuses to send TRACE.
    const statusOf = (method: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request(`${server.url}/trpc/features.list`, { method, headers: auth }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on("error", reject);
        req.end();
      });
    for (const method of ["TRACE", "PROPFIND"]) expect(await statusOf(method), method).toBe(405);
    // These tRPC's adapter answers itself (405, or 415 before it looks at the method when there is no JSON body).
    for (const method of ["PUT", "DELETE", "PATCH"]) expect([405, 415], method).toContain(await statusOf(method));
    expect(errorLines()).toEqual([]);
  });
});
