/**
 * The contract: every input and output of the API, as zod schemas. Types are inferred from them, and
 * the typed client re-exports them, so this module imports nothing but zod.
 */
import { z } from "zod";

export const FeatureStatus = z.enum(["ACTIVE", "INACTIVE"]);
export type FeatureStatus = z.infer<typeof FeatureStatus>;

const FeatureId = z.uuid({ error: "must be a UUID" });
/** Text PostgreSQL can store: it has no NUL character, so one is refused here as bad input, not a 500. */
const Text = () => z.string().refine((text) => !text.includes("\u0000"), "must not contain NUL characters");

const FeatureName = Text()
  .trim()
  .min(2, "must be at least 2 characters")
  .max(200, "must be at most 200 characters");
const FeatureDescription = Text().max(2000, "must be at most 2000 characters").nullable();

/** A feature as it travels on the wire. Timestamps are ISO-8601 strings (plain JSON, no transformer). */
export const Feature = z.object({
  id: z.uuid(),
  organizationId: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  status: FeatureStatus,
  createdById: z.string(),
  updatedById: z.string(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type Feature = z.infer<typeof Feature>;

export const FeatureCreateInput = z.strictObject({
  name: FeatureName,
  description: FeatureDescription.optional(),
  status: FeatureStatus.optional(),
});
export type FeatureCreateInput = z.input<typeof FeatureCreateInput>;

const FeatureSearch = Text().trim().max(200, "must be at most 200 characters").optional();

export const FeatureListInput = z
  .strictObject({
    page: z.number().int().min(1).max(1_000_000).default(1),
    limit: z.number().int().min(1).max(100).default(20),
    /** Case-insensitive substring of the name; every character means itself. */
    search: FeatureSearch,
    status: FeatureStatus.optional(),
  })
  .default({ page: 1, limit: 20 });
export type FeatureListInput = z.input<typeof FeatureListInput>;

/**
 * `total` is exact up to 10,000 matching features; past that it is the database planner's estimate
 * (never below 10,001) and `totalIsEstimate` is true, so page 1 of a huge organization costs no
 * more than page 1 of a small one (bench/results/summary.md has the numbers).
 */
export const Pagination = z.object({
  page: z.number().int(),
  limit: z.number().int(),
  total: z.number().int(),
  totalPages: z.number().int(),
  totalIsEstimate: z.boolean(),
});
export type Pagination = z.infer<typeof Pagination>;

export const FeaturePage = z.object({ data: z.array(Feature), pagination: Pagination });
export type FeaturePage = z.infer<typeof FeaturePage>;

const CURSOR = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/** Where a page of `features.infinite` starts: the (createdAt, id) of the last feature before it. */
export interface FeatureCursor {
  createdAt: Date;
  id: string;
}

/**
 * An opaque cursor: pass back the `nextCursor` a page returned, never build one. On the wire it is a
 * string; the server reads it as the (createdAt, id) position of the last feature seen.
 */
export const FeatureCursorString = z.string().transform((value, ctx): FeatureCursor => {
  const match = CURSOR.exec(value);
  const createdAt = match?.[1] ? new Date(match[1]) : undefined;
  if (!match?.[2] || !createdAt || Number.isNaN(createdAt.getTime())) {
    ctx.addIssue({ code: "custom", message: "must be a nextCursor returned by features.infinite" });
    return z.NEVER;
  }
  return { createdAt, id: match[2] };
});

/**
 * Infinite scroll (keyset pagination on createdAt, id, newest first): every page costs the same,
 * however deep, and rows inserted meanwhile never shift a page (no duplicates, no gaps).
 * `direction` is what TanStack Query's `useInfiniteQuery` sends; only "forward" is served.
 */
export const FeatureInfiniteInput = z
  .strictObject({
    cursor: FeatureCursorString.nullish(),
    limit: z.number().int().min(1).max(100).default(20),
    search: FeatureSearch,
    status: FeatureStatus.optional(),
    direction: z.literal("forward", { error: 'only "forward" is supported' }).optional(),
  })
  .default({ limit: 20 });
export type FeatureInfiniteInput = z.input<typeof FeatureInfiniteInput>;

/** A page of `features.infinite`; `nextCursor` is null after the last page. */
export const FeatureInfinitePage = z.object({ items: z.array(Feature), nextCursor: z.string().nullable() });
export type FeatureInfinitePage = z.infer<typeof FeatureInfinitePage>;

export const FeatureByIdInput = z.strictObject({ id: FeatureId });
export type FeatureByIdInput = z.input<typeof FeatureByIdInput>;

/**
 * Optimistic concurrency: the `updatedAt` the caller last read. When the row has changed since, the
 * update is refused with CONFLICT and changes nothing. (Also the REST surface's `expected_updated_at`.)
 */
export const ExpectedUpdatedAt = z.iso.datetime({ error: "must be an ISO-8601 timestamp (the updatedAt last read)" });

export const FeatureUpdateInput = z.strictObject({
  id: FeatureId,
  expectedUpdatedAt: ExpectedUpdatedAt.optional(),
  data: z
    .strictObject({
      name: FeatureName.optional(),
      description: FeatureDescription.optional(),
      status: FeatureStatus.optional(),
    })
    .refine((data) => Object.values(data).some((value) => value !== undefined), "must change at least one field"),
});
export type FeatureUpdateInput = z.input<typeof FeatureUpdateInput>;

export const FeatureDeleteInput = FeatureByIdInput;
export type FeatureDeleteInput = z.input<typeof FeatureDeleteInput>;
export const FeatureDeleteOutput = z.object({ id: z.uuid() });
export type FeatureDeleteOutput = z.infer<typeof FeatureDeleteOutput>;

/** Who calls: the verified token's claims. */
export const Me = z.object({
  sub: z.string(),
  organizationId: z.string(),
  role: z.string().optional(),
  email: z.string().optional(),
});
export type Me = z.infer<typeof Me>;

/** Per-field messages of a BAD_REQUEST, keyed by the dotted path of the input field (`"data.name"`). */
export const FieldErrors = z.record(z.string(), z.array(z.string()));
export type FieldErrors = z.infer<typeof FieldErrors>;
