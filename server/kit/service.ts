/**
 * The service every resource gets: create, list, infinite, byId, update (optimistic concurrency), soft
 * delete, and the change history. Written once; each statement goes through the caller's `ScopedModel`, so
 * a row of another organization, a deleted one and an unknown id are the same NotFoundError. Every write
 * is one statement with its change event (./statements.ts, ./change-log.ts); a write that needs more than
 * one (references to check first, a cascade, an idempotency key) runs them in one transaction.
 *
 * References between resources (a definition's `references`) are kept here too: a write's reference must
 * name a live row of the caller's organization (the database's composite foreign key makes another
 * organization's impossible even to hand-written SQL; a soft-deleted row only this check refuses), and a
 * delete refuses (`restrict`) or soft-deletes (`cascade`) the live rows that refer to the row. Every write
 * of a resource with references takes the organization's lock before its first read; a delete of a
 * referenced row takes it before it looks for the rows that refer to it, with a snapshot taken after the
 * lock: so a child's create and its parent's delete run one after the other, and no live row ever refers to
 * a deleted one.
 *
 * Locks, in the one order every write takes them (no deadlock): the row of a resource without references
 * (its update or delete locks it first), then the organization's lock (every event id is drawn under it,
 * held to the commit: ./change-log.ts), then rows of resources with references.
 *
 * A create may carry an idempotency key (`createWithKey`, ./idempotency.ts): its key is claimed in the
 * create's transaction and written with it, so a retry answers the first create again.
 */
import type { TrackedEnvelope } from "@trpc/server";
import type { ChangeEvent, Pagination, ResourceContract } from "../contract/common.js";
import { Prisma } from "../generated/prisma/client.js";
import { notOwnedRefusal, ownedBy, withAccess } from "./access.js";
import { createChangeFeedReader, createChangeLog } from "./change-log.js";
import type { ChangeHub } from "./change-hub.js";
import { openChangeStream } from "./change-stream.js";
import type { ChangeNoticeOf, ChangeStreamOptions } from "./change-stream.js";
import { columnOf, resolveStorage, uniqueIndexName } from "./define.js";
import type { CreateInputOf, EntityOf, InfiniteParamsOf, ListParamsOf, OnDelete, ResolvedStorage, ResourceDefinition, UpdateDataOf } from "./define.js";
import { ConflictError, InvalidReferenceError, NotFoundError, ReferencedError, UniqueViolationError } from "./errors.js";
import { createIdempotency, DEFAULT_IDEMPOTENCY, fingerprintOf } from "./idempotency.js";
import type { Idempotency, IdempotencyOptions } from "./idempotency.js";
import { createListing } from "./listing.js";
import { sqlIdentifier } from "./scope.js";
import type { Actor, OrgData, Row } from "./scope.js";
import { createStatements, entityShapeOf } from "./statements.js";
import type { Build, ResourceStatements, RestrictingReferrer, WrittenRow } from "./statements.js";

export interface ResourceService<C extends ResourceContract> {
  create(actor: Actor, input: CreateInputOf<C>): Promise<EntityOf<C>>;
  /**
   * A create done once per `idempotencyKey` (./idempotency.ts): within the retention, the same key and
   * input answer the first create's entity again (`replayed`) and write nothing; another input or caller
   * is IdempotencyKeyReusedError; while the first is still running, IdempotencyKeyInUseError.
   */
  createWithKey(actor: Actor, input: CreateInputOf<C>, idempotencyKey: string): Promise<{ entity: EntityOf<C>; replayed: boolean }>;
  list(actor: Actor, params: ListParamsOf<C>): Promise<{ data: EntityOf<C>[]; pagination: Pagination }>;
  infinite(actor: Actor, params: InfiniteParamsOf<C>): Promise<{ items: EntityOf<C>[]; nextCursor: string | null }>;
  byId(actor: Actor, id: string): Promise<EntityOf<C>>;
  /**
   * An UPDATE ... RETURNING that matches only a live row of the caller's organization and, with
   * `expectedUpdatedAt`, only if nobody changed it since (no lost updates), with its change event.
   */
  update(actor: Actor, id: string, data: UpdateDataOf<C>, expectedUpdatedAt?: string): Promise<EntityOf<C>>;
  softDelete(actor: Actor, id: string): Promise<{ id: string }>;
  /** The row's change events, newest first; readable after its deletion, NotFoundError for another organization's row. */
  history(actor: Actor, params: { id: string; cursor?: bigint | null | undefined; limit: number }): Promise<{ items: ChangeEvent[]; nextCursor: string | null }>;
  /** The caller's organization's changes, live, after a replay from `lastEventId` (./change-stream.ts). */
  onChange(
    actor: Actor,
    input: ChangeStreamOptions["input"] | undefined,
    request: { ip: string | undefined; expiresAt: number | undefined; signal: AbortSignal | undefined },
  ): Promise<AsyncGenerator<TrackedEnvelope<ChangeNoticeOf<EntityOf<C>>>, void>>;
}

/** What live subscriptions need: the process's hub and how long events are kept. */
export interface LiveOptions {
  hub: ChangeHub;
  retentionHours: number;
}

/** What the services take beside the data and the hub. */
export interface ServiceOptions {
  /** How long idempotency keys of creates are kept, and their clock; left out: 24 hours on the process's clock. */
  idempotency?: IdempotencyOptions | undefined;
}

/** Resource services by key, seen without their contracts: what the tRPC context and the REST routes hold. */
export type AnyResourceServices = Readonly<Record<string, ResourceService<ResourceContract> | undefined>>;

/** The resource services of a list of definitions, by key: what the tRPC procedures and REST routes call. */
export type ResourceServices<D extends Record<string, ResourceDefinition>> = { [K in keyof D]: ResourceService<D[K]["contract"]> };

/** What the services of one list know of each resource: its storage, its statements, and who refers to it. */
interface Resolved {
  definition: ResourceDefinition;
  storage: ResolvedStorage;
  statements: ResourceStatements;
  /** The reference fields of other resources (or its own) that name its rows, with what its delete does to them. */
  referrers: { key: string; field: string; onDelete: OnDelete }[];
}

/** How a key reads in a message: `flagStates` -> `flag states`. */
const wordsOf = (key: string) => key.replace(/[A-Z]/g, (letter) => ` ${letter.toLowerCase()}`);

/**
 * One service per definition, each checked against Prisma's data model first (`resolveStorage`): a
 * definition whose model, table or columns the schema does not have, or whose reference names a resource
 * the list does not have, stops the start here.
 */
export function createResourceServices<D extends Record<string, ResourceDefinition>>(
  definitions: D,
  data: OrgData,
  live: LiveOptions,
  options: ServiceOptions = {},
): ResourceServices<D> {
  const resolved = new Map<string, Resolved>();
  for (const [key, definition] of Object.entries(definitions)) {
    if (definition.key !== key) throw new Error(`the list of resources has ${definition.key} under the key ${key}: list each under its own key`);
    const storage = resolveStorage(definition, data.dataModel);
    resolved.set(key, { definition, storage, statements: createStatements(key, entityShapeOf(definition.contract.entity)), referrers: [] });
  }
  for (const [key, { definition }] of resolved) {
    for (const [field, reference] of Object.entries(definition.references)) {
      const target = resolved.get(reference.to);
      if (!target) throw new Error(`resource ${key}: its reference ${field} refers to ${reference.to}, which is not in the list of resources`);
      target.referrers.push({ key, field, onDelete: reference.onDelete });
    }
  }
  const graph = createGraph(resolved);
  const idempotency = createIdempotency(data, options.idempotency ?? DEFAULT_IDEMPOTENCY);
  return Object.fromEntries([...resolved.keys()].map((key) => [key, createService(key, graph, data, live, idempotency)])) as ResourceServices<D>;
}

/** What a soft delete's statement is given beside the rows: the caller's condition (`:own`) and its refusal. */
interface RemoveCondition {
  conditions: Record<string, unknown>;
  /** Why a row the condition did not match was not deleted (`:own`); undefined: it was not the condition. */
  refusal: (before: Row) => Error | undefined;
}

/** The resources of one list, and the writes that span several of them (references, cascades). */
interface Graph {
  get(key: string): Resolved;
  /** Throws InvalidReferenceError unless each reference given in `values` names a live row of the actor's organization. */
  checkReferences(tx: OrgData, actor: Actor, key: string, values: Row, path: readonly string[]): Promise<void>;
  /** The statement of `key` on `on` for `actor`, a broken unique key of the resource as UniqueViolationError. */
  write(on: OrgData, actor: Actor, key: string, build: Build): Promise<WrittenRow[]>;
  /**
   * Soft-deletes the live rows `ids` of resource `key` with an event each: refused with ReferencedError while
   * a `restrict` referrer has live rows naming them; a `cascade` referrer's live rows are removed the same
   * way, after, in the same transaction (`on` is one when the resource has `cascade` referrers).
   */
  remove(on: OrgData, actor: Actor, key: string, ids: string[], condition?: RemoveCondition): Promise<void>;
}

/**
 * The unique key a write broke (PostgreSQL's 23505 on one of the resource's partial unique indexes, known by
 * its name), undefined when the error is another one.
 */
function brokenKeyOf(error: unknown, resource: Resolved): readonly string[] | undefined {
  const { code, constraint } = (error ?? {}) as { code?: unknown; constraint?: unknown };
  if (code !== "23505" || typeof constraint !== "string") return undefined;
  const { unique, key } = resource.definition;
  const broken = unique.find((fields) => constraint === uniqueIndexName(resource.storage.table, fields));
  if (broken) return broken;
  if (constraint.startsWith(`${resource.storage.table}_`)) throw new Error(`resource ${key}: a unique constraint was broken that its definition does not declare (${constraint})`);
  return undefined;
}

const changeLogOf = (on: OrgData, actor: Actor, resource: string) => createChangeLog(on.events(actor.organizationId), resource, actor.sub);

function createGraph(resolved: Map<string, Resolved>): Graph {
  const get = (key: string): Resolved => {
    const found = resolved.get(key);
    if (!found) throw new Error(`no resource ${key} in this list`);
    return found;
  };
  const scopedOf = (on: OrgData, actor: Actor, { storage }: Resolved) => on.scoped(storage.model, storage.table, actor);
  const restrictingOf = (self: Resolved): { key: string; referrer: RestrictingReferrer }[] =>
    self.referrers.filter((r) => r.onDelete === "restrict").map((r) => ({ key: r.key, referrer: { table: get(r.key).storage.table, field: r.field } }));
  const graph: Graph = {
    get,
    async checkReferences(tx, actor, key, values, path) {
      for (const [field, reference] of Object.entries(get(key).definition.references)) {
        const id = values[field];
        if (id === undefined || id === null) continue;
        const target = get(reference.to);
        const found = await scopedOf(tx, actor, target).select(Prisma.sql`1`, [Prisma.sql`id = ${id}::uuid`], Prisma.sql`LIMIT 1`);
        if (found.length === 0) throw new InvalidReferenceError(field, [...path, field], target.definition.name);
      }
    },
    async write(on, actor, key, build) {
      const self = get(key);
      try {
        return await scopedOf(on, actor, self).run<WrittenRow>(build);
      } catch (error) {
        const broken = brokenKeyOf(error, self);
        throw broken ? new UniqueViolationError(self.definition.name, broken) : error;
      }
    },
    async remove(on, actor, key, ids, condition) {
      const self = get(key);
      const restricting = restrictingOf(self);
      const rows = await graph.write(on, actor, key, self.statements.softDelete(ids, condition?.conditions ?? {}, restricting.map((r) => r.referrer)));
      if (rows.length !== ids.length) throw new NotFoundError(self.definition.name);
      for (const row of rows) {
        if (row.deleted) continue;
        // The caller's condition (`:own`) is refused before the rows that refer to it are: as one statement would.
        const refusal = condition?.refusal(row.before ?? {});
        if (refusal) throw refusal;
        const restricted = row.restricted?.findIndex(Boolean) ?? -1;
        if (restricted >= 0) throw new ReferencedError(self.definition.name, wordsOf(restricting[restricted]!.key));
        throw new NotFoundError(self.definition.name);
      }
      // The rows a cascade removes are read after the statement above took the organization's lock, in a
      // statement of their own: a child created before the lock was released to it is seen.
      for (const referrer of self.referrers.filter((r) => r.onDelete === "cascade")) {
        const child = get(referrer.key);
        const children = await scopedOf(on, actor, child).select<{ id: string }>(Prisma.sql`id::text AS id`, [Prisma.sql`${sqlIdentifier(columnOf(referrer.field))} = ANY (${ids}::uuid[])`]);
        if (children.length > 0) await graph.remove(on, actor, referrer.key, children.map((c) => c.id));
      }
    },
  };
  return graph;
}

/**
 * The service of one resource; kept for tests that build one from a single definition (no references).
 */
export function createResourceService<C extends ResourceContract>(resource: ResourceDefinition<string, C>, data: OrgData, live: LiveOptions): ResourceService<C> {
  return createResourceServices({ [resource.key]: resource }, data, live)[resource.key] as ResourceService<C>;
}

function createService<C extends ResourceContract>(key: string, graph: Graph, data: OrgData, live: LiveOptions, idempotency: Idempotency): ResourceService<C> {
  const self = graph.get(key);
  const resource = self.definition;
  const { name } = resource;
  const { storage, statements } = self;
  const listing = createListing<EntityOf<C>>(storage, statements);
  const scoped = (actor: Actor) => data.scoped(storage.model, storage.table, actor);
  const hasReferences = Object.keys(resource.references).length > 0;
  const cascades = self.referrers.some((r) => r.onDelete === "cascade");

  /**
   * A write of more than one statement: one transaction, which takes the organization's lock first when the
   * resource has references (`lockFirst`), so a child's write and its parent's delete run one after the other.
   */
  const inTransaction = <T>(actor: Actor, lockFirst: boolean, work: (tx: OrgData) => Promise<T>) =>
    data.transaction(async (tx) => {
      if (lockFirst) await changeLogOf(tx, actor, key).lockOrganization();
      return work(tx);
    });

  /** The caller's live row `id` exists (read under the organization's lock, which every write of a resource with references holds). */
  const mustExist = async (on: OrgData, actor: Actor, id: string) => {
    const [found] = await on.scoped(storage.model, storage.table, actor).select(Prisma.sql`1`, [Prisma.sql`id = ${id}::uuid`], Prisma.sql`LIMIT 1`);
    if (!found) throw new NotFoundError(name);
  };

  /** The create's statement (after its references were checked, in their transaction). */
  const insert = async (on: OrgData, actor: Actor, input: CreateInputOf<C>): Promise<EntityOf<C>> => {
    const [row] = await graph.write(on, actor, key, statements.insert(input));
    return row!.after as EntityOf<C>;
  };

  const { access } = resource;
  // Every method checks the caller's role against the resource's policy before it runs (./access.ts).
  return withAccess(resource.key, access, {
    create: (actor, input) =>
      hasReferences
        ? inTransaction(actor, true, async (tx) => {
            await graph.checkReferences(tx, actor, key, input, []);
            return insert(tx, actor, input);
          })
        : insert(data, actor, input),

    async createWithKey(actor, input, idempotencyKey) {
      await idempotency.purgeExpired(actor);
      // The key is claimed first, so the organization's lock is taken here, after it (./idempotency.ts says why).
      return inTransaction(actor, false, async (tx) => {
        const claim = await idempotency.claim(tx, actor, { resource: resource.key, key: idempotencyKey, fingerprint: fingerprintOf(input) });
        if (claim.replay) return { entity: claim.replay as EntityOf<C>, replayed: true };
        if (hasReferences) {
          await changeLogOf(tx, actor, key).lockOrganization();
          await graph.checkReferences(tx, actor, key, input, []);
        }
        const entity = await insert(tx, actor, input);
        await claim.record(entity);
        return { entity, replayed: false };
      });
    },

    list: (actor, params) => listing.list(scoped(actor), params),

    infinite: (actor, params) => listing.infinite(scoped(actor), params),

    async byId(actor, id) {
      const [row] = await scoped(actor).run<{ entity: EntityOf<C> }>(statements.byId(id));
      if (!row) throw new NotFoundError(name);
      return row.entity;
    },

    update(actor, id, changes, expectedUpdatedAt) {
      const conditions = { ...(expectedUpdatedAt && { updatedAt: expectedUpdatedAt }), ...ownedBy(actor, access.update) };
      const run = async (on: OrgData) => {
        const [row] = await graph.write(on, actor, key, statements.update(id, changes, conditions));
        if (!row) throw new NotFoundError(name);
        if (!row.after) {
          throw notOwnedRefusal(actor, access.update, row.before ?? {}, `${resource.key}.update`) ?? new ConflictError(`${name} was changed by someone else since it was read; reload it and try again`);
        }
        return row.after as EntityOf<C>;
      };
      if (!hasReferences) return run(data);
      return inTransaction(actor, true, async (tx) => {
        await mustExist(tx, actor, id);
        await graph.checkReferences(tx, actor, key, changes, ["data"]);
        return run(tx);
      });
    },

    async softDelete(actor, id) {
      const remove = (on: OrgData) =>
        graph.remove(on, actor, key, [id], {
          // `:own` is a condition of the delete's own statement; the rows a cascade removes go with it.
          conditions: ownedBy(actor, access.delete),
          refusal: (before) => notOwnedRefusal(actor, access.delete, before, `${resource.key}.delete`),
        });
      await (hasReferences || cascades ? inTransaction(actor, hasReferences, remove) : remove(data));
      return { id };
    },

    async history(actor, { id, cursor, limit }) {
      if (!(await scoped(actor).existsIncludingDeleted([Prisma.sql`id = ${id}::uuid`]))) throw new NotFoundError(name);
      return changeLogOf(data, actor, resource.key).history(id, cursor, limit);
    },

    onChange: (actor, input, request) =>
      openChangeStream<EntityOf<C>>({
        hub: live.hub,
        reader: createChangeFeedReader(data.events(actor.organizationId), resource.key),
        resource: resource.key,
        organizationId: actor.organizationId,
        entityKey: resource.entityKey,
        searchField: storage.searchField,
        input: input ?? {},
        retentionHours: live.retentionHours,
        ...request,
      }),
  });
}
