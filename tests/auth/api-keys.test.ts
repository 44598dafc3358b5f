/**
 * API keys on one service (API_KEYS_ENABLED=true), over real HTTP: the secret answered once, the role
 * ceiling, the `admin` policy, organization isolation, the refusals (expired, deleted, unknown: the bodies
 * of a bad JWT), both headers on tRPC, REST and subscriptions (and `connectionParams`), the change log
 * naming the key, and `lastUsedAt` written at most once per interval. Across two processes:
 * tests/live/api-keys-instances.test.ts.
 */
import { describe, expect, it } from "vitest";
import { createApiKeyVerifier } from "../../server/auth/api-keys.js";
import { createOrgData } from "../../server/kit/scope.js";
import { createApiKeyService } from "../../server/resources/apiKeys/service.js";
import { rawToken, testConfig, tokenFor } from "../support/app.js";
import { useTestApp } from "../support/fixtures.js";
import { rawStream } from "../support/live.js";
import { DocumentedApi } from "../rest/documented-api.js";
import type { OpenApiDocumentJson } from "../rest/documented-api.js";
import { pino } from "pino";

const t = useTestApp({ server: true, config: testConfig({ API_KEYS_ENABLED: "true" }) });

type Json = Record<string, unknown>;
interface Answer {
  status: number;
  body: Json;
}

let orgs = 0;
const newOrg = () => `apikeys-${process.pid}-${++orgs}`;
const adminOf = (org: string, sub = "ada") => tokenFor(sub, org, { role: "admin" });

/** A tRPC call over HTTP (GET for queries, POST for mutations), with `headers` as its credentials. */
async function trpc(path: string, input: unknown, headers: Record<string, string>, type: "query" | "mutation" = "query"): Promise<Answer> {
  const url = `${t.server.url}/trpc/${path}`;
  const res =
    type === "mutation"
      ? await fetch(url, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify(input) })
      : await fetch(`${url}${input === undefined ? "" : `?input=${encodeURIComponent(JSON.stringify(input))}`}`, { headers });
  return { status: res.status, body: (await res.json()) as Json };
}

async function rest(method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<{ status: number; body: Json | undefined }> {
  const res = await fetch(`${t.server.url}/api/v1${path}`, {
    method,
    headers: { ...headers, ...(body !== undefined && { "content-type": "application/json" }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Json) : undefined };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const xApiKey = (secret: string) => ({ "x-api-key": secret });
const data = (answer: Answer) => (answer.body.result as { data: Json }).data;
const errorOf = (answer: Answer) => answer.body.error as { message: string; data: { code: string; httpStatus: number } };

/** Creates a key over tRPC as an admin of `org`; returns the created answer (with its secret). */
async function createKey(org: string, input: Json = {}, token = adminOf(org)): Promise<Json & { id: string; secret: string }> {
  const answer = await trpc("apiKeys.create", { name: "CI", role: "member", ...input }, bearer(token), "mutation");
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return data(answer) as Json & { id: string; secret: string };
}

const until = async (condition: () => Promise<boolean>, timeoutMs = 5_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

describe("creating a key", () => {
  it("answers the secret once (kuark_ + 43 base64url characters); list and byId show only its prefix; only the hash is stored", async () => {
    const org = newOrg();
    const created = await createKey(org, { name: "Deploy bot", role: "member" });
    expect(created.secret).toMatch(/^kuark_[A-Za-z0-9_-]{43}$/);
    expect(created).toMatchObject({ name: "Deploy bot", role: "member", organizationId: org, expiresAt: null, lastUsedAt: null, createdById: "ada" });
    expect(created.secret.startsWith(created.prefix as string)).toBe(true);
    expect((created.prefix as string).length).toBe("kuark_".length + 8);

    const admin = bearer(adminOf(org));
    const byId = data(await trpc("apiKeys.byId", { id: created.id }, admin));
    const list = data(await trpc("apiKeys.list", undefined, admin)) as { data: Json[] };
    const restList = await rest("GET", "/api-keys", admin);
    const restItem = await rest("GET", `/api-keys/${created.id}`, admin);
    const { secret, ...withoutSecret } = created;
    expect(byId).toEqual(withoutSecret);
    expect(list.data).toEqual([withoutSecret]);
    for (const answer of [byId, list, restList.body, restItem.body]) {
      const text = JSON.stringify(answer);
      expect(text).not.toContain(secret.slice("kuark_".length));
      expect(text).not.toContain("secret");
    }
    expect(restItem.body).toMatchObject({ id: created.id, prefix: created.prefix, last_used_at: null, expires_at: null });

    // The table holds the SHA-256 of the secret, not the secret.
    const [row] = await t.deps.db.prisma.$queryRaw<Json[]>`SELECT * FROM api_keys WHERE id = ${created.id}::uuid`;
    expect(row?.secret_hash).toBe((await import("node:crypto")).createHash("sha256").update(secret).digest("hex"));
    expect(JSON.stringify(row)).not.toContain(secret.slice("kuark_".length));
    // Nor does the change log.
    const events = await t.deps.db.prisma.changeEvent.findMany({ where: { organizationId: org, resource: "apiKeys" } });
    expect(events.map((event) => event.type)).toEqual(["created"]);
    expect(JSON.stringify(events, (_key, value: unknown) => (typeof value === "bigint" ? String(value) : value))).not.toMatch(/secret|kuark_[A-Za-z0-9_-]{43}/);
  });

  it("over REST: 201 with the secret in snake_case", async () => {
    const org = newOrg();
    const created = await rest("POST", "/api-keys", bearer(adminOf(org)), { name: "Over REST", role: "viewer", expires_at: "2999-01-01T00:00:00Z" });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: "Over REST", role: "viewer", expires_at: "2999-01-01T00:00:00.000Z", organization_id: org });
    expect(created.body?.secret).toMatch(/^kuark_/);
  });

  it("refuses a role above the creator's: FORBIDDEN on tRPC, 403 on REST; up to its own is fine", async () => {
    const org = newOrg();
    const admin = bearer(adminOf(org));
    const refused = await trpc("apiKeys.create", { name: "Too strong", role: "owner" }, admin, "mutation");
    expect(refused.status).toBe(403);
    expect(errorOf(refused).data.code).toBe("FORBIDDEN");
    expect(errorOf(refused).message).toBe("apiKeys.create: a key's role (owner) may not be above the creator's (admin)");
    expect(await rest("POST", "/api-keys", admin, { name: "Too strong", role: "owner" })).toEqual({ status: 403, body: { detail: "Not enough permissions" } });
    expect((await createKey(org, { role: "admin" })).role).toBe("admin");
    expect((await createKey(org, { role: "owner" }, tokenFor("olga", org, { role: "owner" }))).role).toBe("owner");
    // Nothing was made by the refusals.
    expect((data(await trpc("apiKeys.list", undefined, admin)) as { data: unknown[] }).data).toHaveLength(2);
  });

  it("refuses bad input: an unknown role, an expiry in the past, an empty name", async () => {
    const admin = bearer(adminOf(newOrg()));
    for (const input of [{ name: "x", role: "root" }, { name: "x", role: "member", expiresAt: "2001-01-01T00:00:00Z" }, { name: " ", role: "member" }]) {
      const answer = await trpc("apiKeys.create", input, admin, "mutation");
      expect(errorOf(answer).data.code).toBe("BAD_REQUEST");
    }
    const answer = await rest("POST", "/api-keys", admin, { name: "x", role: "member", expires_at: "2001-01-01T00:00:00Z" });
    expect(answer.status).toBe(422);
    expect(answer.body?.detail).toEqual([{ loc: ["body", "expires_at"], msg: "must be in the future", type: "custom" }]);
  });
});

describe("the policy: admin for every operation", () => {
  it("a member (and a viewer) is refused create, list, byId and delete on tRPC and REST; so is a member's own key", async () => {
    const org = newOrg();
    const key = await createKey(org);
    for (const role of ["member", "viewer"]) {
      const caller = bearer(tokenFor("mo", org, { role }));
      const answers = [
        await trpc("apiKeys.create", { name: "Mine", role: "viewer" }, caller, "mutation"),
        await trpc("apiKeys.list", undefined, caller),
        await trpc("apiKeys.byId", { id: key.id }, caller),
        await trpc("apiKeys.delete", { id: key.id }, caller, "mutation"),
      ];
      expect(answers.map((answer) => errorOf(answer).data.code)).toEqual(["FORBIDDEN", "FORBIDDEN", "FORBIDDEN", "FORBIDDEN"]);
      const restAnswers = [
        await rest("POST", "/api-keys", caller, { name: "Mine", role: "viewer" }),
        await rest("GET", "/api-keys", caller),
        await rest("GET", `/api-keys/${key.id}`, caller),
        await rest("DELETE", `/api-keys/${key.id}`, caller),
      ];
      expect(restAnswers.map((answer) => answer.status)).toEqual([403, 403, 403, 403]);
    }
    // A member-role key may not manage keys either.
    const memberKey = xApiKey(key.secret);
    expect(errorOf(await trpc("apiKeys.list", undefined, memberKey)).data.code).toBe("FORBIDDEN");
    expect((data(await trpc("apiKeys.byId", { id: key.id }, bearer(adminOf(org))))).id).toBe(key.id);
  });

  it("organization isolation: another organization's key id is NOT_FOUND for byId and delete, and still works afterwards", async () => {
    const mine = newOrg();
    const theirs = newOrg();
    const key = await createKey(theirs);
    const me = bearer(adminOf(mine));
    expect(errorOf(await trpc("apiKeys.byId", { id: key.id }, me)).data.code).toBe("NOT_FOUND");
    expect(errorOf(await trpc("apiKeys.delete", { id: key.id }, me, "mutation")).data.code).toBe("NOT_FOUND");
    expect(await rest("GET", `/api-keys/${key.id}`, me)).toEqual({ status: 404, body: { detail: "ApiKey not found" } });
    expect(await rest("DELETE", `/api-keys/${key.id}`, me)).toEqual({ status: 404, body: { detail: "ApiKey not found" } });
    expect((data(await trpc("apiKeys.list", undefined, me)) as { data: unknown[] }).data).toEqual([]);
    // The key still acts for its own organization only.
    const acting = data(await trpc("auth.me", undefined, xApiKey(key.secret)));
    expect(acting).toEqual({ sub: `apikey:${key.id}`, organizationId: theirs, role: "member" });
  });
});

describe("using a key", () => {
  it("acts as apikey:<id> of its organization with its role, as Bearer and as X-API-Key, on tRPC and REST; the change log names it", async () => {
    const org = newOrg();
    const key = await createKey(org, { role: "member" });
    for (const headers of [bearer(key.secret), xApiKey(key.secret)]) {
      expect(data(await trpc("auth.me", undefined, headers))).toEqual({ sub: `apikey:${key.id}`, organizationId: org, role: "member" });
      const viaRest = await rest("POST", "/features", headers, { name: "Made by a key" });
      expect(viaRest.status).toBe(201);
      expect(viaRest.body).toMatchObject({ organization_id: org, created_by_id: `apikey:${key.id}` });
      const viaTrpc = data(await trpc("features.create", { name: "Also by a key" }, headers, "mutation"));
      const history = data(await trpc("features.history", { id: viaTrpc.id }, headers)) as { items: Json[] };
      expect(history.items).toEqual([expect.objectContaining({ type: "created", actorId: `apikey:${key.id}` })]);
    }
  });

  it("subscribes with it: X-API-Key, Bearer, and connectionParams' token (a browser's EventSource)", async () => {
    const org = newOrg();
    const key = await createKey(org, { role: "viewer" });
    const params = `?connectionParams=${encodeURIComponent(JSON.stringify({ token: key.secret }))}`;
    const streams = [rawStream(t.server.url, xApiKey(key.secret)), rawStream(t.server.url, bearer(key.secret)), rawStream(t.server.url, {}, params)];
    for (const stream of streams) await stream.waitFor("event: connected");
    await trpc("features.create", { name: "Seen by every stream" }, bearer(adminOf(org)), "mutation");
    for (const stream of streams) {
      await stream.waitFor("Seen by every stream");
      stream.abort();
    }
    // An unknown key in connectionParams is refused as a bad token is.
    const unknown = rawStream(t.server.url, {}, `?connectionParams=${encodeURIComponent(JSON.stringify({ token: `kuark_${"A".repeat(43)}` }))}`);
    await unknown.waitFor('"code":"UNAUTHORIZED"');
    unknown.abort();
  });

  it("unknown, deleted and expired keys are 401 with the bodies of a bad JWT", async () => {
    const org = newOrg();
    const badJwt = rawToken({ sub: "x", organization_id: org, exp: Math.floor(Date.now() / 1000) + 60 }, {}, "another-secret-0123456789abcdef");
    const refusal = async (headers: Record<string, string>) => ({
      trpc: await trpc("features.list", undefined, headers),
      rest: await rest("GET", "/features", headers),
    });
    const expected = await refusal(bearer(badJwt));
    expect(expected.rest).toEqual({ status: 401, body: { detail: "Invalid authentication credentials" } });
    expect(expected.trpc.status).toBe(401);
    expect(errorOf(expected.trpc)).toMatchObject({ message: "Invalid or missing credentials", data: { code: "UNAUTHORIZED" } });
    const same = (answer: Awaited<ReturnType<typeof refusal>>) => {
      expect(answer.rest).toEqual(expected.rest);
      expect(answer.trpc.status).toBe(401);
      expect(errorOf(answer.trpc).message).toBe(errorOf(expected.trpc).message);
      expect(errorOf(answer.trpc).data.code).toBe("UNAUTHORIZED");
    };

    const unknown = `kuark_${"B".repeat(43)}`;
    same(await refusal(bearer(unknown)));
    same(await refusal(xApiKey(unknown)));
    same(await refusal(xApiKey("kuark_short")));

    const deleted = await createKey(org);
    expect((await refusal(xApiKey(deleted.secret))).rest.status).toBe(200);
    expect(await rest("DELETE", `/api-keys/${deleted.id}`, bearer(adminOf(org)))).toEqual({ status: 204, body: undefined });
    same(await refusal(xApiKey(deleted.secret)));
    same(await refusal(bearer(deleted.secret)));

    const expiring = await createKey(org, { expiresAt: new Date(Date.now() + 2_000).toISOString() });
    expect((await refusal(bearer(expiring.secret))).rest.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, new Date(expiring.expiresAt as string).getTime() - Date.now() + 50)));
    same(await refusal(bearer(expiring.secret)));
    same(await refusal(xApiKey(expiring.secret)));
  });

  it("refuses both headers at once, and a JWT in X-API-Key", async () => {
    const org = newOrg();
    const key = await createKey(org);
    for (const headers of [{ ...bearer(adminOf(org)), ...xApiKey(key.secret) }, xApiKey(adminOf(org))]) {
      expect(await rest("GET", "/features", headers)).toEqual({ status: 401, body: { detail: "Invalid authentication credentials" } });
      expect(errorOf(await trpc("features.list", undefined, headers)).data.code).toBe("UNAUTHORIZED");
    }
  });
});

describe("lastUsedAt", () => {
  const lastUsedAt = async (id: string) => (await t.deps.db.prisma.organizationApiKey.findUniqueOrThrow({ where: { id }, select: { lastUsedAt: true } })).lastUsedAt?.getTime();

  it("over HTTP: set by the first use; two quick uses write it once", async () => {
    const org = newOrg();
    const key = await createKey(org);
    expect(await lastUsedAt(key.id)).toBeUndefined();
    await trpc("auth.me", undefined, xApiKey(key.secret));
    await until(async () => (await lastUsedAt(key.id)) !== undefined);
    const first = await lastUsedAt(key.id);
    await trpc("auth.me", undefined, xApiKey(key.secret));
    await rest("GET", "/features", bearer(key.secret));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await lastUsedAt(key.id)).toBe(first);
    // Seen by the reads, to the millisecond.
    expect((data(await trpc("apiKeys.byId", { id: key.id }, bearer(adminOf(org))))).lastUsedAt).toBe(new Date(first!).toISOString());
  });

  it("is written again once the interval has passed, not before (an injected clock, no sleeping)", async () => {
    const org = newOrg();
    await t.deps.organizations.ensure(org);
    const data = createOrgData(t.deps.db);
    const service = createApiKeyService(data);
    const created = await service.create({ sub: "ada", organizationId: org, role: "admin" }, { name: "Clocked", role: "member" });
    let now = Date.now();
    // No cache (every use reads the row): the interval alone decides, across what a second process would see too.
    const verifier = createApiKeyVerifier({ data, log: pino({ level: "silent" }), now: () => now, cacheTtlMs: 0, lastUsedIntervalMs: 60_000 });

    await verifier.verify(created.secret);
    await until(async () => (await lastUsedAt(created.id)) === now);
    const first = now;
    now += 59_000;
    await verifier.verify(created.secret);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await lastUsedAt(created.id)).toBe(first);
    now += 1_000;
    await verifier.verify(created.secret);
    await until(async () => (await lastUsedAt(created.id)) === now);
    expect(await lastUsedAt(created.id)).toBe(first + 60_000);
  });
});

describe("the OpenAPI document with API keys on", () => {
  it("is valid, declares both security schemes on every operation, and describes the api-keys routes' answers", async () => {
    const api = await DocumentedApi.load(t.server.url); // validated there
    const document = api.document as OpenApiDocumentJson & { components: { securitySchemes: Record<string, unknown> } };
    expect(document.components.securitySchemes).toEqual({
      HTTPBearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" },
      APIKeyHeader: { type: "apiKey", in: "header", name: "X-API-Key", description: "An API key (kuark_...); also accepted as Authorization: Bearer kuark_..." },
    });
    for (const methods of Object.values(document.paths)) {
      for (const operation of Object.values(methods) as unknown as { security: unknown }[]) expect(operation.security).toEqual([{ HTTPBearer: [] }, { APIKeyHeader: [] }]);
    }
    expect(Object.keys(document.paths["/api/v1/api-keys"] ?? {}).sort()).toEqual(["get", "post"]);
    expect(Object.keys(document.paths["/api/v1/api-keys/{id}"] ?? {}).sort()).toEqual(["delete", "get"]);
    // Every answer of the routes, checked against the document (status and body).
    const org = newOrg();
    const token = adminOf(org);
    const created = await api.call<{ id: string; secret: string }>("POST", "/api/v1/api-keys", { token, body: { name: "Documented", role: "member" } });
    expect(created.status).toBe(201);
    expect((await api.call("GET", "/api/v1/api-keys?limit=5", { token })).status).toBe(200);
    expect((await api.call("GET", `/api/v1/api-keys/${created.body.id}`, { token })).status).toBe(200);
    expect((await api.call("POST", "/api/v1/api-keys", { token, body: { name: "x" } })).status).toBe(422);
    expect((await api.call("GET", "/api/v1/api-keys", { token: tokenFor("mo", org, { role: "member" }) })).status).toBe(403);
    expect((await api.call("GET", "/api/v1/features", { headers: { "x-api-key": created.body.secret } })).status).toBe(200);
    expect((await api.call("DELETE", `/api/v1/api-keys/${created.body.id}`, { token })).status).toBe(204);
    expect((await api.call("DELETE", `/api/v1/api-keys/${created.body.id}`, { token })).status).toBe(404);
    expect((await api.call("GET", "/api/v1/features", { headers: { "x-api-key": created.body.secret } })).status).toBe(401);
  });
});
