/**
 * The service every resource gets: create, list, infinite, byId, update (optimistic concurrency), soft
 * delete, and the change history. Written once; each query goes through the caller's `ScopedModel`, so a
 * row of another organization, a deleted one and an unknown id are the same NotFoundError. Every write
 * runs in one transaction with its change event (./change-log.ts).
 */
import type { TrackedEnvelope } from "@trpc/server";
import type { ChangeEvent, Pagination, ResourceContract } from "../contract/common.js";
import { notOwnedRefusal, ownedBy, withAccess } from "./access.js";
import { changedFields, createChangeFeedReader, createChangeLog } from "./change-log.js";
import type { ChangeHub } from "./change-hub.js";
import { changeStream } from "./change-stream.js";
import type { ChangeNoticeOf, ChangeStreamOptions } from "./change-stream.js";
import { resolveStorage } from "./define.js";
import type { CreateInputOf, EntityOf, InfiniteParamsOf, ListParamsOf, ResourceDefinition, UpdateDataOf } from "./define.js";
import { ConflictError, NotFoundError } from "./errors.js";
import { createListing } from "./listing.js";
import type { Actor, OrgData, Row } from "./scope.js";
import { wireOf } from "./wire.js";

export interface ResourceService<C extends ResourceContract> {
  create(actor: Actor, input: CreateInputOf<C>): Promise<EntityOf<C>>;
  list(actor: Actor, params: ListParamsOf<C>): Promise<{ data: EntityOf<C>[]; pagination: Pagination }>;
  infinite(actor: Actor, params: InfiniteParamsOf<C>): Promise<{ items: EntityOf<C>[]; nextCursor: string | null }>;
  byId(actor: Actor, id: string): Promise<EntityOf<C>>;
  /**
   * One statement (UPDATE ... RETURNING) that matches only a live row of the caller's organization
   * and, with `expectedUpdatedAt`, only if nobody changed it since: no lost updates, no lock held.
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

/** Resource services by key, seen without their contracts: what the tRPC context and the REST routes hold. */
export type AnyResourceServices = Readonly<Record<string, ResourceService<ResourceContract> | undefined>>;

/** The resource services of a list of definitions, by key: what the tRPC procedures and REST routes call. */
export type ResourceServices<D extends Record<string, ResourceDefinition>> = { [K in keyof D]: ResourceService<D[K]["contract"]> };

/**
 * One service per definition, each checked against Prisma's data model first (`resolveStorage`): a
 * definition whose model, table or columns the schema does not have stops the start here.
 */
export function createResourceServices<D extends Record<string, ResourceDefinition>>(definitions: D, data: OrgData, live: LiveOptions): ResourceServices<D> {
  return Object.fromEntries(
    Object.entries(definitions).map(([key, definition]) => {
      if (definition.key !== key) throw new Error(`the list of resources has ${definition.key} under the key ${key}: list each under its own key`);
      return [key, createResourceService(definition, data, live)];
    }),
  ) as ResourceServices<D>;
}

export function createResourceService<C extends ResourceContract>(resource: ResourceDefinition<string, C>, data: OrgData, live: LiveOptions): ResourceService<C> {
  const { name } = resource;
  const storage = resolveStorage(resource, data.dataModel);
  const wire = wireOf<EntityOf<C>>(resource.contract.entity);
  const listing = createListing(storage, wire);
  const scoped = (actor: Actor) => data.scoped(storage.model, storage.table, actor);
  /**
   * The write's transaction: `work` with its scope and change log. A write that reads the row first
   * (update, delete) takes the organization's lock before that read; a create needs it only from its
   * event on, which `log.record` takes.
   */
  const changeLog = (on: OrgData, actor: Actor) => createChangeLog(on.events(actor.organizationId), resource.key, actor.sub);
  const write = <T>(actor: Actor, lockFirst: boolean, work: (tx: { scope: ReturnType<typeof scoped>; log: ReturnType<typeof changeLog> }) => Promise<T>) =>
    data.transaction(async (tx) => {
      const log = changeLog(tx, actor);
      if (lockFirst) await log.lockOrganization();
      return work({ scope: tx.scoped(storage.model, storage.table, actor), log });
    });

  const { access } = resource;
  // Every method checks the caller's role against the resource's policy before it runs (./access.ts).
  return withAccess(resource.key, access, {
    create: (actor, input) =>
      write(actor, false, async ({ scope, log }) => {
        const entity = wire.toWire(await scope.create({ data: input, select: wire.columns }));
        const after = entity as Row;
        await log.record({ entityId: after.id as string, type: "created", changes: changedFields(null, after), entity: after });
        return entity;
      }),

    list: (actor, params) => listing.list(scoped(actor), params),

    infinite: (actor, params) => listing.infinite(scoped(actor), params),

    async byId(actor, id) {
      const row = await scoped(actor).findFirst({ where: { id }, select: wire.columns });
      if (!row) throw new NotFoundError(name);
      return wire.toWire(row);
    },

    update: (actor, id, changes, expectedUpdatedAt) =>
      write(actor, true, async ({ scope, log }) => {
        // Read under the organization's lock: no other write of it can land between this read and the update.
        const current = await scope.findFirst({ where: { id }, select: wire.columns });
        if (!current) throw new NotFoundError(name);
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
      write(actor, true, async ({ scope, log }) => {
        const current = await scope.findFirst({ where: { id }, select: wire.columns });
        if (!current) throw new NotFoundError(name);
        const { count } = await scope.softDeleteMany({ where: { id, ...ownedBy(actor, access.delete) } });
        if (count === 0) throw notOwnedRefusal(actor, access.delete, current, `${resource.key}.delete`) ?? new NotFoundError(name);
        const deletedAt = new Date().toISOString();
        await log.record({ entityId: id, type: "deleted", changes: { deletedAt: { before: null, after: deletedAt } }, entity: wire.toWire(current) });
        return { id };
      }),

    async history(actor, { id, cursor, limit }) {
      if (!(await scoped(actor).existsIncludingDeleted({ where: { id } }))) throw new NotFoundError(name);
      return changeLog(data, actor).history(id, cursor, limit);
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
