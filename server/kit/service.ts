/**
 * The service every resource gets: create, list, infinite, byId, update (optimistic concurrency), soft
 * delete. Written once; each query goes through the caller's `ScopedModel`, so a row of another
 * organization, a deleted one and an unknown id are the same NotFoundError.
 */
import type { Pagination, ResourceContract } from "../contract/common.js";
import { ConflictError, NotFoundError } from "../errors.js";
import { createListing } from "./listing.js";
import type { CreateInputOf, EntityOf, InfiniteParamsOf, ListParamsOf, Resource, UpdateDataOf } from "./resource.js";
import type { Actor, OrgData } from "./scope.js";
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
}

export function createResourceService<C extends ResourceContract>(resource: Resource<string, C>, data: OrgData): ResourceService<C> {
  const { storage, name } = resource;
  const wire = wireOf<EntityOf<C>>(resource.contract.entity);
  const listing = createListing(storage, wire);
  const scoped = (actor: Actor) => data.scoped(storage.model, storage.table, actor);

  return {
    async create(actor, input) {
      return wire.toWire(await scoped(actor).create({ data: input, select: wire.columns }));
    },

    list: (actor, params) => listing.list(scoped(actor), params),

    infinite: (actor, params) => listing.infinite(scoped(actor), params),

    async byId(actor, id) {
      const row = await scoped(actor).findFirst({ where: { id }, select: wire.columns });
      if (!row) throw new NotFoundError(name);
      return wire.toWire(row);
    },

    async update(actor, id, changes, expectedUpdatedAt) {
      const scope = scoped(actor);
      const [row] = await scope.updateManyAndReturn({
        where: { id, ...(expectedUpdatedAt && { updatedAt: new Date(expectedUpdatedAt) }) },
        data: changes,
        select: wire.columns,
      });
      if (row) return wire.toWire(row);
      if (expectedUpdatedAt && (await scope.count({ where: { id } })) > 0) {
        throw new ConflictError(`${name} was changed by someone else since it was read; reload it and try again`);
      }
      throw new NotFoundError(name);
    },

    async softDelete(actor, id) {
      const { count } = await scoped(actor).softDeleteMany({ where: { id } });
      if (count === 0) throw new NotFoundError(name);
      return { id };
    },
  };
}
