/**
 * Reading many rows of one organization, for every resource: numbered pages (`list`, with a bounded count)
 * and keyset pages (`infinite`, for infinite scroll). Both are newest first on (createdAt, id), which each
 * resource's partial index `<table>_org_live_created_idx` serves (and `<table>_org_<filter>_live_created_idx`
 * with a filter); a search of 3+ characters is served by its trigram index `<table>_<search>_trgm_idx`.
 */
import type { KeysetCursor, Pagination } from "../contract/common.js";
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
export interface ListParams extends Filters {
  page: number;
  limit: number;
}
export interface InfiniteParams extends Filters {
  cursor?: KeysetCursor | null | undefined;
  limit: number;
}

const NOT_FILTERS = new Set(["page", "limit", "cursor", "direction", "search"]);
const newestFirst: Record<string, "desc">[] = [{ createdAt: "desc" }, { id: "desc" }];

/**
 * Rows strictly after `cursor` in (createdAt DESC, id DESC) order. The redundant `createdAt <= c` is
 * what lets PostgreSQL start the index scan at the cursor (the OR alone would be a filter applied to
 * every newer row), so a page deep in a million rows costs what page 1 does.
 */
function after(cursor: KeysetCursor): Record<string, unknown> {
  return {
    createdAt: { lte: cursor.createdAt },
    OR: [{ createdAt: { lt: cursor.createdAt } }, { id: { lt: cursor.id } }],
  };
}

export function createListing<TEntity>(storage: ResolvedStorage, wire: Wire<TEntity>) {
  const searchColumn = sqlIdentifier(columnOf(storage.searchField));
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
          orderBy: newestFirst,
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
      // One row more than asked says whether a next page exists, without a count.
      const rows: Row[] = await scope.findMany({
        where: params.cursor ? { AND: [filters, after(params.cursor)] } : filters,
        orderBy: newestFirst,
        take: params.limit + 1,
        select: wire.columns,
      });
      const items = rows.slice(0, params.limit).map(wire.toWire);
      const last = rows[params.limit - 1];
      return { items, nextCursor: rows.length > params.limit && last ? cursorOf(wire.keysetOf(last)) : null };
    },
  };
}

/** An enum type name may be PascalCase (Prisma's), so it is checked apart from column identifiers. */
function sqlIdentifierText(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`not a plain SQL type name: ${name}`);
  return name;
}
