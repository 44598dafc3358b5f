/** How a row becomes its wire entity, for any resource: the contract's entity fields are the columns read. */
import type { z } from "zod";
import type { Row } from "./scope.js";

export interface Wire<TEntity> {
  /** The Prisma `select` of the entity's fields (never `deletedAt`). */
  columns: Record<string, true>;
  /** A selected row as the entity: timestamps become ISO-8601 strings. */
  toWire: (row: Row) => TEntity;
  /** The keyset position of a selected row in an order by `field`: its wire value of that field, and its id. */
  keysetOf: (row: Row, field: string) => { value: string | number | boolean; id: string };
}

const toJson = (value: unknown) => (value instanceof Date ? value.toISOString() : value);

export function wireOf<TEntity>(entity: z.ZodObject): Wire<TEntity> {
  const fields = Object.keys(entity.shape);
  return {
    columns: Object.fromEntries(fields.map((field) => [field, true as const])),
    // The procedures' `.output()` validates the result against the same entity schema.
    toWire: (row) => Object.fromEntries(fields.map((field) => [field, toJson(row[field])])) as TEntity,
    keysetOf: (row, field) => ({ value: toJson(row[field]) as string | number | boolean, id: row.id as string }),
  };
}
