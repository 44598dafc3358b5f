/**
 * The REST API under /api/v1/features over real HTTP, on a real database (PostgreSQL with
 * TEST_DATABASE_URL, PGlite without): the FastAPI service's contract, status by status. Every answer is
 * checked against the served OpenAPI document (documented-api.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeDependencies, rawToken, startServer, testConfig, tokenFor } from "../support/app.js";
import type { RunningServer } from "../support/app.js";
import { createTestDatabase } from "../support/database.js";
import type { TestDatabase } from "../support/database.js";
import { DocumentedApi } from "./documented-api.js";

interface Feature {
  id: string;
  name: string;
  description: string | null;
  status: "ACTIVE" | "INACTIVE";
  organization_id: string;
  created_by_id: string;
  updated_by_id: string;
  created_at: string;
  updated_at: string;
}
interface Page {
  data: Feature[];
  pagination: { page: number; limit: number; total: number; total_pages: number; total_is_estimate: boolean };
}
interface Detail {
  detail: string;
}
interface Validation {
  detail: { loc: (string | number)[]; msg: string; type: string }[];
}

let testDb: TestDatabase;
let server: RunningServer;
let api: DocumentedApi;
const org = `rest-${process.pid}`;
const otherOrg = `rest-other-${process.pid}`;
const token = tokenFor("alice", org);
const otherToken = tokenFor("mallory", otherOrg);
const UNKNOWN_ID = "6f1c1d1e-8a1b-4c2d-9e3f-0123456789ab";

beforeAll(async () => {
  testDb = await createTestDatabase();
  server = await startServer(makeDependencies(testDb.db, { config: testConfig({ RATE_LIMIT_PER_IP: "0", RATE_LIMIT_PER_ORG: "0" }) }));
  api = await DocumentedApi.load(server.url);
});
afterAll(async () => {
  await server?.close();
  await testDb?.drop();
});

async function create(body: object, as = token): Promise<Feature> {
  const res = await api.call<Feature>("POST", "/api/v1/features", { token: as, body });
  expect(res.status).toBe(201);
  return res.body;
}

/** The `loc`s of a 422. */
function locs(body: Validation): string[] {
  return body.detail.map((entry) => entry.loc.join("."));
}

describe("POST /api/v1/features", () => {
  it("201 with the feature in snake_case, ISO timestamps, audit fields and the token's organization", async () => {
    const res = await api.call<Feature>("POST", "/api/v1/features", { token, body: { name: "  Dark mode ", description: "Night theme" } });
    expect(res.status).toBe(201);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(Object.keys(res.body).sort()).toEqual(
      ["created_at", "created_by_id", "description", "id", "name", "organization_id", "status", "updated_at", "updated_by_id"].sort(),
    );
    expect(res.body).toMatchObject({ name: "Dark mode", description: "Night theme", status: "ACTIVE", organization_id: org, created_by_id: "alice", updated_by_id: "alice" });
    expect(new Date(res.body.created_at).toISOString()).toBe(res.body.created_at);
    expect(res.body.updated_at).toBe(res.body.created_at);
  });

  it("takes status and a null description", async () => {
    expect(await create({ name: "Inactive one", description: null, status: "INACTIVE" })).toMatchObject({ status: "INACTIVE", description: null });
  });

  it("422 in FastAPI's shape: unknown keys, wrong types, a missing name, each with its body loc", async () => {
    const res = await api.call<Validation>("POST", "/api/v1/features", { token, body: { title: "x", description: 5, status: "BOGUS" } });
    expect(res.status).toBe(422);
    expect(locs(res.body).sort()).toEqual(["body.description", "body.name", "body.status", "body.title"]);
    const byLoc = Object.fromEntries(res.body.detail.map((entry) => [entry.loc.join("."), entry]));
    expect(byLoc["body.title"]).toMatchObject({ type: "extra_forbidden" });
    expect(byLoc["body.name"]).toMatchObject({ type: "missing", msg: "Field required" });
    expect(byLoc["body.description"]?.type).toBe("invalid_type");
  });

  it("422 with the contract's messages: a name too short, a NUL character", async () => {
    const short = await api.call<Validation>("POST", "/api/v1/features", { token, body: { name: " x " } });
    expect(short.status).toBe(422);
    expect(short.body.detail).toEqual([{ loc: ["body", "name"], msg: "must be at least 2 characters", type: "too_small" }]);
    const nul = await api.call<Validation>("POST", "/api/v1/features", { token, body: { name: "bad\u0000name", description: "also\u0000" } });
    expect(nul.status).toBe(422);
    expect(nul.body.detail.map((entry) => [entry.loc.join("."), entry.msg])).toEqual([
      ["body.name", "must not contain NUL characters"],
      ["body.description", "must not contain NUL characters"],
    ]);
  });

  it("malformed JSON, a JSON array and no body at all are 422, never 500", async () => {
    const malformed = await api.call<Validation>("POST", "/api/v1/features", { token, rawBody: '{"name": "Dark' });
    expect(malformed.status).toBe(422);
    expect(malformed.body.detail[0]).toMatchObject({ loc: ["body"], type: "json_invalid" });
    const array = await api.call<Validation>("POST", "/api/v1/features", { token, body: [{ name: "Dark mode" }] });
    expect(array.status).toBe(422);
    expect(locs(array.body)).toEqual(["body"]);
    const none = await api.call<Validation>("POST", "/api/v1/features", { token });
    expect(none.status).toBe(422);
    expect(none.body.detail).toEqual([{ loc: ["body"], msg: "Field required", type: "missing" }]);
  });

  it("the organization comes from the token only: an organization_id in the body is refused", async () => {
    const res = await api.call<Validation>("POST", "/api/v1/features", { token, body: { name: "Sneaky", organization_id: otherOrg } });
    expect(res.status).toBe(422);
    expect(locs(res.body)).toEqual(["body.organization_id"]);
  });
});

describe("GET /api/v1/features", () => {
  const listOrg = `rest-list-${process.pid}`;
  const listToken = tokenFor("lister", listOrg);
  let made: Feature[];

  beforeAll(async () => {
    made = [];
    for (const [name, status] of [
      ["Alpha 100%", "ACTIVE"],
      ["Beta 1000", "INACTIVE"],
      ["gamma_under", "ACTIVE"],
      ["DELTA mixed Case", "ACTIVE"],
      ["Epsilon", "INACTIVE"],
    ] as const) {
      made.push(await create({ name, status }, listToken));
    }
  });

  it("200 with defaults page 1 and limit 20, newest first, and the pagination object", async () => {
    const res = await api.call<Page>("GET", "/api/v1/features", { token: listToken });
    expect(res.status).toBe(200);
    expect(res.body.data.map((f) => f.name)).toEqual(made.map((f) => f.name).reverse());
    expect(res.body.pagination).toEqual({ page: 1, limit: 20, total: 5, total_pages: 1, total_is_estimate: false });
  });

  it("pages with page and limit; a page past the end is empty with the true total", async () => {
    const second = await api.call<Page>("GET", "/api/v1/features?page=2&limit=2", { token: listToken });
    expect(second.status).toBe(200);
    expect(second.body.data.map((f) => f.name)).toEqual([made[2]!.name, made[1]!.name]);
    expect(second.body.pagination).toEqual({ page: 2, limit: 2, total: 5, total_pages: 3, total_is_estimate: false });
    const past = await api.call<Page>("GET", "/api/v1/features?page=9&limit=2", { token: listToken });
    expect(past.body.data).toEqual([]);
    expect(past.body.pagination.total).toBe(5);
  });

  it("search is a literal, case-insensitive substring of the name", async () => {
    const names = async (query: string) => (await api.call<Page>("GET", `/api/v1/features?${query}`, { token: listToken })).body.data.map((f) => f.name);
    expect(await names("search=100%25")).toEqual(["Alpha 100%"]);
    expect(await names("search=_under")).toEqual(["gamma_under"]);
    expect(await names("search=mixed%20case")).toEqual(["DELTA mixed Case"]);
    expect(await names("search=zzz")).toEqual([]);
  });

  it("filters by status, alone and with search", async () => {
    const res = await api.call<Page>("GET", "/api/v1/features?status=INACTIVE", { token: listToken });
    expect(res.body.data.map((f) => f.name)).toEqual(["Epsilon", "Beta 1000"]);
    expect(res.body.pagination.total).toBe(2);
    const both = await api.call<Page>("GET", "/api/v1/features?status=ACTIVE&search=a", { token: listToken });
    expect(both.body.data.map((f) => f.name)).toEqual(["DELTA mixed Case", "gamma_under", "Alpha 100%"]);
  });

  it("never shows another organization's features; unknown query parameters are ignored", async () => {
    const res = await api.call<Page>("GET", "/api/v1/features?_=12345", { token: otherToken });
    expect(res.status).toBe(200);
    expect(res.body.data.every((f) => f.organization_id === otherOrg)).toBe(true);
    expect(res.body.data.map((f) => f.id)).not.toEqual(expect.arrayContaining([made[0]!.id]));
  });

  it.each([
    ["limit=0", "query.limit"],
    ["limit=101", "query.limit"],
    ["page=0", "query.page"],
    ["page=abc", "query.page"],
    ["limit=1.5", "query.limit"],
    ["status=BOGUS", "query.status"],
    ["search=a%00b", "query.search"],
    ["status=ACTIVE&status=INACTIVE", "query.status"],
  ])("422 for %s with loc %s", async (query, loc) => {
    const res = await api.call<Validation>("GET", `/api/v1/features?${query}`, { token: listToken });
    expect(res.status).toBe(422);
    expect(locs(res.body)).toEqual([loc]);
  });

  it("several bad query parameters are reported together", async () => {
    const res = await api.call<Validation>("GET", "/api/v1/features?page=0&limit=101&status=nope", { token: listToken });
    expect(res.status).toBe(422);
    expect(locs(res.body).sort()).toEqual(["query.limit", "query.page", "query.status"]);
  });
});

describe("GET /api/v1/features/{id}", () => {
  it("200 with the feature", async () => {
    const feature = await create({ name: "Readable" });
    const res = await api.call<Feature>("GET", `/api/v1/features/${feature.id}`, { token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual(feature);
  });

  it('404 {"detail":"Feature not found"} for an unknown id, an id that is not a UUID, and another organization\'s feature', async () => {
    const theirs = await create({ name: "Theirs" }, otherToken);
    for (const id of [UNKNOWN_ID, "not-a-uuid", "42", theirs.id]) {
      const res = await api.call<Detail>("GET", `/api/v1/features/${id}`, { token });
      expect(res.status, id).toBe(404);
      expect(res.body).toEqual({ detail: "Feature not found" });
    }
  });

  it("422 with a path loc for an id holding a NUL character", async () => {
    const res = await api.call<Validation>("GET", "/api/v1/features/abc%00def", { token });
    expect(res.status).toBe(422);
    expect(res.body.detail).toEqual([{ loc: ["path", "id"], msg: "must not contain NUL characters", type: "custom" }]);
  });
});

describe("PUT and PATCH /api/v1/features/{id}", () => {
  it.each(["PUT", "PATCH"])("%s changes only the fields given and records who and when", async (method) => {
    const feature = await create({ name: `Partial ${method}`, description: "keep me", status: "ACTIVE" });
    const res = await api.call<Feature>(method, `/api/v1/features/${feature.id}`, { token: tokenFor("bob", org), body: { status: "INACTIVE" } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: feature.id, name: `Partial ${method}`, description: "keep me", status: "INACTIVE", created_by_id: "alice", updated_by_id: "bob" });
    expect(res.body.updated_at > feature.updated_at).toBe(true);
    const renamed = await api.call<Feature>(method, `/api/v1/features/${feature.id}`, { token, body: { name: "Renamed", description: null } });
    expect(renamed.body).toMatchObject({ name: "Renamed", description: null, status: "INACTIVE" });
    expect((await api.call<Feature>("GET", `/api/v1/features/${feature.id}`, { token })).body).toEqual(renamed.body);
  });

  it("409 on a stale expected_updated_at, changing nothing; a fresh one succeeds", async () => {
    const feature = await create({ name: "Contended" });
    const first = await api.call<Feature>("PUT", `/api/v1/features/${feature.id}`, { token, body: { name: "First writer", expected_updated_at: feature.updated_at } });
    expect(first.status).toBe(200);
    const stale = await api.call<Detail>("PATCH", `/api/v1/features/${feature.id}`, { token, body: { name: "Second writer", expected_updated_at: feature.updated_at } });
    expect(stale.status).toBe(409);
    expect(stale.body.detail).toMatch(/changed by someone else/);
    expect((await api.call<Feature>("GET", `/api/v1/features/${feature.id}`, { token })).body.name).toBe("First writer");
    const fresh = await api.call<Feature>("PUT", `/api/v1/features/${feature.id}`, { token, body: { name: "Second writer", expected_updated_at: first.body.updated_at } });
    expect(fresh.status).toBe(200);
  });

  it("422: a bad field, an unknown key, a bad expected_updated_at, and nothing to change", async () => {
    const feature = await create({ name: "Validated update" });
    const bad = await api.call<Validation>("PUT", `/api/v1/features/${feature.id}`, { token, body: { name: "x", color: "red", expected_updated_at: "yesterday" } });
    expect(bad.status).toBe(422);
    expect(locs(bad.body).sort()).toEqual(["body.color", "body.expected_updated_at", "body.name"]);
    const empty = await api.call<Validation>("PATCH", `/api/v1/features/${feature.id}`, { token, body: {} });
    expect(empty.status).toBe(422);
    expect(empty.body.detail).toEqual([{ loc: ["body"], msg: "must change at least one field", type: "custom" }]);
    expect((await api.call<Feature>("GET", `/api/v1/features/${feature.id}`, { token })).body).toEqual(feature);
  });

  it("404 for an unknown, non-UUID or another organization's feature, which stays unchanged", async () => {
    const theirs = await create({ name: "Not yours to change" }, otherToken);
    for (const [method, id] of [
      ["PUT", theirs.id],
      ["PATCH", theirs.id],
      ["PUT", UNKNOWN_ID],
      ["PATCH", "nope"],
    ] as const) {
      const res = await api.call<Detail>(method, `/api/v1/features/${id}`, { token, body: { name: "Hijacked" } });
      expect(res.status, `${method} ${id}`).toBe(404);
      expect(res.body).toEqual({ detail: "Feature not found" });
    }
    expect((await api.call<Feature>("GET", `/api/v1/features/${theirs.id}`, { token: otherToken })).body).toEqual(theirs);
  });
});

describe("DELETE /api/v1/features/{id}", () => {
  it("204 with an empty body; afterwards 404 on read, update and delete, and gone from the list", async () => {
    const feature = await create({ name: "Doomed" });
    const res = await api.call("DELETE", `/api/v1/features/${feature.id}`, { token });
    expect(res.status).toBe(204);
    expect(res.text).toBe("");
    expect((await api.call("GET", `/api/v1/features/${feature.id}`, { token })).status).toBe(404);
    expect((await api.call("PUT", `/api/v1/features/${feature.id}`, { token, body: { name: "Revived" } })).status).toBe(404);
    expect((await api.call("DELETE", `/api/v1/features/${feature.id}`, { token })).status).toBe(404);
    const list = await api.call<Page>("GET", "/api/v1/features?search=Doomed", { token });
    expect(list.body.data).toEqual([]);
  });

  it("soft: the row stays in the database with deleted_at set", async () => {
    const feature = await create({ name: "Soft deleted" });
    expect((await api.call("DELETE", `/api/v1/features/${feature.id}`, { token })).status).toBe(204);
    const row = await testDb.db.prisma.feature.findUnique({ where: { id: feature.id } });
    expect(row?.deletedAt).toBeInstanceOf(Date);
  });

  it("404 for another organization's feature, which survives", async () => {
    const theirs = await create({ name: "Survivor" }, otherToken);
    const res = await api.call<Detail>("DELETE", `/api/v1/features/${theirs.id}`, { token });
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ detail: "Feature not found" });
    expect((await api.call("GET", `/api/v1/features/${theirs.id}`, { token: otherToken })).status).toBe(200);
  });
});

describe("authentication", () => {
  const routes = [
    ["GET", "/api/v1/features"],
    ["POST", "/api/v1/features"],
    ["GET", `/api/v1/features/${UNKNOWN_ID}`],
    ["PUT", `/api/v1/features/${UNKNOWN_ID}`],
    ["PATCH", `/api/v1/features/${UNKNOWN_ID}`],
    ["DELETE", `/api/v1/features/${UNKNOWN_ID}`],
  ] as const;

  it.each(routes)('%s %s without Authorization: 401 {"detail":"Not authenticated"} with WWW-Authenticate: Bearer', async (method, path) => {
    const res = await api.call<Detail>(method, path, { body: method === "POST" || method === "PUT" || method === "PATCH" ? { name: "No token" } : undefined });
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ detail: "Not authenticated" });
    expect(res.headers.get("www-authenticate")).toBe("Bearer");
  });

  const invalid: [string, string][] = [
    ["garbage", "not.a.jwt"],
    ["expired", tokenFor("alice", org, { minutes: -10 })],
    ["wrongly signed", rawToken({ sub: "alice", organization_id: org }, { expiresIn: 60 }, "another-secret-0123456789abcdef")],
    ["NUL in organization_id", rawToken({ sub: "alice", organization_id: "acme\u0000evil" }, { expiresIn: 60 })],
    ["NUL in sub", rawToken({ sub: "ali\u0000ce", organization_id: org }, { expiresIn: 60 })],
    ["sub over 200 characters", rawToken({ sub: "s".repeat(201), organization_id: org }, { expiresIn: 60 })],
  ];

  it.each(invalid)('a %s token: 401 {"detail":"Invalid authentication credentials"}', async (_label, bad) => {
    for (const [method, path] of [routes[0], routes[1]] as const) {
      const res = await api.call<Detail>(method, path, { token: bad, body: method === "POST" ? { name: "Bad token" } : undefined });
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ detail: "Invalid authentication credentials" });
      expect(res.headers.get("www-authenticate")).toBe("Bearer");
    }
  });

  it("a Basic Authorization header is invalid credentials too", async () => {
    const res = await api.call<Detail>("GET", "/api/v1/features", { headers: { authorization: "Basic YWxpY2U6c2VjcmV0" } });
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ detail: "Invalid authentication credentials" });
  });

  it("a sub of exactly 200 characters is still a valid caller", async () => {
    const longSub = "s".repeat(200);
    const feature = await create({ name: "Long sub" }, rawToken({ sub: longSub, organization_id: org }, { expiresIn: 60 }));
    expect(feature.created_by_id).toBe(longSub);
  });
});

describe("the same refusal of bad tokens on tRPC", () => {
  it.each([
    ["NUL in organization_id", rawToken({ sub: "alice", organization_id: "acme\u0000evil" }, { expiresIn: 60 })],
    ["NUL in sub", rawToken({ sub: "ali\u0000ce", organization_id: org }, { expiresIn: 60 })],
    ["sub over 200 characters", rawToken({ sub: "s".repeat(201), organization_id: org }, { expiresIn: 60 })],
  ])("%s: 401 UNAUTHORIZED, not a 500", async (_label, bad) => {
    const res = await fetch(`${server.url}/trpc/features.create`, {
      method: "POST",
      headers: { authorization: `Bearer ${bad}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "Bad token" }),
    });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { data: { code: string } } }).error.data.code).toBe("UNAUTHORIZED");
  });
});

describe("unknown routes and methods", () => {
  it('404 {"detail":"Not Found"} under /api/v1, 405 with Allow for a method a route lacks', async () => {
    const unknown = await fetch(`${server.url}/api/v1/flags`, { headers: { authorization: `Bearer ${token}` } });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ detail: "Not Found" });
    const wrong = await fetch(`${server.url}/api/v1/features`, { method: "DELETE", headers: { authorization: `Bearer ${token}` } });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("GET, POST");
    expect(await wrong.json()).toEqual({ detail: "Method Not Allowed" });
  });
});

describe("the document covers what the tests received", () => {
  // Features' own routes; every route of every resource is called in every-route.test.ts.
  it("every route and method of the document for features was called, and its success status seen", () => {
    const featureRoutes = ["/api/v1/features", "/api/v1/features/{id}"];
    const operations = Object.entries(api.document.paths)
      .filter(([template]) => featureRoutes.includes(template))
      .flatMap(([template, methods]) => Object.keys(methods).map((method) => `${method} ${template}`));
    expect(operations).toHaveLength(6);
    const success = { get: "200", post: "201", put: "200", patch: "200", delete: "204" } as Record<string, string>;
    for (const operation of operations) {
      const [method] = operation.split(" ");
      expect(api.seen, operation).toContain(`${operation} ${success[method!]}`);
    }
  });
});
