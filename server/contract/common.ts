/**
 * Contract pieces every resource shares, and `resourceContract`, which builds a resource's whole contract
 * (entity, create/update/list/infinite/byId/delete inputs and pages) from its fields. Imports nothing but zod:
 * the typed client computes its published types from these schemas.
 */
import { z } from "zod";
import { Role } from "./roles.js";

/** `String.prototype.isWellFormed` (Node 20 has it; TypeScript declares it from the ES2024 library on). */
export const isWellFormed = (text: string): boolean => (text as string & { isWellFormed(): boolean }).isWellFormed();

/**
 * Text PostgreSQL can store as it was sent: it has no NUL character, and a lone surrogate (valid in JSON,
 * not in UTF-8) would be stored as U+FFFD, silently changed; both are refused here as bad input, not a 500.
 */
export const Text = () =>
  z
    .string()
    .refine((text) => !text.includes("\u0000"), "must not contain NUL characters")
    .refine(isWellFormed, "must be well-formed Unicode (no lone surrogates)");

/**
 * The rules of each field type a generated resource may have (`npm run generate`): what the create and
 * update inputs accept. The entity returns the same values (datetimes as ISO-8601 strings in UTC).
 */
export const FieldInput = {
  /** Trimmed, 1 to 200 characters. */
  string: () => Text().trim().min(1, "must not be empty").max(200, "must be at most 200 characters"),
  /** Up to 10,000 characters. */
  text: () => Text().max(10_000, "must be at most 10000 characters"),
  /** A 32-bit integer. */
  int: () =>
    z
      .number()
      .int("must be an integer")
      .min(-2_147_483_648, "must be at least -2147483648")
      .max(2_147_483_647, "must be at most 2147483647"),
  /** A finite number (zod 4 refuses Infinity and NaN). */
  number: () => z.number(),
  boolean: () => z.boolean(),
  /** ISO 8601 with a time zone (`Z` or an offset); stored as a timestamp with time zone. */
  datetime: () => z.iso.datetime({ offset: true, error: "must be an ISO-8601 timestamp with a time zone" }).transform((value) => new Date(value)),
};

/**
 * Optimistic concurrency: the `updatedAt` the caller last read. When the row has changed since, the
 * update is refused with CONFLICT and changes nothing. (Also the REST surface's `expected_updated_at`.)
 */
export const ExpectedUpdatedAt = z.iso.datetime({ error: "must be an ISO-8601 timestamp (the updatedAt last read)" });

/** A resource's id. */
export const ResourceId = () => z.uuid({ error: "must be a UUID" });

/** Case-insensitive substring of the resource's search field; every character means itself. */
export const SearchText = () => Text().trim().max(200, "must be at most 200 characters").optional();

/**
 * `total` is exact up to 10,000 matching rows; past that it is the database planner's estimate
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

/**
 * Who calls: the verified token's claims. `role` is the effective role (the token's, mapped by ROLE_MAP, or
 * DEFAULT_ROLE when it has none); a role claim the service does not know leaves `role` out and is
 * `unknownRole`, so a client can show why every other procedure answers FORBIDDEN.
 */
export const Me = z.object({
  sub: z.string(),
  organizationId: z.string(),
  role: Role.optional(),
  unknownRole: z.string().optional(),
  email: z.string().optional(),
});
export type Me = z.infer<typeof Me>;

/** Per-field messages of a BAD_REQUEST, keyed by the dotted path of the input field (`"data.name"`). */
export const FieldErrors = z.record(z.string(), z.array(z.string()));
export type FieldErrors = z.infer<typeof FieldErrors>;

/** Where a keyset page starts: the (createdAt, id) of the last row before it. */
export interface KeysetCursor {
  createdAt: Date;
  id: string;
}

const CURSOR = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/** The cursor of the position just after `row`; read back by `CursorString`. */
export function cursorOf(row: { createdAt: string; id: string }): string {
  return `${row.createdAt}_${row.id}`;
}

/**
 * An opaque cursor: pass back the `nextCursor` a page returned, never build one. On the wire it is a
 * string; the server reads it as the (createdAt, id) position of the last row seen.
 */
export const CursorString = (procedure: string) =>
  z.string().transform((value, ctx): KeysetCursor => {
    const match = CURSOR.exec(value);
    const createdAt = match?.[1] ? new Date(match[1]) : undefined;
    if (!match?.[2] || !createdAt || Number.isNaN(createdAt.getTime())) {
      ctx.addIssue({ code: "custom", message: `must be a nextCursor returned by ${procedure}` });
      return z.NEVER;
    }
    return { createdAt, id: match[2] };
  });

export const ChangeType = z.enum(["created", "updated", "deleted"]);
export type ChangeType = z.infer<typeof ChangeType>;

/**
 * One entry of a resource's change log, written in the same transaction as the change. `changes` holds
 * each changed field's value before and after (`before` is null for a create); `actorId` is the `sub` of
 * whoever made it. `id` increases: it is also the `lastEventId` of `onChange`.
 */
export const ChangeEvent = z.object({
  id: z.string(),
  organizationId: z.string(),
  entityId: z.uuid(),
  type: ChangeType,
  actorId: z.string(),
  changes: z.record(z.string(), z.object({ before: z.unknown(), after: z.unknown() })),
  createdAt: z.iso.datetime(),
});
export type ChangeEvent = z.infer<typeof ChangeEvent>;

/** An opaque history cursor: the `nextCursor` of the previous page (an event id). */
const EventCursor = (procedure: string) =>
  z.string().transform((value, ctx): bigint => {
    if (!/^\d{1,19}$/.test(value)) {
      ctx.addIssue({ code: "custom", message: `must be a nextCursor returned by ${procedure}` });
      return z.NEVER;
    }
    return BigInt(value);
  });

/** The columns every org-owned resource has, as they travel on the wire (timestamps are ISO-8601 strings). */
const ownedHead = { id: z.uuid(), organizationId: z.string() };
const ownedTail = { createdById: z.string(), updatedById: z.string(), createdAt: z.iso.datetime(), updatedAt: z.iso.datetime() };

type Shape = z.ZodRawShape;
type Optionalized<T extends Shape> = { [K in keyof T]: z.ZodOptional<T[K]> };

export interface ResourceContractSpec<TKey extends string, TName extends string, TCreate extends Shape, TOutput extends Shape, TFilters extends Shape> {
  /** The router key, camelCase plural, `features`: it names procedures (`features.infinite`), the table and the REST path. */
  key: TKey;
  /**
   * The entity's name, PascalCase singular, `Feature`: the Prisma model, and in camelCase (`feature`) the
   * entity's key in an `onChange` event (`{ type, feature }`).
   */
  name: TName;
  /** The create input's fields, each with its rules; optional ones end in `.optional()`. */
  create: TCreate;
  /** The same fields as the entity returns them. */
  output: TOutput;
  /** Equality filters of list and infinite (each optional there). */
  filters: TFilters;
}

/**
 * Builds a resource's contract. The update's `data` takes every create field as optional (at least one);
 * list and infinite take `search` and the filters; every input is strict (an unknown key is BAD_REQUEST).
 */
export function resourceContract<TKey extends string, TName extends string, TCreate extends Shape, TOutput extends Shape, TFilters extends Shape>(
  spec: ResourceContractSpec<TKey, TName, TCreate, TOutput, TFilters>,
) {
  type TEntityKey = Uncapitalize<TName>;
  const entityKey = (spec.name.charAt(0).toLowerCase() + spec.name.slice(1)) as TEntityKey;
  const optionalFilters = Object.fromEntries(Object.entries(spec.filters).map(([key, schema]) => [key, z.optional(schema)])) as Optionalized<TFilters>;
  const updateData = Object.fromEntries(Object.entries(spec.create).map(([key, schema]) => [key, z.optional(schema)])) as Optionalized<TCreate>;

  const entity = z.object({ ...ownedHead, ...spec.output, ...ownedTail });
  const createInput = z.strictObject(spec.create);
  const listObject = z.strictObject({
    page: z.number().int().min(1).max(1_000_000).default(1),
    limit: z.number().int().min(1).max(100).default(20),
    search: SearchText(),
    ...optionalFilters,
  });
  // No input at all is the first page of 20 (every filter is optional, which the compiler cannot see here).
  const listInput = listObject.default({ page: 1, limit: 20 } as never);
  const page = z.object({ data: z.array(entity), pagination: Pagination });
  /**
   * Infinite scroll (keyset pagination on createdAt, id, newest first): every page costs the same,
   * however deep, and rows inserted meanwhile never shift a page (no duplicates, no gaps).
   * `direction` is what TanStack Query's `useInfiniteQuery` sends; only "forward" is served.
   */
  const infiniteObject = z.strictObject({
    cursor: CursorString(`${spec.key}.infinite`).nullish(),
    limit: z.number().int().min(1).max(100).default(20),
    search: SearchText(),
    ...optionalFilters,
    direction: z.literal("forward", { error: 'only "forward" is supported' }).optional(),
  });
  const infiniteInput = infiniteObject.default({ limit: 20 } as never);
  /** `nextCursor` is null after the last page. */
  const infinitePage = z.object({ items: z.array(entity), nextCursor: z.string().nullable() });
  const byIdInput = z.strictObject({ id: ResourceId() });
  const updateDataObject = z
    .strictObject(updateData)
    .refine((data) => Object.values(data).some((value) => value !== undefined), "must change at least one field");
  const updateInput = z.strictObject({ id: ResourceId(), expectedUpdatedAt: ExpectedUpdatedAt.optional(), data: updateDataObject });
  const deleteOutput = z.object({ id: z.uuid() });
  /** `history`: one row's change events, newest first, keyset-paged by event id. */
  const historyInput = z.strictObject({
    id: ResourceId(),
    cursor: EventCursor(`${spec.key}.history`).nullish(),
    limit: z.number().int().min(1).max(100).default(20),
  });
  const historyPage = z.object({ items: z.array(ChangeEvent), nextCursor: z.string().nullable() });
  /**
   * `onChange`: the caller's organization's changes, live. `lastEventId` (the id of the last event received;
   * tRPC's `httpSubscriptionLink` sends it by itself when it reconnects) first replays what happened since.
   * `search` and the filters match the entity before or after the change, so a filtered list also learns
   * that a row left it.
   */
  const onChangeInput = z
    .strictObject({
      lastEventId: z.string().regex(/^\d{1,19}$/, "must be the id of an event received before").nullish(),
      search: SearchText(),
      ...optionalFilters,
    })
    .optional();
  const changeNotice = z.object({ type: ChangeType, [entityKey]: entity } as { type: typeof ChangeType } & Record<TEntityKey, typeof entity>);

  return {
    entity,
    createInput,
    listInput,
    page,
    infiniteInput,
    infinitePage,
    byIdInput,
    updateInput,
    deleteInput: byIdInput,
    deleteOutput,
    /** The `data` of an update: every field optional, at least one given (REST's PUT/PATCH body). */
    updateData: updateDataObject,
    /** The list input's object, without its default (REST's query parameters). */
    listObject,
    historyInput,
    historyPage,
    onChangeInput,
    /** What `onChange` yields (inside `tracked(eventId, ...)`): `{ type, feature }`. */
    changeNotice,
    key: spec.key,
    name: spec.name,
    entityKey,
  };
}

/** What any resource's contract provides (`resourceContract` builds one), seen without its fields. */
export interface ResourceContract {
  entity: z.ZodObject;
  createInput: z.ZodType<Record<string, unknown>>;
  listInput: z.ZodType<{ page: number; limit: number; search?: string | undefined }>;
  page: z.ZodType<{ data: unknown[]; pagination: Pagination }>;
  infiniteInput: z.ZodType<{ cursor?: KeysetCursor | null | undefined; limit: number; search?: string | undefined }>;
  infinitePage: z.ZodType<{ items: unknown[]; nextCursor: string | null }>;
  byIdInput: z.ZodType<{ id: string }>;
  updateInput: z.ZodType<{ id: string; expectedUpdatedAt?: string | undefined; data: Record<string, unknown> }>;
  deleteInput: z.ZodType<{ id: string }>;
  deleteOutput: z.ZodType<{ id: string }>;
  updateData: z.ZodObject;
  listObject: z.ZodObject;
  historyInput: z.ZodType<{ id: string; cursor?: bigint | null | undefined; limit: number }>;
  historyPage: z.ZodType<{ items: ChangeEvent[]; nextCursor: string | null }>;
  onChangeInput: z.ZodType<({ lastEventId?: string | null | undefined; search?: string | undefined } & Record<string, unknown>) | undefined>;
  changeNotice: z.ZodObject;
  key: string;
  name: string;
  entityKey: string;
}
