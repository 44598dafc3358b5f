/** How a feature row becomes the wire `Feature`: the columns read, and the conversion. */
import type { Feature } from "../contract/index.js";
import type { Prisma } from "../generated/prisma/client.js";

type FeatureRow = Prisma.FeatureGetPayload<object>;

/** The columns every procedure reads (never `deletedAt`). */
export const wireColumns = {
  id: true,
  organizationId: true,
  name: true,
  description: true,
  status: true,
  createdById: true,
  updatedById: true,
  createdAt: true,
  updatedAt: true,
} satisfies Prisma.FeatureSelect;

export function toWire(row: Pick<FeatureRow, keyof typeof wireColumns>): Feature {
  return {
    id: row.id,
    organizationId: row.organizationId,
    name: row.name,
    description: row.description,
    status: row.status,
    createdById: row.createdById,
    updatedById: row.updatedById,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
