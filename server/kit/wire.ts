/** How a row becomes its wire entity, for any resource: the contract's entity fields are the columns read. */
import type { z } from "zod";
import type { Row } from "./scope.js";

export interface Wire<TEntity> {
  /** The Prisma `select` of the entity's fields (never `deletedAt`). */
  columns: Record<string, true>;
  /** A selected row as the entity: timestamps become ISO-8601 strings. */
  toWire: (row: Row) => TEntity;
  /** The keyset position of a selected row. */
  keysetOf: (row: Row) => { createdAt: string; id: string };
}

const toJson = (value: unknown) => (value instanceof Date ? value.toISOString() : value);

export function wireOf<TEntity>(entity: z.ZodObject): Wire<TEntity> {
  const fields = Object.keys(entity.shape);
  return {
    columns: Object.fromEntries(fields.map((field) => [field, true as const])),
    // The procedures' `.output()` validates the result against the same entity schema.
    toWire: (row) => Object.fromEntries(fields.map((field) => [field, toJson(row[field])])) as TEntity,
    keysetOf: (row) => ({ createdAt: (row.createdAt as Date).toISOString(), id: row.id as string }),
  };
}
