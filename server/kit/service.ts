/**
 * The service every resource gets: create, list, infinite, byId, update (optimistic concurrency), soft
 * delete, and the change history. Written once; each query goes through the caller's `ScopedModel`, so a
 * row of another organization, a deleted one and an unknown id are the same NotFoundError. Every write
 * runs in one transaction with its change event (./changes.ts).
 */
import type { TrackedEnvelope } from "@trpc/server";
import type { ChangeEvent, Pagination, ResourceContract } from "../contract/common.js";
import { changedFields } from "./changes.js";
import type { ChangeHub } from "./live.js";
import { changeStream } from "./subscription.js";
import type { ChangeNoticeOf, ChangeStreamOptions } from "./subscription.js";
import { ConflictError, NotFoundError } from "../errors.js";
import { createListing } from "./listing.js";
import type { CreateInputOf, EntityOf, InfiniteParamsOf, ListParamsOf, Resource, UpdateDataOf } from "./resource.js";
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
  /** The caller's organization's changes, live, after a replay from `lastEventId` (./subscription.ts). */
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

export function createResourceService<C extends ResourceContract>(resource: Resource<string, C>, data: OrgData, live: LiveOptions): ResourceService<C> {
  const { storage, name } = resource;
  const wire = wireOf<EntityOf<C>>(resource.contract.entity);
  const listing = createListing(storage, wire);
  const scoped = (actor: Actor) => data.scoped(storage.model, storage.table, actor);
  /**
   * The write's transaction: `work` with its scope and change log. A write that reads the row first
   * (update, delete) takes the organization's lock before that read; a create needs it only from its
   * event on, which `log.record` takes.
   */
  const write = <T>(actor: Actor, lockFirst: boolean, work: (tx: { scope: ReturnType<typeof scoped>; log: ReturnType<OrgData["changeLog"]> }) => Promise<T>) =>
    data.transaction(async (tx) => {
      const log = tx.changeLog(resource.key, storage.table, actor);
      if (lockFirst) await log.lockOrganization();
      return work({ scope: tx.scoped(storage.model, storage.table, actor), log });
    });

  return {
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
          where: { id, ...(expectedUpdatedAt && { updatedAt: new Date(expectedUpdatedAt) }) },
          data: changes,
          select: wire.columns,
        });
        if (!row) throw new ConflictError(`${name} was changed by someone else since it was read; reload it and try again`);
        const entity = wire.toWire(row);
        const after = entity as Row;
        await log.record({ entityId: id, type: "updated", changes: changedFields(wire.toWire(current), after), entity: after });
        return entity;
      }),

    softDelete: (actor, id) =>
      write(actor, true, async ({ scope, log }) => {
        const current = await scope.findFirst({ where: { id }, select: wire.columns });
        if (!current) throw new NotFoundError(name);
        await scope.softDeleteMany({ where: { id } });
        const deletedAt = new Date().toISOString();
        await log.record({ entityId: id, type: "deleted", changes: { deletedAt: { before: null, after: deletedAt } }, entity: wire.toWire(current) });
        return { id };
      }),

    async history(actor, { id, cursor, limit }) {
      const log = data.changeLog(resource.key, storage.table, actor);
      if (!(await log.rowExists(id))) throw new NotFoundError(name);
      return log.history(id, cursor, limit);
    },

    onChange: (actor, input, request) =>
      changeStream<EntityOf<C>>({
        hub: live.hub,
        reader: data.changeFeed(resource.key, actor.organizationId),
        resource: resource.key,
        organizationId: actor.organizationId,
        entityKey: resource.contract.entityKey,
        searchField: storage.searchField,
        input: input ?? {},
        retentionHours: live.retentionHours,
        ...request,
      }),
  };
}
