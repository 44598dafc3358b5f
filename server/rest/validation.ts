/**
 * REST input through the contract's own schemas: a snake_case body or query is renamed to the contract's
 * keys and parsed by the contract's zod schema (every limit, refinement and message is the contract's),
 * and each zod issue becomes a FastAPI-style 422 entry whose `loc` names the snake_case field.
 */
import type { z } from "zod";
import { scalarKindOf, snakeCase, snakeKeysOf } from "./case.js";
import type { ObjectSchema } from "./case.js";
import { RestError } from "./errors.js";
import type { ValidationError } from "./errors.js";

export type Location = "body" | "query";

interface ParseOptions<E extends Record<string, z.ZodType>> {
  /**
   * Query strings carry text: fields whose schema is a number or a boolean are read as one first. Unknown
   * query parameters are ignored (FastAPI's behaviour; cache-busting parameters stay harmless).
   */
  location: Location;
  /**
   * Fields of the request that are not part of `schema` (the update's `expectedUpdatedAt` beside its
   * data), each parsed by its own schema and returned apart.
   */
  extra?: E;
  /**
   * A list's query: its `sort` is read as `name` (ascending) or `-name` (descending), the field in
   * snake_case and one of these contract fields, and handed to the contract as `{ field, direction }`.
   */
  sortFields?: readonly string[] | undefined;
  /**
   * Fields the path gives (a nested route's parent: `{ projectId: "<uuid>" }`): the input may leave them
   * out or repeat the same value; any other value is a 422 on the field.
   */
  fromPath?: Record<string, string> | undefined;
}

/** The values a list's `sort` takes: each field in snake_case, ascending, then `-` and it, descending. */
export function sortValuesOf(sortFields: readonly string[]): string[] {
  return sortFields.flatMap((field) => [snakeCase(field), `-${snakeCase(field)}`]);
}

/** `-updated_at` -> `{ field: "updatedAt", direction: "desc" }`; undefined for a value that is not one of `sortValuesOf`. */
function sortOf(value: unknown, sortFields: readonly string[]): { field: string; direction: "asc" | "desc" } | undefined {
  if (typeof value !== "string") return undefined;
  const descending = value.startsWith("-");
  const field = sortFields.find((candidate) => snakeCase(candidate) === (descending ? value.slice(1) : value));
  return field === undefined ? undefined : { field, direction: descending ? "desc" : "asc" };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function fromQueryString(value: unknown, kind: ReturnType<typeof scalarKindOf>): unknown {
  if (typeof value !== "string") return value;
  if (kind === "number" && /^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  if (kind === "boolean" && (value === "true" || value === "false")) return value === "true";
  return value;
}

function entryOf(issue: z.core.$ZodIssue, location: Location, input: Record<string, unknown>): ValidationError {
  const loc = [location, ...issue.path.map((segment) => (typeof segment === "string" ? snakeCase(segment) : Number(segment)))];
  const top = issue.path[0];
  if (issue.code === "invalid_type" && issue.path.length === 1 && typeof top === "string" && input[top] === undefined) {
    return { loc, msg: "Field required", type: "missing" };
  }
  return { loc, msg: issue.message, type: issue.code };
}

/**
 * Parses `raw` (a JSON body or Express's query object) with the contract schema `schema`, whose keys
 * the request spells in snake_case. Throws a 422 RestError listing every bad field.
 */
export function parseSnake<S extends ObjectSchema, E extends Record<string, z.ZodType> = Record<never, never>>(
  schema: S,
  raw: unknown,
  options: ParseOptions<E>,
): { data: z.output<S>; extra: { [K in keyof E]: z.output<E[K]> } } {
  const { location } = options;
  if (location === "body" && raw === undefined) {
    throw new RestError(422, [{ loc: ["body"], msg: "Field required", type: "missing" }]);
  }
  if (!isPlainObject(raw)) {
    throw new RestError(422, [{ loc: [location], msg: "Input should be a JSON object", type: "model_attributes_type" }]);
  }
  const extraSchemas: Record<string, z.ZodType> = options.extra ?? {};
  const schemaKeys = snakeKeysOf(schema);
  const extraKeys = new Map(Object.keys(extraSchemas).map((key) => [snakeCase(key), key]));
  const fields = schema.shape;
  const input: Record<string, unknown> = {};
  const extraInput: Record<string, unknown> = {};
  const errors: ValidationError[] = [];

  const fromPath = options.fromPath ?? {};

  for (const [key, value] of Object.entries(raw)) {
    const field = schemaKeys.get(key);
    const extraField = extraKeys.get(key);
    if (field !== undefined && Object.hasOwn(fromPath, field)) {
      // UUIDs compare without regard to case, as PostgreSQL compares them.
      if (typeof value !== "string" || value.toLowerCase() !== fromPath[field]!.toLowerCase()) {
        errors.push({ loc: [location, key], msg: `must be the ${key} of the path (${fromPath[field]}), or left out`, type: "invalid_value" });
      }
    } else if (field === "sort" && location === "query" && options.sortFields) {
      const sort = sortOf(value, options.sortFields);
      if (sort) input[field] = sort;
      else errors.push({ loc: ["query", key], msg: `must be one of ${sortValuesOf(options.sortFields).join(", ")}`, type: "invalid_value" });
    } else if (field !== undefined) {
      input[field] = location === "query" ? fromQueryString(value, scalarKindOf(fields[field]!)) : value;
    } else if (extraField !== undefined) {
      extraInput[extraField] = location === "query" ? fromQueryString(value, scalarKindOf(extraSchemas[extraField]!)) : value;
    } else if (location === "body") {
      errors.push({ loc: ["body", key], msg: "Extra inputs are not permitted", type: "extra_forbidden" });
    }
  }

  for (const [field, value] of Object.entries(fromPath)) input[field] = value;
  const parsed = schema.safeParse(input);
  if (!parsed.success) errors.push(...parsed.error.issues.map((issue) => entryOf(issue, location, input)));
  const extra: Record<string, unknown> = {};
  for (const [key, extraSchema] of Object.entries(extraSchemas)) {
    const result = extraSchema.safeParse(extraInput[key]);
    if (result.success) extra[key] = result.data;
    else errors.push(...result.error.issues.map((issue) => entryOf({ ...issue, path: [key, ...issue.path] }, location, extraInput)));
  }
  if (errors.length > 0 || !parsed.success) throw new RestError(422, errors);
  return { data: parsed.data, extra: extra as { [K in keyof E]: z.output<E[K]> } };
}
