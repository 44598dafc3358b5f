/**
 * Feature persistence. Every query is scoped to one organization and skips soft-deleted rows: a row of
 * another organization, a deleted one and an unknown id are the same NotFoundError.
 */
import type { Feature, FeatureStatus } from "../contract/index.js";
import type { PrismaClient } from "../db/database.js";
import { ConflictError, NotFoundError } from "../errors.js";
import { createFeatureListing } from "./feature.listing.js";
import { toWire, wireColumns } from "./feature.wire.js";

/** Who acts, and in which organization: always from the verified token. */
export interface Actor {
  sub: string;
  organizationId: string;
}

export interface UpdateData {
  name?: string | undefined;
  description?: string | null | undefined;
  status?: FeatureStatus | undefined;
}

export function createFeatureService(prisma: PrismaClient) {
  const live = (actor: Actor) => ({ organizationId: actor.organizationId, deletedAt: null });

  return {
    ...createFeatureListing(prisma),

    async create(actor: Actor, input: { name: string; description?: string | null | undefined; status?: FeatureStatus | undefined }): Promise<Feature> {
      const row = await prisma.feature.create({
        data: {
          organizationId: actor.organizationId,
          name: input.name,
          description: input.description ?? null,
          status: input.status,
          createdById: actor.sub,
          updatedById: actor.sub,
        },
        select: wireColumns,
      });
      return toWire(row);
    },

    async byId(actor: Actor, id: string): Promise<Feature> {
      const row = await prisma.feature.findFirst({ where: { id, ...live(actor) }, select: wireColumns });
      if (!row) throw new NotFoundError("Feature");
      return toWire(row);
    },

    /**
     * One statement (UPDATE ... RETURNING) that matches only a live row of the caller's organization
     * and, with `expectedUpdatedAt`, only if nobody changed it since: no lost updates, no lock held.
     */
    async update(actor: Actor, id: string, data: UpdateData, expectedUpdatedAt?: string): Promise<Feature> {
      const [row] = await prisma.feature.updateManyAndReturn({
        where: { id, ...live(actor), ...(expectedUpdatedAt && { updatedAt: new Date(expectedUpdatedAt) }) },
        data: { ...data, updatedById: actor.sub },
        select: wireColumns,
      });
      if (row) return toWire(row);
      if (expectedUpdatedAt && (await prisma.feature.count({ where: { id, ...live(actor) } })) > 0) {
        throw new ConflictError("Feature was changed by someone else since it was read; reload it and try again");
      }
      throw new NotFoundError("Feature");
    },

    async softDelete(actor: Actor, id: string): Promise<{ id: string }> {
      const { count } = await prisma.feature.updateMany({
        where: { id, ...live(actor) },
        data: { deletedAt: new Date(), updatedById: actor.sub },
      });
      if (count === 0) throw new NotFoundError("Feature");
      return { id };
    },
  };
}

export type FeatureService = ReturnType<typeof createFeatureService>;
