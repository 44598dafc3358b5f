/**
 * Walks the resource registry: for every registered resource (generated ones included), every procedure
 * and every role (no role claim, each role of the ladder, and one the service does not know), a call is
 * allowed exactly when the resource's policy says so, over tRPC and over REST. A refused call answers 403
 * (tRPC FORBIDDEN naming the role required; REST `{"detail": "Not enough permissions"}`) and a refused
 * write changes nothing in the table or the change log. `:own` rules: another member's refusal is 403 and
 * changes nothing, while the row's creator and an admin succeed; a resource whose policy has no `:own` is
 * walked with `:own` added to its update and delete rules, on an app whose services are built that way.
 * The walk goes through the tRPC fast paths (JSON and SSE) as the service runs by default; the `:own` app
 * answers through tRPC's own adapter, so both are covered.
 */
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../server/app.js";
import { ROLES } from "../../server/contract/roles.js";
import type { Role } from "../../server/contract/roles.js";
import type { AppDependencies } from "../../server/dependencies.js";
import { atLeast, declarationOf, describeRule, OWN_OVERRIDE, policyOf, PROCEDURE_OPERATIONS } from "../../server/kit/access.js";
import type { AccessPolicy, AccessRule, ResourceProcedure } from "../../server/kit/access.js";
import type { ResourceDefinition } from "../../server/kit/define.js";
import type { ResourceKey } from "../../server/resources/definitions.js";
import { createOrgData, sqlIdentifier } from "../../server/kit/scope.js";
import { createResourceServices } from "../../server/kit/service.js";
import { Prisma } from "../../server/generated/prisma/client.js";
import { toSnakeKeys } from "../../server/rest/case.js";
import { appRouter } from "../../server/trpc/app-router.js";
import { tokenFor } from "../support/app.js";
import { everyResource, exampleOf, useTestApp, withReferences } from "../support/fixtures.js";
import type { Entity, TestOrg } from "../support/fixtures.js";

const t = useTestApp({ server: true });

const UNKNOWN_ROLE = "not-a-real-role";
/** The role claims under test: none, each role, and an unknown one. */
const CLAIMS: [string, string | undefined][] = [["no role claim", undefined], ...ROLES.map((role): [string, string] => [role, role]), [UNKNOWN_ROLE, UNKNOWN_ROLE]];

/** The role a claim gives under the test configuration; null: no access. */
const effectiveRole = (claim: string | undefined): Role | null =>
  claim === undefined ? t.deps.config.roles.defaultRole : (ROLES as readonly string[]).includes(claim) ? (claim as Role) : null;

const allows = (role: Role | null, rule: AccessRule) => role !== null && atLeast(role, rule.role);

const tokenOf = (sub: string, org: string, claim: string | undefined) => tokenFor(sub, org, claim === undefined ? {} : { role: claim });

interface Outcome {
  status: number;
  code?: string | undefined;
  reason?: string | undefined;
  message?: string | undefined;
  detail?: unknown;
}

type ProcedureType = "query" | "mutation" | "subscription";
const procedureTypes = appRouter._def.procedures as unknown as Record<string, { _def: { type: ProcedureType } }>;

/** One procedure over tRPC's HTTP wire, as any client sends it (a GET query, a POST mutation, an SSE subscription). */
async function overTrpc(url: string, token: string, path: string, input: unknown): Promise<Outcome> {
  const type = procedureTypes[path]?._def.type;
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  const query = input === undefined ? "" : `?input=${encodeURIComponent(JSON.stringify(input))}`;
  const controller = new AbortController();
  const res =
    type === "mutation"
      ? await fetch(`${url}/trpc/${path}`, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify(input) })
      : await fetch(`${url}/trpc/${path}${query}`, { headers: type === "subscription" ? { ...headers, accept: "text/event-stream" } : headers, signal: controller.signal });
  if (type === "subscription" && res.ok) return firstSseAnswer(res, controller);
  const body = (await res.json()) as { error?: { message: string; data: { code: string; reason?: string } } };
  return { status: res.status, code: body.error?.data.code, reason: body.error?.data.reason, message: body.error?.message };
}

/**
 * A subscription's answer, as tRPC's SSE protocol gives it: the stream opens (200) either with `connected`
 * (started: its events are tests/live's) or with a `serialized-error`, the error's shape, whose HTTP status is
 * the answer here.
 */
async function firstSseAnswer(res: Response, controller: AbortController): Promise<Outcome> {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = "";
  try {
    for (;;) {
      const error = /event: serialized-error\ndata: (.*)\n/.exec(text);
      if (error?.[1]) {
        const shape = JSON.parse(error[1]) as { message: string; data: { code: string; httpStatus: number; reason?: string } };
        return { status: shape.data.httpStatus, code: shape.data.code, reason: shape.data.reason, message: shape.message };
      }
      if (text.includes("event: connected")) return { status: res.status };
      const { value, done } = (await reader.read()) as { value: Uint8Array | undefined; done: boolean };
      if (done) throw new Error(`the stream ended before it said anything: ${text}`);
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    controller.abort();
  }
}

/** One REST route: its status and `detail`. */
async function overRest(url: string, token: string, method: string, path: string, body: unknown): Promise<Outcome> {
  const res = await fetch(`${url}${path}`, {
    method: method.toUpperCase(),
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { "content-type": "application/json" }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, ...(res.status >= 400 && { detail: (JSON.parse(text) as { detail: unknown }).detail }) };
}

/** Everything a write could change for the organization: the resource's rows (deleted ones too) and the change log. */
async function snapshot(definition: ResourceDefinition, org: string) {
  const prisma = t.deps.db.prisma;
  const rows = await prisma.$queryRaw(Prisma.sql`SELECT * FROM ${sqlIdentifier(definition.storage.table)} WHERE organization_id = ${org} ORDER BY id`);
  const events = await prisma.changeEvent.findMany({ where: { organizationId: org }, orderBy: { id: "asc" } });
  return { rows, events };
}

/** A REST route of the served document: method, path template, the operation's role, its success status. */
interface DocumentedRoute {
  method: string;
  path: string;
  requiredRole: string;
  othersRowsRole: string | undefined;
  /** The operation's description and its 403 answer, as a reader of the document sees them. */
  description: string;
  forbidden: unknown;
  success: number;
}

async function documentedRoutes(url: string, definition: ResourceDefinition): Promise<DocumentedRoute[]> {
  const document = (await (await fetch(`${url}/api/v1/openapi.json`)).json()) as { paths: Record<string, Record<string, Record<string, unknown>>> };
  const base = `/api/v1/${definition.restPath}`;
  return Object.entries(document.paths)
    .filter(([path]) => path === base || path === `${base}/{id}`)
    .flatMap(([path, item]) =>
      Object.entries(item).map(([method, operation]) => ({
        method,
        path,
        requiredRole: operation["x-required-role"] as string,
        othersRowsRole: operation["x-others-rows-role"] as string | undefined,
        description: operation.description as string,
        forbidden: (operation.responses as Record<string, unknown>)["403"],
        success: Number(Object.keys(operation.responses as object).find((status) => status.startsWith("2"))),
      })),
    );
}

/** The operation of a REST method on a resource's routes. */
const OPERATION_OF_METHOD = { get: "read", post: "create", put: "update", patch: "update", delete: "delete" } as const;

/** Every procedure of the resource, as the app router has them: the kit's list, nothing more or less. */
function proceduresOf(key: string): ResourceProcedure[] {
  const procedures = Object.keys(procedureTypes)
    .filter((path) => path.startsWith(`${key}.`))
    .map((path) => path.slice(key.length + 1));
  expect(procedures.sort()).toEqual(Object.keys(PROCEDURE_OPERATIONS).sort());
  return procedures as ResourceProcedure[];
}

/**
 * The input of each procedure, on rows of the caller's organization; `created` is a create input whose
 * references name rows of that organization. Inputs come from the resource's example with its unique keys
 * made unique (`exampleOf`), so a second create or an update never meets a key taken.
 */
function inputOf(procedure: ResourceProcedure, key: ResourceKey, created: Record<string, unknown>, row: Entity, doomed: Entity): unknown {
  switch (procedure) {
    case "create":
      return created;
    case "list":
    case "infinite":
    case "onChange":
      return undefined;
    case "byId":
    case "history":
      return { id: row.id };
    case "update":
      return { id: row.id, data: exampleOf(key) };
    case "delete":
      return { id: doomed.id };
  }
}

/** A caller of `owner`'s organization whose rows are seeded as `sub`'s, as if `sub` had created them. */
const seededAs = (owner: TestOrg, sub: string): TestOrg => ({ ...owner, sub, actor: { ...owner.actor, sub } });

describe.each(everyResource)("%s", (key, definition) => {
  const policy = definition.access;

  it.each(CLAIMS)("over tRPC, as %s: each procedure answers exactly as the policy says, and a refused write changes nothing", async (label, claim) => {
    const role = effectiveRole(claim);
    const owner = t.newOrg("seeder");
    const [row, doomed] = await t.seed(key, seededAs(owner, "caller"), 2);
    if (!row || !doomed) throw new Error("seed made no rows");
    const token = tokenOf("caller", owner.org, claim);

    // auth.me answers every caller, with the effective role or the unknown one.
    const me = (await (await fetch(`${t.server.url}/trpc/auth.me`, { headers: { authorization: `Bearer ${token}` } })).json()) as { result: { data: unknown } };
    expect(me.result.data).toMatchObject(role === null ? { unknownRole: claim } : { role });

    for (const procedure of proceduresOf(key)) {
      const rule = policy[PROCEDURE_OPERATIONS[procedure]];
      const created = await withReferences(owner.api, key, exampleOf(key));
      const before = await snapshot(definition, owner.org);
      const outcome = await overTrpc(t.server.url, token, `${key}.${procedure}`, inputOf(procedure, key, created, row, doomed));
      const what = `${key}.${procedure} as ${label}`;
      if (allows(role, rule)) {
        expect(outcome, what).toEqual({ status: 200, code: undefined, reason: undefined, message: undefined });
        continue;
      }
      expect(outcome, what).toMatchObject({ status: 403, code: "FORBIDDEN", reason: "FORBIDDEN" });
      expect(outcome.message, what).toContain(role === null ? `"${UNKNOWN_ROLE}"` : `requires the role ${rule.role}`);
      expect(await snapshot(definition, owner.org), `${what} changed nothing`).toEqual(before);
    }
  });

  it.each(CLAIMS)("over REST, as %s: each route answers exactly as the policy says, and a refused write changes nothing", async (label, claim) => {
    const role = effectiveRole(claim);
    const owner = t.newOrg("seeder");
    const routes = await documentedRoutes(t.server.url, definition);
    expect(routes.map((r) => `${r.method} ${r.path}`).sort()).toEqual(
      [`delete`, `get`, `patch`, `put`].map((m) => `${m} /api/v1/${definition.restPath}/{id}`).concat([`get /api/v1/${definition.restPath}`, `post /api/v1/${definition.restPath}`]).sort(),
    );
    const rows = await t.seed(key, seededAs(owner, "caller"), routes.length);
    const token = tokenOf("caller", owner.org, claim);
    for (const [i, route] of routes.entries()) {
      const rule = policy[OPERATION_OF_METHOD[route.method as keyof typeof OPERATION_OF_METHOD]];
      // The document says what the service enforces.
      expect(route.requiredRole).toBe(rule.role);
      expect(route.othersRowsRole).toBe(rule.own ? OWN_OVERRIDE : undefined);
      expect(route.description).toContain(`Requires the role ${describeRule(rule)}`);
      expect(route.forbidden).toMatchObject({ content: { "application/json": { schema: { $ref: "#/components/schemas/HTTPError" } } } });
      const path = route.path.replace("{id}", rows[i]?.id ?? "");
      const input = route.method === "post" ? await withReferences(owner.api, key, exampleOf(key)) : exampleOf(key);
      const body = route.method === "get" || route.method === "delete" ? undefined : toSnakeKeys(input);
      const before = await snapshot(definition, owner.org);
      const outcome = await overRest(t.server.url, token, route.method, path, body);
      const what = `${route.method.toUpperCase()} ${route.path} as ${label}`;
      if (allows(role, rule)) {
        expect(outcome, what).toEqual({ status: route.success });
        continue;
      }
      expect(outcome, what).toEqual({ status: 403, detail: "Not enough permissions" });
      expect(await snapshot(definition, owner.org), `${what} changed nothing`).toEqual(before);
    }
  });
});

/** `:own` applies to update and delete; a rule at OWN_OVERRIDE or above has nobody it could refuse. */
const ownRules = (policy: AccessPolicy) => (["update", "delete"] as const).filter((operation) => policy[operation].own && !atLeast(policy[operation].role, OWN_OVERRIDE));

/** The resource's policy if it has an `:own` rule that can refuse; else the same with `member:own` for update and delete. */
function ownPolicyOf(definition: ResourceDefinition): AccessPolicy {
  if (ownRules(definition.access).length > 0) return definition.access;
  return policyOf({ ...declarationOf(definition.access), update: "member:own", delete: "member:own" });
}

/**
 * An app whose services enforce `ownPolicyOf` each resource (the same database, hub and surfaces), answering
 * tRPC by tRPC's own adapter (TRPC_FAST_PATHS=false), where the app under `t` answers by the fast paths.
 */
let ownApp: { url: string; close(): Promise<void> } | undefined;
beforeAll(async () => {
  const definitions = Object.fromEntries(everyResource.map(([key, definition]) => [key, { ...definition, access: ownPolicyOf(definition) }]));
  const services = createResourceServices(definitions, createOrgData(t.deps.db), { hub: t.deps.changeHub, retentionHours: t.deps.config.live.eventRetentionHours });
  const deps: AppDependencies = { ...t.deps, config: { ...t.deps.config, trpcFastPaths: false }, resourceServices: services as unknown as AppDependencies["resourceServices"] };
  const server = createApp(deps).listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => server.once("listening", resolve));
  ownApp = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
});
afterAll(() => ownApp?.close());

describe.each(everyResource)("%s: :own", (key, definition) => {
  const declared = ownRules(definition.access).length > 0;
  const policy = ownPolicyOf(definition);
  const url = () => (declared ? t.server.url : (ownApp?.url ?? ""));

  it.each(ownRules(policy))("%s: another user's row needs admin; its creator and an admin succeed, over tRPC and REST", async (operation) => {
    const rule = policy[operation];
    const owner = t.newOrg("seeder");
    const rows = await t.seed(key, seededAs(owner, "carol"), 6);
    const [trpcOwn, trpcAdmin, trpcOther, restOwn, restAdmin, restOther] = rows as [Entity, Entity, Entity, Entity, Entity, Entity];
    const creator = tokenOf("carol", owner.org, rule.role);
    const other = tokenOf("dave", owner.org, rule.role);
    const admin = tokenOf("erin", owner.org, OWN_OVERRIDE);
    const trpcInput = (row: Entity) => (operation === "update" ? { id: row.id, data: exampleOf(key) } : { id: row.id });
    const restCall = (token: string, row: Entity) =>
      overRest(url(), token, operation === "update" ? "patch" : "delete", `/api/v1/${definition.restPath}/${row.id}`, operation === "update" ? toSnakeKeys(exampleOf(key)) : undefined);

    // Another user of the role the rule names: refused with 403 (the row is readable: not a 404), nothing changes.
    let before = await snapshot(definition, owner.org);
    const refused = await overTrpc(url(), other, `${key}.${operation}`, trpcInput(trpcOther));
    expect(refused).toMatchObject({ status: 403, code: "FORBIDDEN", reason: "FORBIDDEN" });
    expect(refused.message).toContain(`needs the role ${OWN_OVERRIDE}`);
    expect(await snapshot(definition, owner.org)).toEqual(before);
    expect((await overTrpc(url(), other, `${key}.byId`, { id: trpcOther.id })).status).toBe(allows(rule.role, policy.read) ? 200 : 403);
    before = await snapshot(definition, owner.org);
    expect(await restCall(other, restOther)).toEqual({ status: 403, detail: "Not enough permissions" });
    expect(await snapshot(definition, owner.org)).toEqual(before);

    // The creator, and an admin on a row that is not theirs.
    expect((await overTrpc(url(), creator, `${key}.${operation}`, trpcInput(trpcOwn))).status).toBe(200);
    expect((await overTrpc(url(), admin, `${key}.${operation}`, trpcInput(trpcAdmin))).status).toBe(200);
    expect((await restCall(creator, restOwn)).status).toBe(operation === "update" ? 200 : 204);
    expect((await restCall(admin, restAdmin)).status).toBe(operation === "update" ? 200 : 204);
    // Another organization's row is still a 404, never a 403 that would tell it exists.
    const stranger = tokenOf("dave", t.newOrg("someone").org, OWN_OVERRIDE);
    expect(await overTrpc(url(), stranger, `${key}.${operation}`, trpcInput(trpcOther))).toMatchObject({ status: 404, code: "NOT_FOUND" });
  });
});
