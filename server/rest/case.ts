/**
 * camelCase (the contract, tRPC) <-> snake_case (the REST wire the FastAPI service's clients speak).
 * Only keys change: every field keeps the contract's own zod schema, so validation, limits and messages
 * stay the contract's.
 */
import { z } from "zod";

/** A zod object whose fields are typed as zod schemas (zod's own default types them `any`). */
export type ObjectSchema = z.ZodObject<Record<string, z.ZodType>>;

export function snakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

/** The snake_case key -> contract key map of a zod object's shape. */
export function snakeKeysOf(schema: ObjectSchema): Map<string, string> {
  return new Map(Object.keys(schema.shape).map((key) => [snakeCase(key), key]));
}

/** Unwraps optional / nullable / default / readonly wrappers down to the schema that says what the value is. */
function innermost(schema: z.ZodType): z.ZodType {
  let current = schema;
  while (
    current instanceof z.ZodOptional ||
    current instanceof z.ZodNullable ||
    current instanceof z.ZodDefault ||
    current instanceof z.ZodReadonly
  ) {
    current = current.unwrap() as z.ZodType;
  }
  return current;
}

/**
 * The same object with snake_case keys, nested objects and arrays of objects included, for the
 * OpenAPI document. Object-level refinements are not carried over (they read the contract's keys);
 * validation therefore always runs the contract's own schema (see `validation.ts`), never this one.
 */
export function snakeSchema(schema: ObjectSchema): ObjectSchema {
  const shape: Record<string, z.ZodType> = {};
  for (const [key, field] of Object.entries(schema.shape)) {
    shape[snakeCase(key)] = snakeField(field);
  }
  const strict = schema._zod.def.catchall instanceof z.ZodNever;
  const renamed = strict ? z.strictObject(shape) : z.object(shape);
  const description = schema.description;
  return description ? renamed.describe(description) : renamed;
}

function snakeField(field: z.ZodType): z.ZodType {
  if (field instanceof z.ZodObject) return snakeSchema(field);
  if (field instanceof z.ZodArray && field.element instanceof z.ZodObject) return z.array(snakeSchema(field.element as ObjectSchema));
  if (field instanceof z.ZodOptional) return snakeField(field.unwrap() as z.ZodType).optional();
  if (field instanceof z.ZodNullable) return snakeField(field.unwrap() as z.ZodType).nullable();
  return field;
}

/** A value (an entity, a page) with every object key in snake_case, as it goes out on the REST wire. */
export function toSnakeKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toSnakeKeys);
  if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [snakeCase(key), toSnakeKeys(inner)]));
  }
  return value;
}

/** Whether a field's schema is a number (so a query-string value is read as one), or a boolean. */
export function scalarKindOf(field: z.ZodType): "number" | "boolean" | "other" {
  const inner = innermost(field);
  if (inner instanceof z.ZodNumber) return "number";
  if (inner instanceof z.ZodBoolean) return "boolean";
  return "other";
}
