/**
 * Idempotent creates over REST: a POST's `Idempotency-Key` header (server/kit/idempotency.ts) over real
 * HTTP, each answer checked against the served document (documented-api.ts). The rules every resource
 * follows over tRPC are the conformance suite's (support/resource-suite.ts); these are the wire's: the
 * header, its 422s, `Idempotent-Replayed`, 409 while the first request runs, nested routes, and the
 * document declaring the header on every POST.
 */
import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { Prisma } from "../../server/generated/prisma/client.js";
import { createChangeLog } from "../../server/kit/change-log.js";
import { createOrgData } from "../../server/kit/scope.js";
import { testConfig, tokenFor } from "../support/app.js";
import { databaseKind } from "../support/database.js";
import { FULL_ACCESS_ROLE, useTestApp } from "../support/fixtures.js";
import { DocumentedApi } from "./documented-api.js";
import { everyOperation } from "./registry-routes.js";

type Row = { id: string; name: string } & Record<string, unknown>;
interface Validation {
  detail: { loc: (string | number)[]; msg: string; type: string }[];
}

const FEATURES = "/api/v1/features";
const HOUR = 3_600_000;

const ORIGIN = "http://app.example.test";
const t = useTestApp({ server: true, config: testConfig({ RATE_LIMIT_PER_IP: "0", RATE_LIMIT_PER_ORG: "0", ALLOWED_ORIGINS: ORIGIN }) });
let api: DocumentedApi;
beforeAll(async () => {
  api = await DocumentedApi.load(t.server.url);
});

let orgCount = 0;
/** A brand-new organization: its id and a token of `sub` in it. */
function newOrg(sub = "alice") {
  const org = `idempotency-${process.pid}-${++orgCount}-${randomUUID().slice(0, 8)}`;
  return { org, token: tokenFor(sub, org, { role: FULL_ACCESS_ROLE }), as: (other: string) => tokenFor(other, org, { role: FULL_ACCESS_ROLE }) };
}

/** The organization's features in the table, deleted ones included: what "nothing written" is counted by. */
async function featureRows(org: string): Promise<number> {
  const [row] = await t.deps.db.prisma.$queryRaw<{ n: number }[]>(Prisma.sql`SELECT count(*)::int AS n FROM features WHERE organization_id = ${org}`);
  return row!.n;
}

const post = (path: string, token: string, body: unknown, idempotencyKey?: string) =>
  api.call<Row>("POST", path, { token, body, headers: idempotencyKey === undefined ? {} : { "idempotency-key": idempotencyKey } });

/**
 * A POST outside the document's check: a 409 of a key in use is answered by every POST, but the document
 * lists 409 only for resources with a unique key (features has none; see `createConflictOf` in openapi.ts).
 */
async function postUnchecked(path: string, token: string, body: unknown, idempotencyKey: string) {
  const res = await fetch(t.server.url + path, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "idempotency-key": idempotencyKey },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Row & { detail?: string } };
}

describe("POST with an Idempotency-Key", () => {
  it("the same key and body answer 201 with the same row and Idempotent-Replayed: true, and write nothing", async () => {
    const { org, token } = newOrg();
    const key = randomUUID();
    const body = { name: "Dark mode", description: "Night theme" };
    const first = await post(FEATURES, token, body, key);
    expect(first.status).toBe(201);
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    // The same fields in another order, with other whitespace between them, are the same body.
    const again = await api.call<Row>("POST", FEATURES, { token, rawBody: '{ "description" : "Night theme",\n  "name": "Dark mode" }', headers: { "idempotency-key": key } });
    expect(again.status).toBe(201);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.body).toEqual(first.body);
    expect(await featureRows(org)).toBe(1);
    const list = await api.call<{ pagination: { total: number } }>("GET", FEATURES, { token });
    expect(list.body.pagination.total).toBe(1);
    // Without the key, the same body is another create.
    const other = await post(FEATURES, token, body);
    expect(other.status).toBe(201);
    expect(other.body.id).not.toBe(first.body.id);
    expect(await featureRows(org)).toBe(2);
  });

  it("the same key with another body, or from another user, is 422 on header idempotency-key, and writes nothing", async () => {
    const { org, token, as } = newOrg("alice");
    const key = randomUUID();
    expect((await post(FEATURES, token, { name: "First" }, key)).status).toBe(201);
    const changed = await api.call<Validation>("POST", FEATURES, { token, body: { name: "Second" }, headers: { "idempotency-key": key } });
    expect(changed.status).toBe(422);
    expect(changed.body.detail).toMatchObject([{ loc: ["header", "idempotency-key"], type: "idempotency_key_reused" }]);
    expect(changed.body.detail[0]?.msg).toContain("another input");
    const bob = await api.call<Validation>("POST", FEATURES, { token: as("bob"), body: { name: "First" }, headers: { "idempotency-key": key } });
    expect(bob.status).toBe(422);
    expect(bob.body.detail).toMatchObject([{ loc: ["header", "idempotency-key"], type: "idempotency_key_reused" }]);
    expect(bob.body.detail[0]?.msg).toContain("another caller");
    expect(await featureRows(org)).toBe(1);
  });

  it("a malformed Idempotency-Key is 422 on the header, beside the body's own bad fields; nothing is written", async () => {
    const { org, token } = newOrg();
    for (const key of ["", "k".repeat(256), "two words"]) {
      const refused = await api.call<Validation>("POST", FEATURES, { token, body: { name: "Fine" }, headers: { "idempotency-key": key } });
      expect(refused.status, JSON.stringify(key)).toBe(422);
      expect(refused.body.detail.map((entry) => entry.loc), JSON.stringify(key)).toEqual([["header", "idempotency-key"]]);
    }
    const both = await api.call<Validation>("POST", FEATURES, { token, body: { name: "" }, headers: { "idempotency-key": "two words" } });
    expect(both.status).toBe(422);
    expect(both.body.detail.map((entry) => entry.loc)).toEqual([
      ["header", "idempotency-key"],
      ["body", "name"],
    ]);
    expect(await featureRows(org)).toBe(0);
  });

  it("keys of another organization do not collide", async () => {
    const [a, b] = [newOrg(), newOrg()];
    const key = randomUUID();
    const ofA = await post(FEATURES, a.token, { name: "Same" }, key);
    const ofB = await post(FEATURES, b.token, { name: "Same" }, key);
    expect([ofA.status, ofB.status]).toEqual([201, 201]);
    expect(ofB.headers.get("idempotent-replayed")).toBeNull();
    expect(ofB.body.id).not.toBe(ofA.body.id);
    expect(ofB.body.organization_id).toBe(b.org);
    expect([await featureRows(a.org), await featureRows(b.org)]).toEqual([1, 1]);
  });

  it("concurrent POSTs with one key: one 201 creates, the others are 409 or its replay, and there is one row", async () => {
    const { org, token } = newOrg();
    const key = randomUUID();
    const answers = await Promise.all(Array.from({ length: 8 }, () => postUnchecked(FEATURES, token, { name: "Raced" }, key)));
    const created = answers.filter((answer) => answer.status === 201);
    expect(created.filter((answer) => answer.headers.get("idempotent-replayed") === null)).toHaveLength(1);
    expect(new Set(created.map((answer) => answer.body.id)).size).toBe(1);
    for (const answer of answers.filter((a) => a.status !== 201)) {
      expect(answer.status).toBe(409);
      expect(answer.body.detail).toMatch(/still running/);
    }
    expect(await featureRows(org)).toBe(1);
  });

  it.skipIf(databaseKind !== "postgres")("while the first request with the key runs, a second is 409 at once; once it commits, a replay", async () => {
    const { org, token } = newOrg();
    await t.deps.organizations.ensure(org);
    const key = randomUUID();
    const prisma = t.deps.db.prisma;
    // Another transaction holds the organization's lock: the first create waits for it at its change event, its key claimed.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const lockHeld = new Promise<void>((resolve) => (locked = resolve));
    const holder = createOrgData(t.deps.db).transaction(async (tx) => {
      await createChangeLog(tx.events(org), "features", "test").lockOrganization();
      locked();
      await released;
    });
    await lockHeld;
    const first = postUnchecked(FEATURES, token, { name: "Slow" }, key);
    const waiting = async () => {
      const [row] = await prisma.$queryRaw<{ n: number }[]>(
        Prisma.sql`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      );
      return row!.n;
    };
    for (let i = 0; i < 200 && (await waiting()) === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await waiting()).toBe(1);
    const second = await postUnchecked(FEATURES, token, { name: "Slow" }, key);
    expect(second.status).toBe(409);
    expect(second.body.detail).toMatch(/still running/);
    release();
    await holder;
    const done = await first;
    expect(done.status).toBe(201);
    const third = await post(FEATURES, token, { name: "Slow" }, key);
    expect(third.status).toBe(201);
    expect(third.headers.get("idempotent-replayed")).toBe("true");
    expect(third.body).toEqual(done.body);
    expect(await featureRows(org)).toBe(1);
  });

  it("a key answers for 24 hours; past that, the same key and body make a new row", async () => {
    const { org, token } = newOrg();
    const key = randomUUID();
    const first = await post(FEATURES, token, { name: "Daily" }, key);
    t.clock.advance(24 * HOUR - 60_000);
    const replay = await post(FEATURES, token, { name: "Daily" }, key);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.body.id).toBe(first.body.id);
    t.clock.advance(120_000);
    const later = await post(FEATURES, token, { name: "Daily" }, key);
    expect(later.status).toBe(201);
    expect(later.headers.get("idempotent-replayed")).toBeNull();
    expect(later.body.id).not.toBe(first.body.id);
    expect(await featureRows(org)).toBe(2);
  });

  it("a nested POST takes the key too; the flat POST with the same key and the same fields is the same create", async () => {
    const { token } = newOrg();
    const project = await post("/api/v1/projects", token, { key: "web", name: "Web" });
    expect(project.status).toBe(201);
    const key = randomUUID();
    const nested = `/api/v1/projects/${project.body.id}/environments`;
    const first = await post(nested, token, { key: "prod", name: "Production" }, key);
    expect(first.status).toBe(201);
    const again = await post(nested, token, { key: "prod", name: "Production" }, key);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.body).toEqual(first.body);
    const flat = await post("/api/v1/environments", token, { project_id: project.body.id, key: "prod", name: "Production" }, key);
    expect(flat.status).toBe(201);
    expect(flat.headers.get("idempotent-replayed")).toBe("true");
    expect(flat.body).toEqual(first.body);
    const changed = await api.call<Validation>("POST", nested, { token, body: { key: "prod", name: "Renamed" }, headers: { "idempotency-key": key } });
    expect(changed.status).toBe(422);
    expect(changed.body.detail[0]?.loc).toEqual(["header", "idempotency-key"]);
  });

  it("a browser of an allowed origin may send Idempotency-Key and read Idempotent-Replayed", async () => {
    const preflight = await fetch(`${t.server.url}${FEATURES}`, {
      method: "OPTIONS",
      headers: { origin: ORIGIN, "access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type,idempotency-key" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("idempotency-key");
    const { token } = newOrg();
    const key = randomUUID();
    await post(FEATURES, token, { name: "From a browser" }, key);
    const replay = await api.call("POST", FEATURES, { token, body: { name: "From a browser" }, headers: { "idempotency-key": key, origin: ORIGIN } });
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.headers.get("access-control-expose-headers")).toContain("Idempotent-Replayed");
  });

  it("the document declares the optional Idempotency-Key header and Idempotent-Replayed on every POST, nested ones included", () => {
    type Operation = { parameters?: { name: string; in: string; required: boolean; schema: { maxLength?: number; minLength?: number } }[]; responses: Record<string, { headers?: Record<string, unknown> }> };
    const posts = everyOperation().filter((operation) => operation.startsWith("POST "));
    expect(posts.length).toBeGreaterThan(0);
    for (const operation of posts) {
      const path = operation.slice("POST ".length);
      const documented = (api.document.paths[path] as unknown as Record<string, Operation>).post!;
      expect(documented.parameters?.find((parameter) => parameter.in === "header"), operation).toMatchObject({
        name: "Idempotency-Key",
        required: false,
        schema: { minLength: 1, maxLength: 255 },
      });
      expect(documented.responses["201"]?.headers, operation).toHaveProperty("Idempotent-Replayed");
    }
  });
});
