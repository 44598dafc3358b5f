/**
 * Reading many rows of one organization, for every resource: numbered pages (`list`, with a bounded count)
 * and keyset pages (`infinite`, for infinite scroll). By default both are newest first on (createdAt, id),
 * which each resource's partial index `<table>_org_live_created_idx` serves (and
 * `<table>_org_<filter>_live_created_idx` with a filter); a search of 3+ characters is served by its trigram
 * index `<table>_<search>_trgm_idx`. Sorted by another field (`sort: { field, direction }`), the order is
 * (field, id) in that direction, served by `<table>_org_<field>_live_sort_idx` (read backwards for the
 * other direction), and a keyset page starts after the (field, id) its cursor carries.
 */
import type { KeysetCursor, Pagination, SortDirection } from "../contract/common.js";
import { cursorOf } from "../contract/common.js";
import { Prisma } from "../generated/prisma/client.js";
import { escapeLike } from "./escape-like.js";
import type { ResolvedStorage } from "./define.js";
import { columnOf } from "./define.js";
import type { Row, ScopedModel } from "./scope.js";
import type { ResourceStatements, RowSelection } from "./statements.js";

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

/** A field of the definition (never from input) as the column of the table's alias `t`. */
function columnAtT(field: string): Prisma.Sql {
  if (!/^[A-Za-z][A-Za-z0-9]*$/.test(field)) throw new Error(`not a plain field name: ${field}`);
  return Prisma.raw(`t."${columnOf(field)}"`);
}

/** A page's entities as the statements answer them. */
type EntityRow = { entity: Row; total?: number };

export function createListing<TEntity>(storage: ResolvedStorage, statements: ResourceStatements) {
  const searchColumn = columnAtT(storage.searchField);
  /** ORDER BY (field, id) in the sort's direction: the partial index of the field serves it, either way. */
  const orderBy = ({ field, direction }: Sort) => {
    const dir = Prisma.raw(direction === "desc" ? "DESC" : "ASC");
    return Prisma.sql`${columnAtT(field)} ${dir}, t.id ${dir}`;
  };

  /**
   * Rows strictly after `cursor` in (field, id) order of its direction. The redundant `field <= value`
   * (`>=` ascending) is what lets PostgreSQL start the index scan at the cursor (the OR alone would be a
   * filter applied to every row before it), so a page deep in a million rows costs what page 1 does. The
   * cursor's value was checked against the field's schema when it was read (the contract), and
   * PostgreSQL compares an enum by its declared order, the order it sorts by.
   */
  function after(cursor: KeysetCursor): Prisma.Sql {
    const column = columnAtT(cursor.field);
    const [bound, beyond] = cursor.direction === "desc" ? [Prisma.raw("<="), Prisma.raw("<")] : [Prisma.raw(">="), Prisma.raw(">")];
    const value = Prisma.sql`${cursor.value}`;
    return Prisma.sql`${column} ${bound} ${value} AND (${column} ${beyond} ${value} OR t.id ${beyond} ${cursor.id}::uuid)`;
  }

  /** The equality filters (a field each) and the search, as conditions on `t`. */
  function selectionOf(filters: Filters): RowSelection {
    const conditions = Object.entries(filters)
      .filter(([field, value]) => !NOT_FILTERS.has(field) && value !== undefined)
      .map(([field, value]) => Prisma.sql`${columnAtT(field)} = ${value}`);
    if (filters.search) conditions.push(Prisma.sql`${searchColumn} ILIKE ${`%${escapeLike(filters.search)}%`}`);
    return { conditions };
  }

  /** The planner's row estimate for the filters: one EXPLAIN, no rows read. */
  async function estimateCount(scope: ScopedModel, selection: RowSelection): Promise<number> {
    const [row] = await scope.run<{ "QUERY PLAN": unknown }>(
      ({ table, live }) => Prisma.sql`EXPLAIN (FORMAT JSON) SELECT 1 FROM ${table} AS t WHERE ${Prisma.join([live("t"), ...selection.conditions], " AND ")}`,
    );
    const plan = typeof row?.["QUERY PLAN"] === "string" ? (JSON.parse(row["QUERY PLAN"]) as unknown) : row?.["QUERY PLAN"];
    const rows = (plan as [{ Plan?: { "Plan Rows"?: number } }] | undefined)?.[0]?.Plan?.["Plan Rows"];
    return typeof rows === "number" ? Math.round(rows) : 0;
  }

  return {
    async list(scope: ScopedModel, params: ListParams): Promise<{ data: TEntity[]; pagination: Pagination }> {
      const selection = selectionOf(params);
      // The page and its bounded count in one statement; a page past the last has no row to carry the count.
      const rows = await scope.run<EntityRow>(statements.page(selection, orderBy(params.sort ?? NEWEST_FIRST), params.limit, (params.page - 1) * params.limit, EXACT_COUNT_LIMIT));
      const counted = rows[0]?.total ?? (await scope.run<{ total: number }>(statements.count(selection, EXACT_COUNT_LIMIT)))[0]?.total ?? 0;
      const totalIsEstimate = counted > EXACT_COUNT_LIMIT;
      // Past the bound, the estimate can never say fewer than the rows already counted.
      const total = totalIsEstimate ? Math.max(counted, await estimateCount(scope, selection)) : counted;
      return {
        data: rows.map((row) => row.entity as TEntity),
        pagination: { page: params.page, limit: params.limit, total, totalPages: Math.ceil(total / params.limit), totalIsEstimate },
      };
    },

    async infinite(scope: ScopedModel, params: InfiniteParams): Promise<{ items: TEntity[]; nextCursor: string | null }> {
      const selection = selectionOf(params);
      const sort = params.sort ?? NEWEST_FIRST;
      if (params.cursor) selection.conditions.push(after(params.cursor));
      // One row more than asked says whether a next page exists, without a count.
      const rows = await scope.run<EntityRow>(
        ({ table, live }) =>
          Prisma.sql`SELECT ${statements.entityJson("t")} AS entity FROM ${table} AS t WHERE ${Prisma.join([live("t"), ...selection.conditions], " AND ")} ORDER BY ${orderBy(sort)} LIMIT ${params.limit + 1}::int`,
      );
      const items = rows.slice(0, params.limit).map((row) => row.entity);
      const last = items[params.limit - 1];
      return {
        items: items as TEntity[],
        nextCursor: rows.length > params.limit && last ? cursorOf({ ...sort, value: last[sort.field] as string | number | boolean, id: last.id as string }) : null,
      };
    },
  };
}
