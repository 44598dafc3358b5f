/**
 * Reading many rows of one organization, for every resource: numbered pages (`list`, with a bounded count)
 * and keyset pages (`infinite`, for infinite scroll). By default both are newest first on (createdAt, id),
 * which each resource's partial index `<table>_org_live_created_idx` serves (and
 * `<table>_org_<filter>_live_created_idx` with a filter); a search of 3+ characters is served by its trigram
 * index `<table>_<search>_trgm_idx`. Sorted by another field (`sort: { field, direction }`), the order is
 * (field, id) in that direction, served by `<table>_org_<field>_live_sort_idx` (read backwards for the
 * other direction), and a keyset page starts after the (field, id) its cursor carries.
 */
import { z } from "zod";
import type { KeysetCursor, Pagination, SortDirection } from "../contract/common.js";
import { cursorOf } from "../contract/common.js";
import { Prisma } from "../generated/prisma/client.js";
import { escapeLike } from "./escape-like.js";
import type { ResolvedStorage } from "./define.js";
import { columnOf } from "./define.js";
import type { Row, ScopedModel } from "./scope.js";
import { sqlIdentifier } from "./scope.js";
import type { Wire } from "./wire.js";

/**
 * Up to this many matches, `total` is counted exactly; past it, the count stops (so page 1 costs the
 * same at 10k and at 1M rows) and the planner's estimate is returned, flagged `totalIsEstimate`.
 * The numbers behind the bound: bench/results/summary.md, "Count strategy".
 */
export const EXACT_COUNT_LIMIT = 10_000;

/** Search text and equality filters, as the contract's list and infinite inputs carry them. */
export type Filters = { search?: string | undefined } & Record<string, unknown>;
/** The order of a page: a sortable field and its direction (ties break on id, in the same direction). */
export interface Sort {
  field: string;
  direction: SortDirection;
}
export interface ListParams extends Filters {
  page: number;
  limit: number;
  sort?: Sort | undefined;
}
export interface InfiniteParams extends Filters {
  cursor?: KeysetCursor | null | undefined;
  limit: number;
  sort?: Sort | undefined;
}

const NOT_FILTERS = new Set(["page", "limit", "cursor", "direction", "search", "sort"]);
const NEWEST_FIRST: Sort = { field: "createdAt", direction: "desc" };

/** A field's schema in the entity, without optional or nullable around it. */
function fieldSchema(entity: z.ZodObject, field: string): z.ZodType | undefined {
  let schema = entity.shape[field] as z.ZodType | undefined;
  while (schema instanceof z.ZodOptional || schema instanceof z.ZodNullable) schema = schema.unwrap() as z.ZodType;
  return schema;
}

/** The values of an enum field, in their declared order (PostgreSQL's order of the enum type). */
function enumValuesOf(entity: z.ZodObject, field: string): readonly string[] | undefined {
  const schema = fieldSchema(entity, field);
  return schema instanceof z.ZodEnum ? (schema.options as string[]) : undefined;
}

/** Whether the entity carries the field as an ISO-8601 timestamp (the column is one: compared as a Date). */
const isTimestamp = (entity: z.ZodObject, field: string) => fieldSchema(entity, field) instanceof z.ZodISODateTime;

export function createListing<TEntity>(storage: ResolvedStorage, wire: Wire<TEntity>, entity: z.ZodObject) {
  const searchColumn = sqlIdentifier(columnOf(storage.searchField));
  const orderBy = ({ field, direction }: Sort): Record<string, SortDirection>[] => [{ [field]: direction }, { id: direction }];

  /**
   * Rows strictly after `cursor` in (field, id) order of its direction. The redundant `field <= value`
   * (`>=` ascending) is what lets PostgreSQL start the index scan at the cursor (the OR alone would be a
   * filter applied to every row before it), so a page deep in a million rows costs what page 1 does.
   * Prisma compares enums by equality only: past an enum value are the values declared after it.
   */
  function after(cursor: KeysetCursor): Record<string, unknown> {
    const { field, direction, id } = cursor;
    const value = isTimestamp(entity, field) ? new Date(String(cursor.value)) : cursor.value;
    const beyond = direction === "desc" ? "lt" : "gt";
    const enumValues = enumValuesOf(entity, field);
    if (enumValues) {
      const at = enumValues.indexOf(String(value));
      const later = direction === "desc" ? enumValues.slice(0, Math.max(at, 0)) : enumValues.slice(at + 1);
      return { OR: [{ [field]: { in: later } }, { [field]: value, id: { [beyond]: id } }] };
    }
    return {
      [field]: { [direction === "desc" ? "lte" : "gte"]: value },
      OR: [{ [field]: { [beyond]: value } }, { id: { [beyond]: id } }],
    };
  }
  const equalities = (filters: Filters) =>
    Object.entries(filters).filter((entry): entry is [string, string | number | boolean] => !NOT_FILTERS.has(entry[0]) && entry[1] !== undefined);

  /** The filters as a Prisma `where` (the scope adds the organization and `deletedAt`). */
  function whereOf(filters: Filters): Record<string, unknown> {
    return {
      ...Object.fromEntries(equalities(filters)),
      ...(filters.search && { [storage.searchField]: { contains: escapeLike(filters.search), mode: "insensitive" } }),
    };
  }

  /**
   * The same filters as SQL, for the two statements Prisma cannot express: a count that stops at a
   * bound (Prisma's `count({ take })` sorts by id first, reading every match) and EXPLAIN.
   */
  function sqlConditionsOf(filters: Filters): Prisma.Sql[] {
    const conditions = equalities(filters).map(([field, value]) => {
      const enumType = storage.enumTypes[field];
      const cast = enumType ? Prisma.raw(`::"${sqlIdentifierText(enumType)}"`) : Prisma.empty;
      return Prisma.sql`${sqlIdentifier(columnOf(field))} = ${value}${cast}`;
    });
    if (filters.search) conditions.push(Prisma.sql`${searchColumn} ILIKE ${`%${escapeLike(filters.search)}%`}`);
    return conditions;
  }

  /** The number of matches, counting no further than `EXACT_COUNT_LIMIT + 1`. */
  async function boundedCount(scope: ScopedModel, filters: Filters): Promise<number> {
    const [row] = await scope.queryRaw<{ n: number }>(
      sqlConditionsOf(filters),
      ({ table, where }) => Prisma.sql`SELECT count(*)::int AS n FROM (SELECT 1 FROM ${table} WHERE ${where} LIMIT ${EXACT_COUNT_LIMIT + 1}) AS bounded`,
    );
    return row?.n ?? 0;
  }

  /** The planner's row estimate for the filters: one EXPLAIN, no rows read. */
  async function estimateCount(scope: ScopedModel, filters: Filters): Promise<number> {
    const [row] = await scope.queryRaw<{ "QUERY PLAN": unknown }>(
      sqlConditionsOf(filters),
      ({ table, where }) => Prisma.sql`EXPLAIN (FORMAT JSON) SELECT 1 FROM ${table} WHERE ${where}`,
    );
    const plan = typeof row?.["QUERY PLAN"] === "string" ? (JSON.parse(row["QUERY PLAN"]) as unknown) : row?.["QUERY PLAN"];
    const rows = (plan as [{ Plan?: { "Plan Rows"?: number } }] | undefined)?.[0]?.Plan?.["Plan Rows"];
    return typeof rows === "number" ? Math.round(rows) : 0;
  }

  return {
    async list(scope: ScopedModel, params: ListParams): Promise<{ data: TEntity[]; pagination: Pagination }> {
      const [rows, counted] = await Promise.all([
        scope.findMany({
          where: whereOf(params),
          orderBy: orderBy(params.sort ?? NEWEST_FIRST),
          skip: (params.page - 1) * params.limit,
          take: params.limit,
          select: wire.columns,
        }),
        boundedCount(scope, params),
      ]);
      const totalIsEstimate = counted > EXACT_COUNT_LIMIT;
      // Past the bound, the estimate can never say fewer than the rows already counted.
      const total = totalIsEstimate ? Math.max(counted, await estimateCount(scope, params)) : counted;
      return {
        data: rows.map(wire.toWire),
        pagination: { page: params.page, limit: params.limit, total, totalPages: Math.ceil(total / params.limit), totalIsEstimate },
      };
    },

    async infinite(scope: ScopedModel, params: InfiniteParams): Promise<{ items: TEntity[]; nextCursor: string | null }> {
      const filters = whereOf(params);
      const sort = params.sort ?? NEWEST_FIRST;
      // One row more than asked says whether a next page exists, without a count.
      const rows: Row[] = await scope.findMany({
        where: params.cursor ? { AND: [filters, after(params.cursor)] } : filters,
        orderBy: orderBy(sort),
        take: params.limit + 1,
        select: wire.columns,
      });
      const items = rows.slice(0, params.limit).map(wire.toWire);
      const last = rows[params.limit - 1];
      return { items, nextCursor: rows.length > params.limit && last ? cursorOf({ ...sort, ...wire.keysetOf(last, sort.field) }) : null };
    },
  };
}

/** An enum type name may be PascalCase (Prisma's), so it is checked apart from column identifiers. */
function sqlIdentifierText(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`not a plain SQL type name: ${name}`);
  return name;
}
