/**
 * The service every resource gets: create, list, infinite, byId, update (optimistic concurrency), soft
 * delete, and the change history. Written once; each query goes through the caller's `ScopedModel`, so a
 * row of another organization, a deleted one and an unknown id are the same NotFoundError. Every write
 * runs in one transaction with its change event (./change-log.ts).
 *
 * References between resources (a definition's `references`) are kept here too: a write's reference must
 * name a live row of the caller's organization (the database's composite foreign key makes another
 * organization's impossible even to hand-written SQL; a soft-deleted row only this check refuses), and a
 * delete refuses (`restrict`) or soft-deletes (`cascade`) the live rows that refer to the row. Every write
 * that involves a reference takes the organization's lock before its first read, as a delete does, so a
 * child's create and its parent's delete run one after the other: no live row ever refers to a deleted one.
 *
 * A create may carry an idempotency key (`createWithKey`, ./idempotency.ts): its key is claimed in the
 * create's transaction and written with it, so a retry answers the first create again.
 */
import type { TrackedEnvelope } from "@trpc/server";
import type { ChangeEvent, Pagination, ResourceContract } from "../contract/common.js";
import { Prisma } from "../generated/prisma/client.js";
import { notOwnedRefusal, ownedBy, withAccess } from "./access.js";
import { changedFields, createChangeFeedReader, createChangeLog } from "./change-log.js";
import type { ChangeLog } from "./change-log.js";
import type { ChangeHub } from "./change-hub.js";
import { changeStream } from "./change-stream.js";
import type { ChangeNoticeOf, ChangeStreamOptions } from "./change-stream.js";
import { columnOf, resolveStorage, uniqueIndexName } from "./define.js";
import type { CreateInputOf, EntityOf, InfiniteParamsOf, ListParamsOf, OnDelete, ResolvedStorage, ResourceDefinition, UpdateDataOf } from "./define.js";
import { ConflictError, InvalidReferenceError, NotFoundError, ReferencedError, UniqueViolationError } from "./errors.js";
import { createIdempotency, DEFAULT_IDEMPOTENCY, fingerprintOf } from "./idempotency.js";
import type { Idempotency, IdempotencyOptions } from "./idempotency.js";
import { createListing } from "./listing.js";
import { sqlIdentifier } from "./scope.js";
import type { Actor, OrgData, Row, ScopedModel } from "./scope.js";
import { wireOf } from "./wire.js";
import type { Wire } from "./wire.js";

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
  ): AsyncGenerator<TrackedEnvelope<ChangeNoticeOf<EntityOf<C>>>, void>;
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

/** What the services of one list know of each resource: its storage, its wire, and who refers to it. */
interface Resolved {
  definition: ResourceDefinition;
  storage: ResolvedStorage;
  wire: Wire<Row>;
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
    resolved.set(key, { definition, storage: resolveStorage(definition, data.dataModel), wire: wireOf<Row>(definition.contract.entity), referrers: [] });
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

/** The resources of one list, and the writes that span several of them (references, cascades). */
interface Graph {
  get(key: string): Resolved;
  /** Throws InvalidReferenceError unless each reference given in `values` names a live row of the actor's organization. */
  checkReferences(tx: OrgData, actor: Actor, key: string, values: Row, path: readonly string[]): Promise<void>;
  /**
   * Soft-deletes `rows` of resource `key` (live, selected with its wire columns) with an event each: refused
   * with ReferencedError while a `restrict` referrer has live rows naming them; a `cascade` referrer's live
   * rows are removed the same way, in the same transaction.
   */
  remove(tx: OrgData, actor: Actor, key: string, rows: Row[], condition?: { where: Record<string, unknown>; refusal: () => Error }): Promise<void>;
}

const changeLogOf = (on: OrgData, actor: Actor, resource: string) => createChangeLog(on.events(actor.organizationId), resource, actor.sub);

/** What a write's work is given in its transaction: the data, the resource's scope and its change log. */
interface WriteSteps {
  on: OrgData;
  scope: ScopedModel;
  log: ChangeLog;
}

function createGraph(resolved: Map<string, Resolved>): Graph {
  const get = (key: string): Resolved => {
    const found = resolved.get(key);
    if (!found) throw new Error(`no resource ${key} in this list`);
    return found;
  };
  const scopedOf = (tx: OrgData, actor: Actor, { storage }: Resolved) => tx.scoped(storage.model, storage.table, actor);
  const graph: Graph = {
    get,
    async checkReferences(tx, actor, key, values, path) {
      for (const [field, reference] of Object.entries(get(key).definition.references)) {
        const id = values[field];
        if (id === undefined || id === null) continue;
        const target = get(reference.to);
        const found = await scopedOf(tx, actor, target).findFirst({ where: { id }, select: { id: true } });
        if (!found) throw new InvalidReferenceError(field, [...path, field], target.definition.name);
      }
    },
    async remove(tx, actor, key, rows, condition) {
      const self = get(key);
      const ids = rows.map((row) => row.id as string);
      // First the rows' own statement (with the caller's condition, `:own`): a refusal of it comes before any other.
      const { count } = await scopedOf(tx, actor, self).softDeleteMany({ where: { id: { in: ids }, ...condition?.where } });
      if (count !== ids.length) throw condition?.refusal() ?? new NotFoundError(self.definition.name);
      // The rows that refer to these are read under the organization's lock (held already by a write that took it
      // first), so a create naming one of them either committed before (and is seen here) or comes after (and sees it deleted).
      if (self.referrers.length > 0) await changeLogOf(tx, actor, key).lockOrganization();
      // A live referrer of a `restrict` reference refuses the delete; the transaction rolls the statement above back.
      for (const referrer of self.referrers.filter((r) => r.onDelete === "restrict")) {
        const live = await scopedOf(tx, actor, get(referrer.key)).findFirst({ where: { [referrer.field]: { in: ids } }, select: { id: true } });
        if (live) throw new ReferencedError(self.definition.name, wordsOf(referrer.key));
      }
      const log = changeLogOf(tx, actor, key);
      const deletedAt = new Date().toISOString();
      for (const row of rows) {
        await log.record({ entityId: row.id as string, type: "deleted", changes: { deletedAt: { before: null, after: deletedAt } }, entity: self.wire.toWire(row) });
      }
      for (const referrer of self.referrers.filter((r) => r.onDelete === "cascade")) {
        const child = get(referrer.key);
        const children = await scopedOf(tx, actor, child).findMany({ where: { [referrer.field]: { in: ids } }, select: child.wire.columns });
        if (children.length > 0) await graph.remove(tx, actor, referrer.key, children);
      }
    },
  };
  return graph;
}

/**
 * The entity's columns for raw SQL, each under its field's name (`"created_at" AS "createdAt"`), enums as
 * text: the row a raw statement returns is then the one Prisma's select of the same fields returns.
 */
function selectListOf(fields: string[], storage: ResolvedStorage): Prisma.Sql {
  return Prisma.join(
    fields.map((field) => {
      if (!/^[A-Za-z][A-Za-z0-9]*$/.test(field)) throw new Error(`not a plain field name: ${field}`);
      const column = sqlIdentifier(columnOf(field));
      return Prisma.sql`${storage.enumTypes[field] ? Prisma.sql`${column}::text` : column} AS ${Prisma.raw(`"${field}"`)}`;
    }),
  );
}

/**
 * The caller's live row `id` as one raw statement through the scope (its entity's `columns`, as
 * `selectListOf` gives them), undefined when there is none: the same row as findFirst, for less of Prisma's
 * work per call (bench/results/levers.md). With `lock`, the row is locked until the transaction ends, in the
 * same statement: what an update or delete that does not take the organization's lock first reads under, so
 * the row it reads is the one it changes (a write of the same row waits; one that deleted it meanwhile
 * leaves nothing to lock). FOR NO KEY UPDATE, the lock an UPDATE of non-key columns takes: a child's
 * foreign-key check (FOR KEY SHARE, taken under the organization's lock) does not wait for it.
 */
async function rowById(scope: ScopedModel, columns: Prisma.Sql, id: string, lock: boolean): Promise<Row | undefined> {
  const tail = lock ? Prisma.sql`FOR NO KEY UPDATE` : Prisma.sql`LIMIT 1`;
  const [row] = await scope.queryRaw<Row>([Prisma.sql`id = ${id}::uuid`], ({ table, where }) => Prisma.sql`SELECT ${columns} FROM ${table} WHERE ${where} ${tail}`);
  return row;
}

/**
 * The unique key a Prisma unique-constraint error (P2002) broke, by the constraint's name or columns, as
 * the database driver reports them; undefined when the error is another one.
 */
function brokenKeyOf(error: unknown, resource: Resolved): readonly string[] | undefined {
  if (!(error instanceof Prisma.PrismaClientKnownRequestError) || error.code !== "P2002") return undefined;
  const { unique, key } = resource.definition;
  const meta = error.meta as { target?: unknown; driverAdapterError?: { cause?: { constraint?: { index?: string; fields?: string[] } } } } | undefined;
  const constraint = meta?.driverAdapterError?.cause?.constraint;
  const byName = unique.find((fields) => constraint?.index === uniqueIndexName(resource.storage.table, fields));
  if (byName) return byName;
  const columns = constraint?.fields ?? (Array.isArray(meta?.target) ? (meta.target as string[]) : undefined);
  const named = columns?.map((column) => column.replace(/^"|"$/g, "")).filter((column) => column !== "organization_id" && column !== "organizationId");
  const byColumns = named && unique.find((fields) => fields.length === named.length && fields.every((field) => named.includes(field) || named.includes(columnOf(field))));
  if (byColumns) return byColumns;
  if (unique.length === 1) return unique[0];
  throw new Error(`resource ${key}: a unique constraint was broken that its definition does not declare (${error.message})`);
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
  const { storage } = self;
  const wire = self.wire as unknown as Wire<EntityOf<C>>;
  const listing = createListing(storage, wire, resource.contract.entity);
  const entityColumns = selectListOf(Object.keys(wire.columns), storage);
  const scoped = (actor: Actor) => data.scoped(storage.model, storage.table, actor);
  const hasReferences = Object.keys(resource.references).length > 0;
  /**
   * The write's transaction: `work` with its scope and change log. A unique key broken by the write is a
   * UniqueViolationError naming the key's fields.
   *
   * Locks. Every event id is drawn under the organization's lock (`log.record` takes it), held to the
   * commit. A write of a resource with references takes that lock before its first read (`lockFirst`), so
   * a child's write and its parent's delete run one after the other. Any other update or delete locks its
   * row first and reads it in the same statement (`rowById`); a delete of a row others refer to takes the organization's
   * lock after its own statement, before it reads the rows that refer to it (`graph.remove`). So most
   * writes hold the organization's lock only from the reads that need it to the commit, and the order of
   * locks is always the row of a resource without references, then the organization, then rows of
   * resources with references (a cascade's): no deadlock.
   */
  const write = <T>(
    actor: Actor,
    lockFirst: boolean,
    work: (tx: WriteSteps) => Promise<T>,
  ) =>
    data
      .transaction(async (tx) => {
        const log = changeLogOf(tx, actor, resource.key);
        if (lockFirst) await log.lockOrganization();
        return work({ on: tx, scope: tx.scoped(storage.model, storage.table, actor), log });
      })
      .catch((error: unknown) => {
        const broken = brokenKeyOf(error, self);
        throw broken ? new UniqueViolationError(name, broken) : error;
      });

  /**
   * The row an update or delete changes, read under the organization's lock (taken first, `hasReferences`)
   * or its own (`rowById`): no other write of the row can land between this read and the write.
   */
  const readForWrite = async (scope: ScopedModel, id: string): Promise<Row> => {
    const current = hasReferences ? await scope.findFirst({ where: { id }, select: wire.columns }) : await rowById(scope, entityColumns, id, true);
    if (!current) throw new NotFoundError(name);
    return current;
  };

  /** The create's writes, in `write`'s transaction (after the organization's lock when it has references). */
  const insert = async ({ on, scope, log }: WriteSteps, actor: Actor, input: CreateInputOf<C>) => {
    await graph.checkReferences(on, actor, key, input, []);
    const entity = wire.toWire(await scope.create({ data: input, select: wire.columns }));
    const after = entity as Row;
    await log.record({ entityId: after.id as string, type: "created", changes: changedFields(null, after), entity: after });
    return entity;
  };

  const { access } = resource;
  // Every method checks the caller's role against the resource's policy before it runs (./access.ts).
  return withAccess(resource.key, access, {
    create: (actor, input) => write(actor, hasReferences, (tx) => insert(tx, actor, input)),

    async createWithKey(actor, input, idempotencyKey) {
      await idempotency.purgeExpired(actor);
      // The key is claimed first, so the organization's lock is taken here, after it (./idempotency.ts says why).
      return write(actor, false, async (tx) => {
        const claim = await idempotency.claim(tx.on, actor, { resource: resource.key, key: idempotencyKey, fingerprint: fingerprintOf(input) });
        if (claim.replay) return { entity: claim.replay as EntityOf<C>, replayed: true };
        if (hasReferences) await tx.log.lockOrganization();
        const entity = await insert(tx, actor, input);
        await claim.record(entity);
        return { entity, replayed: false };
      });
    },

    list: (actor, params) => listing.list(scoped(actor), params),

    infinite: (actor, params) => listing.infinite(scoped(actor), params),

    async byId(actor, id) {
      const row = await rowById(scoped(actor), entityColumns, id, false);
      if (!row) throw new NotFoundError(name);
      return wire.toWire(row);
    },

    update: (actor, id, changes, expectedUpdatedAt) =>
      write(actor, hasReferences, async ({ on, scope, log }) => {
        const current = await readForWrite(scope, id);
        await graph.checkReferences(on, actor, key, changes, ["data"]);
        const [row] = await scope.updateManyAndReturn({
          where: { id, ...(expectedUpdatedAt && { updatedAt: new Date(expectedUpdatedAt) }), ...ownedBy(actor, access.update) },
          data: changes,
          select: wire.columns,
        });
        if (!row) throw notOwnedRefusal(actor, access.update, current, `${resource.key}.update`) ?? new ConflictError(`${name} was changed by someone else since it was read; reload it and try again`);
        const entity = wire.toWire(row);
        const after = entity as Row;
        await log.record({ entityId: id, type: "updated", changes: changedFields(wire.toWire(current), after), entity: after });
        return entity;
      }),

    softDelete: (actor, id) =>
      write(actor, hasReferences, async ({ on, scope }) => {
        const current = await readForWrite(scope, id);
        // `:own` is a condition of the delete's own statement; the rows a cascade removes go with it.
        await graph.remove(on, actor, key, [current], {
          where: ownedBy(actor, access.delete),
          refusal: () => notOwnedRefusal(actor, access.delete, current, `${resource.key}.delete`) ?? new NotFoundError(name),
        });
        return { id };
      }),

    async history(actor, { id, cursor, limit }) {
      if (!(await scoped(actor).existsIncludingDeleted({ where: { id } }))) throw new NotFoundError(name);
      return changeLogOf(data, actor, resource.key).history(id, cursor, limit);
    },

    onChange: (actor, input, request) =>
      changeStream<EntityOf<C>>({
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
