/**
 * Reading many features of one organization: numbered pages (`list`, with a total) and keyset pages
 * (`infinite`, for infinite scroll). Both are newest first on (createdAt, id), which the partial
 * indexes `features_org_live_created_idx` and `features_org_status_live_created_idx` serve; a search
 * of 3+ characters is served by the trigram index `features_name_trgm_idx`.
 */
import type { FeatureCursor, FeatureInfinitePage, FeaturePage, FeatureStatus } from "../contract/index.js";
import type { PrismaClient } from "../db/database.js";
import { Prisma } from "../generated/prisma/client.js";
import { escapeLike } from "./escape-like.js";
import type { Actor } from "./feature.service.js";
import { toWire, wireColumns } from "./feature.wire.js";

/**
 * Up to this many matches, `total` is counted exactly; past it, the count stops (so page 1 costs the
 * same at 10k and at 1M rows) and the planner's estimate is returned, flagged `totalIsEstimate`.
 * The numbers behind the bound: bench/results/summary.md, "Count strategy".
 */
export const EXACT_COUNT_LIMIT = 10_000;

export interface Filters {
  search?: string | undefined;
  status?: FeatureStatus | undefined;
}

export interface ListParams extends Filters {
  page: number;
  limit: number;
}

export interface InfiniteParams extends Filters {
  cursor?: FeatureCursor | null | undefined;
  limit: number;
}

const newestFirst = [{ createdAt: "desc" }, { id: "desc" }] satisfies Prisma.FeatureOrderByWithRelationInput[];

function whereOf(actor: Actor, filters: Filters): Prisma.FeatureWhereInput {
  return {
    organizationId: actor.organizationId,
    deletedAt: null,
    ...(filters.status && { status: filters.status }),
    ...(filters.search && { name: { contains: escapeLike(filters.search), mode: "insensitive" } }),
  };
}

/**
 * Rows strictly after `cursor` in (createdAt DESC, id DESC) order. The redundant `createdAt <= c` is
 * what lets PostgreSQL start the index scan at the cursor (the OR alone would be a filter applied to
 * every newer row), so a page deep in a million rows costs what page 1 does.
 */
function after(cursor: FeatureCursor): Prisma.FeatureWhereInput {
  return {
    createdAt: { lte: cursor.createdAt },
    OR: [{ createdAt: { lt: cursor.createdAt } }, { id: { lt: cursor.id } }],
  };
}

/** The cursor of the position just after `feature`; read back by the contract's `FeatureCursorString`. */
export function featureCursorOf(feature: { createdAt: string; id: string }): string {
  return `${feature.createdAt}_${feature.id}`;
}

/**
 * The same filters as `whereOf`, as SQL, for the two statements Prisma cannot express: a count that
 * stops at a bound (Prisma's `count({ take })` sorts by id first, reading every match) and EXPLAIN.
 */
function sqlWhereOf(actor: Actor, filters: Filters): Prisma.Sql {
  const conditions = [Prisma.sql`organization_id = ${actor.organizationId}`, Prisma.sql`deleted_at IS NULL`];
  if (filters.status) conditions.push(Prisma.sql`status = ${filters.status}::"FeatureStatus"`);
  if (filters.search) conditions.push(Prisma.sql`name ILIKE ${`%${escapeLike(filters.search)}%`}`);
  return Prisma.join(conditions, " AND ");
}

export function createFeatureListing(prisma: PrismaClient) {
  /** The number of matches, counting no further than `EXACT_COUNT_LIMIT + 1`. */
  async function boundedCount(actor: Actor, filters: Filters): Promise<number> {
    const [row] = await prisma.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM (SELECT 1 FROM features WHERE ${sqlWhereOf(actor, filters)} LIMIT ${EXACT_COUNT_LIMIT + 1}) AS bounded`;
    return row?.n ?? 0;
  }

  /** The planner's row estimate for the filters: one EXPLAIN, no rows read. */
  async function estimateCount(actor: Actor, filters: Filters): Promise<number> {
    const [row] = await prisma.$queryRaw<{ "QUERY PLAN": unknown }[]>`EXPLAIN (FORMAT JSON) SELECT 1 FROM features WHERE ${sqlWhereOf(actor, filters)}`;
    const plan = typeof row?.["QUERY PLAN"] === "string" ? (JSON.parse(row["QUERY PLAN"]) as unknown) : row?.["QUERY PLAN"];
    const rows = (plan as [{ Plan?: { "Plan Rows"?: number } }] | undefined)?.[0]?.Plan?.["Plan Rows"];
    return typeof rows === "number" ? Math.round(rows) : 0;
  }

  return {
    async list(actor: Actor, params: ListParams): Promise<FeaturePage> {
      const where = whereOf(actor, params);
      const [rows, counted] = await Promise.all([
        prisma.feature.findMany({
          where,
          orderBy: newestFirst,
          skip: (params.page - 1) * params.limit,
          take: params.limit,
          select: wireColumns,
        }),
        boundedCount(actor, params),
      ]);
      const totalIsEstimate = counted > EXACT_COUNT_LIMIT;
      // Past the bound, the estimate can never say fewer than the rows already counted.
      const total = totalIsEstimate ? Math.max(counted, await estimateCount(actor, params)) : counted;
      return {
        data: rows.map(toWire),
        pagination: { page: params.page, limit: params.limit, total, totalPages: Math.ceil(total / params.limit), totalIsEstimate },
      };
    },

    async infinite(actor: Actor, params: InfiniteParams): Promise<FeatureInfinitePage> {
      const filters = whereOf(actor, params);
      // One row more than asked says whether a next page exists, without a count.
      const rows = await prisma.feature.findMany({
        where: params.cursor ? { AND: [filters, after(params.cursor)] } : filters,
        orderBy: newestFirst,
        take: params.limit + 1,
        select: wireColumns,
      });
      const items = rows.slice(0, params.limit).map(toWire);
      const last = items.at(-1);
      return { items, nextCursor: rows.length > params.limit && last ? featureCursorOf(last) : null };
    },
  };
}
