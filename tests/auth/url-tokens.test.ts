/**
 * Issue 21, item 6: tokens only where they must be. `connectionParams` carry a token for subscriptions
 * only (an EventSource cannot send headers); on a query, a mutation or a batch they are refused, as is a
 * token in a URL's `access_token` or `api_key`; and the request log redacts all of them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeDependencies, memoryLogger, startServer, tokenFor } from "../support/app.js";
import type { RunningServer } from "../support/app.js";
import { createTestDatabase } from "../support/database.js";
import type { TestDatabase } from "../support/database.js";

let testDb: TestDatabase;
let server: RunningServer;
const logged = memoryLogger("info");
const token = tokenFor("alice", `url-tokens-${process.pid}`);
const params = encodeURIComponent(JSON.stringify({ token }));

beforeAll(async () => {
  testDb = await createTestDatabase();
  server = await startServer(makeDependencies(testDb.db, { log: logged.log }));
});
afterAll(async () => {
  await server?.close();
  await testDb?.drop();
});

describe("tokens in URLs", () => {
  it.each([
    ["a query", `/trpc/features.list?connectionParams=${params}`],
    ["a batch", `/trpc/features.list,auth.me?batch=1&input=%7B%7D&connectionParams=${params}`],
    ["a query with access_token", `/trpc/features.list?access_token=${token}`],
    ["a REST list with access_token", `/api/v1/features?access_token=${token}`],
    ["a REST list with api_key", `/api/v1/features?api_key=${token}`],
  ])("%s is refused (401)", async (_label, path) => {
    const res = await fetch(server.url + path);
    expect(res.status).toBe(401);
  });

  it("a token in the URL is refused even beside a valid Authorization header", async () => {
    const res = await fetch(`${server.url}/api/v1/features?access_token=${token}`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(401);
    const trpc = await fetch(`${server.url}/trpc/features.list?connectionParams=${params}`, { headers: { authorization: `Bearer ${token}` } });
    expect(trpc.status).toBe(401);
  });

  it("a subscription still takes its token from connectionParams", async () => {
    const res = await fetch(`${server.url}/trpc/features.onChange?connectionParams=${params}`, { signal: AbortSignal.timeout(10_000) });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/text\/event-stream/);
    const reader = res.body?.getReader();
    const chunk = (await reader?.read())?.value as Uint8Array | undefined;
    const first = new TextDecoder().decode(chunk);
    expect(first).toContain("connected");
    await reader?.cancel();
  });

  it("the request log writes none of the tokens", async () => {
    await fetch(`${server.url}/api/v1/features?token=${token}&x=1`);
    await fetch(`${server.url}/trpc/features.list?ACCESS_TOKEN=${token}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const text = logged.lines.join("\n");
    expect(text).not.toContain(token);
    expect(text).toContain("access_token=[redacted]");
    expect(text).toContain("api_key=[redacted]");
    expect(text).toContain("connectionParams=[redacted]");
    expect(text).toContain("token=[redacted]&x=1");
  });
});
