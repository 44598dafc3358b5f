/**
 * Shared test set-up: deps on a throw-away database of the test file's own (PostgreSQL when
 * TEST_DATABASE_URL is set, embedded PGlite otherwise), an optional listening server, fresh organizations,
 * and seed factories for any registered resource.
 */
import { randomUUID } from "node:crypto";
import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, expect } from "vitest";
import type { Config } from "../../server/config.js";
import type { Logger } from "../../server/logger.js";
import type { ChangeEvent } from "../../server/contract/common.js";
import type { Definitions, ResourceKey } from "../../server/resources/definitions.js";
import { definitions } from "../../server/resources/definitions.js";
import type { Actor } from "../../server/kit/scope.js";
import { atLeast, OPERATIONS, OWN_OVERRIDE } from "../../server/kit/access.js";
import type { Role } from "../../server/contract/roles.js";
import type { AppDependencies } from "../../server/dependencies.js";
import { callerFor, makeDependencies, startServer, testClock, tokenFor } from "./app.js";
import type { RunningServer } from "./app.js";
import { createTestDatabase } from "./database.js";
import type { TestDatabase } from "./database.js";

/** The TRPCError `promise` rejects with (the test fails if it resolves or rejects with anything else). */
export async function rejection(promise: Promise<unknown>): Promise<TRPCError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TRPCError);
  return error as TRPCError;
}

/** A row of any resource, as the API returns it. */
export type Entity = { id: string; organizationId: string; createdAt: string; updatedAt: string } & Record<string, unknown>;

/** Any resource's procedures, seen without their per-resource types (for code that walks the registry). */
export interface LooseResourceApi {
  create(input: unknown): Promise<Entity>;
  list(input?: unknown): Promise<{ data: Entity[]; pagination: { page: number; limit: number; total: number; totalPages: number; totalIsEstimate: boolean } }>;
  infinite(input?: unknown): Promise<{ items: Entity[]; nextCursor: string | null }>;
  byId(input: unknown): Promise<Entity>;
  update(input: unknown): Promise<Entity>;
  delete(input: unknown): Promise<{ id: string }>;
  history(input: unknown): Promise<{ items: ChangeEvent[]; nextCursor: string | null }>;
}

export type Caller = ReturnType<typeof callerFor>;

/**
 * `caller[key]` without the per-resource types. Its `create` fills each required reference the input
 * leaves out (the key absent, not set to undefined) with a row of the resource it refers to, made in the
 * caller's organization (one per caller and resource): tests that walk every resource create rows of a
 * child as they would of a parent. A test of references passes them itself.
 */
export function resourceApi(caller: Caller, key: ResourceKey): LooseResourceApi {
  const routers: Record<string, unknown> = caller;
  const api = routers[key] as LooseResourceApi;
  if (Object.keys(definitions[key].references).length === 0) return api;
  return {
    list: (input) => api.list(input),
    infinite: (input) => api.infinite(input),
    byId: (input) => api.byId(input),
    update: (input) => api.update(input),
    delete: (input) => api.delete(input),
    history: (input) => api.history(input),
    create: async (input) => api.create(await withReferences(caller, key, input as Record<string, unknown>)),
  };
}

/** The parent rows `withReferences` made, per caller and resource. */
const parentsOf = new WeakMap<Caller, Map<string, Promise<string>>>();

/**
 * A create input of `key` from its example, with every text or number field of a unique key made unique
 * (a random suffix, a random number): tests may make many rows of one organization from it.
 */
export function exampleOf(key: ResourceKey): Record<string, unknown> {
  const { example, unique } = definitions[key];
  const input: Record<string, unknown> = { ...example };
  for (const field of new Set(unique.flat())) {
    const value = input[field];
    if (typeof value === "string") input[field] = `${value} ${randomUUID().slice(0, 8)}`;
    else if (typeof value === "number") input[field] = Math.floor(Math.random() * 1_000_000_000);
  }
  return input;
}

/** `input` with each required reference it leaves out (absent key) set to a row made for the purpose in the caller's organization. */
export async function withReferences(caller: Caller, key: ResourceKey, input: Record<string, unknown>): Promise<Record<string, unknown>> {
  const filled = { ...input };
  for (const [field, reference] of Object.entries(definitions[key].references)) {
    if (field in filled || isOptional(key, field)) continue;
    let made = parentsOf.get(caller);
    if (!made) parentsOf.set(caller, (made = new Map<string, Promise<string>>()));
    const target = reference.to as ResourceKey;
    let parent = made.get(target);
    if (!parent) {
      parent = resourceApi(caller, target)
        .create(exampleOf(target))
        .then((row) => row.id);
      made.set(target, parent);
    }
    filled[field] = await parent;
  }
  return filled;
}

/** Whether a create may leave the field out. */
function isOptional(key: ResourceKey, field: string): boolean {
  const schema = (definitions[key].contract.createInput as unknown as { shape: Record<string, { safeParse(value: unknown): { success: boolean } }> }).shape[field];
  return schema?.safeParse(undefined).success ?? false;
}

export interface TestOrg {
  org: string;
  sub: string;
  token: string;
  actor: Actor;
  api: Caller;
  /** Another user of the same organization. */
  as: (sub: string) => Caller;
}

/**
 * The least role that may do everything on every registered resource, any row (`:own` rules need
 * OWN_OVERRIDE for another user's rows): the role of the callers `newOrg` makes, so what every resource
 * does is tested whatever its policy. `member` for today's list, which a role-less token is.
 */
export const FULL_ACCESS_ROLE: Role = Object.values(definitions)
  .flatMap((definition) => OPERATIONS.map((operation) => definition.access[operation]))
  .map((rule) => (rule.own && !atLeast(rule.role, OWN_OVERRIDE) ? OWN_OVERRIDE : rule.role))
  .reduce<Role>((highest, role) => (atLeast(role, highest) ? role : highest), "viewer");

/**
 * Registers beforeAll/afterAll for a test file: a database of its own, deps on it and, with
 * `server: true`, the real HTTP app listening on a loopback port.
 */
export function useTestApp(options: { config?: Config; server?: boolean; log?: Logger } = {}) {
  let testDb: TestDatabase | undefined;
  let deps: AppDependencies | undefined;
  let server: RunningServer | undefined;
  let orgCounter = 0;
  const clock = testClock();

  beforeAll(async () => {
    testDb = await createTestDatabase();
    deps = makeDependencies(testDb.db, { clock, ...(options.config && { config: options.config }), ...(options.log && { log: options.log }) });
    // As main.ts does: the process's LISTEN for live changes.
    await deps.changeHub.start();
    if (options.server) server = await startServer(deps);
  });
  afterAll(async () => {
    await deps?.changeHub.close();
    await server?.close();
    await testDb?.drop();
  });

  const ready = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is available inside tests only (after beforeAll)`);
    return value;
  };

  return {
    get deps(): AppDependencies {
      return ready(deps, "deps");
    },
    get server(): RunningServer {
      return ready(server, "server (useTestApp({ server: true }))");
    },
    get testDb(): TestDatabase {
      return ready(testDb, "testDb");
    },
    /** The deps' clock (idempotency keys expire by it): `advance` it instead of waiting. */
    clock,
    /** A brand-new organization with a caller for `sub`, so tests never see each other's rows. */
    newOrg(sub = "alice"): TestOrg {
      const org = `org-${process.pid}-${++orgCounter}-${randomUUID().slice(0, 8)}`;
      const current = ready(deps, "deps");
      // Role-less tokens, as today's, whenever the default role may do everything.
      const claims = FULL_ACCESS_ROLE === current.config.roles.defaultRole ? {} : { role: FULL_ACCESS_ROLE };
      const token = tokenFor(sub, org, claims);
      const actor: Actor = { sub, organizationId: org, role: FULL_ACCESS_ROLE };
      return { org, sub, token, actor, api: callerFor(current, token), as: (other) => callerFor(current, tokenFor(other, org, claims)) };
    },
    /**
     * Creates `count` rows of resource `key` for `owner` through its service; `input(i)` defaults to the
     * resource's example (`exampleOf`). Required references left out are filled (`withReferences`).
     */
    async seed(key: ResourceKey, owner: TestOrg, count: number, input?: (i: number) => Record<string, unknown>): Promise<Entity[]> {
      const current = ready(deps, "deps");
      await current.organizations.ensure(owner.org);
      const service = current.resourceServices[key] as unknown as { create(actor: Actor, input: unknown): Promise<Entity> };
      const rows: Entity[] = [];
      for (let i = 0; i < count; i++) {
        // Parsed by the contract, as a procedure would, so seeds obey the same rules.
        const parsed: unknown = definitions[key].contract.createInput.parse(await withReferences(owner.api, key, input ? input(i) : exampleOf(key)));
        rows.push(await service.create(owner.actor, parsed));
      }
      return rows;
    },
  };
}

/** Every resource of the list as a `[key, definition]` pair: what registry-wide tests walk. */
export const everyResource = Object.entries(definitions) as [ResourceKey, Definitions[ResourceKey]][];
