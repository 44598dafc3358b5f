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

/**
 * A create's idempotency key (`idempotencyKey` of a tRPC create, the `Idempotency-Key` header of a REST
 * POST): the client's name for one create, so a retry after a timeout answers the first create again
 * instead of making a second row (server/kit/idempotency.ts). 1 to 255 printable ASCII characters without
 * spaces (it travels in an HTTP header, which trims spaces and joins repeated headers with ", "); a UUID
 * made once per create and reused by its retries is a good key.
 */
export const IdempotencyKey = z
  .string()
  .min(1, "must not be empty")
  .max(255, "must be at most 255 characters")
  .regex(/^[\x21-\x7e]*$/, "must be printable ASCII without spaces (a UUID is a good key)");

/** A resource's id. */
export const ResourceId = () => z.uuid({ error: "must be a UUID" });

/**
 * A reference: the id of a live row of another resource of the caller's organization (declared in the
 * resource's definition, `references`). The contract checks its form; the kit checks that it names such a row.
 */
export const ReferenceId = () => z.uuid({ error: "must be a UUID (the id of a row it refers to)" });

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

/** The directions a list may be sorted in. */
export const SortDirection = z.enum(["asc", "desc"]);
export type SortDirection = z.infer<typeof SortDirection>;

/**
 * Where a keyset page starts: the sort key (`field`, its `value`) and the id of the last row before it,
 * in the page's order. The default order is `createdAt` descending.
 */
export interface KeysetCursor {
  field: string;
  direction: SortDirection;
  /** The last row's value of `field`, as the wire carries it (timestamps as ISO-8601 strings). */
  value: string | number | boolean;
  id: string;
}

/** PostgreSQL's bigint: event ids and cursors past it are bad input, not a database error. */
const MAX_BIGINT = 9_223_372_036_854_775_807n;
/** A decimal event id PostgreSQL can hold: 1 to 19 digits, at most its bigint's maximum. */
const isEventId = (value: string) => /^\d{1,19}$/.test(value) && BigInt(value) <= MAX_BIGINT;
/** A timestamp PostgreSQL can compare with: ISO-8601 years 0001 to 9999 (it has no year 0). */
const isStorableTimestamp = (value: string) => /^\d{4}-/.test(value) && !value.startsWith("0000-") && !Number.isNaN(new Date(value).getTime());

const CURSOR = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** A sorted cursor's prefix: its version, so the format can change without misreading old cursors. */
const SORTED = "s1.";

/**
 * The cursor of the position just after `cursor`: in the default order (createdAt descending) the
 * `<createdAt>_<id>` it always was; in any other order, `s1.` and the base64url of its JSON.
 */
export function cursorOf(cursor: KeysetCursor): string {
  if (cursor.field === "createdAt" && cursor.direction === "desc") return `${String(cursor.value)}_${cursor.id}`;
  return SORTED + Buffer.from(JSON.stringify([cursor.field, cursor.direction, cursor.value, cursor.id])).toString("base64url");
}

/** A cursor string read back, or undefined when it is not one `cursorOf` writes. */
function readCursor(value: string): KeysetCursor | undefined {
  const match = CURSOR.exec(value);
  if (match?.[1] && match[2]) {
    return isStorableTimestamp(match[1]) ? { field: "createdAt", direction: "desc", value: match[1], id: match[2] } : undefined;
  }
  if (!value.startsWith(SORTED) || value.length > 1200) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value.slice(SORTED.length), "base64url").toString("utf8"));
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== 4) return undefined;
  const [field, direction, key, id] = parsed as unknown[];
  if (typeof field !== "string" || (direction !== "asc" && direction !== "desc") || typeof id !== "string" || !UUID.test(id)) return undefined;
  if (!(typeof key === "string" || typeof key === "boolean" || (typeof key === "number" && Number.isFinite(key)))) return undefined;
  return { field, direction, value: key, id };
}

/**
 * An opaque cursor: pass back the `nextCursor` a page returned, never build one. On the wire it is a
 * string; the server reads it as the sort key and id of the last row seen.
 */
export const CursorString = (procedure: string) =>
  z.string().transform((value, ctx): KeysetCursor => {
    const cursor = readCursor(value);
    if (!cursor) {
      ctx.addIssue({ code: "custom", message: `must be a nextCursor returned by ${procedure}` });
      return z.NEVER;
    }
    return cursor;
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
    if (!isEventId(value)) {
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

export interface ResourceContractSpec<
  TKey extends string,
  TName extends string,
  TCreate extends Shape,
  TOutput extends Shape,
  TFilters extends Shape,
  TSort extends keyof TOutput & string = never,
> {
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
  /** Equality filters of list and infinite (each optional there); a reference field is one (`projectId: ReferenceId()`). */
  filters: TFilters;
  /**
   * Fields `list` and `infinite` may be sorted by (`sort: { field, direction }`), beside `createdAt` and
   * `updatedAt`: required fields of a type with an order (text, numbers, datetimes, enums). Each needs its
   * index (`<table>_org_<column>_live_sort_idx`) for a page to cost the same at any depth.
   */
  sortable?: readonly TSort[];
}

/** The fields every resource may be sorted by. */
export const ALWAYS_SORTABLE = ["createdAt", "updatedAt"] as const;

/**
 * Builds a resource's contract. The update's `data` takes every create field as optional (at least one);
 * list and infinite take `search` and the filters; every input is strict (an unknown key is BAD_REQUEST).
 */
export function resourceContract<
  TKey extends string,
  TName extends string,
  TCreate extends Shape,
  TOutput extends Shape,
  TFilters extends Shape,
  TSort extends keyof TOutput & string = never,
>(spec: ResourceContractSpec<TKey, TName, TCreate, TOutput, TFilters, TSort>) {
  type TEntityKey = Uncapitalize<TName>;
  const entityKey = (spec.name.charAt(0).toLowerCase() + spec.name.slice(1)) as TEntityKey;
  const optionalFilters = Object.fromEntries(Object.entries(spec.filters).map(([key, schema]) => [key, z.optional(schema)])) as Optionalized<TFilters>;
  const updateData = Object.fromEntries(Object.entries(spec.create).map(([key, schema]) => [key, z.optional(schema)])) as Optionalized<TCreate>;

  const entity = z.object({ ...ownedHead, ...spec.output, ...ownedTail });
  const createInput = z.strictObject(spec.create);
  if ("idempotencyKey" in spec.create) throw new Error(`${spec.key}: a field may not be called idempotencyKey (the create procedure's own input)`);
  /**
   * What the tRPC create takes: the create input and an optional `idempotencyKey`. The create input stays
   * the fields alone: it is REST's body, where the key is the `Idempotency-Key` header.
   */
  const createProcedureInput = createInput.extend({
    idempotencyKey: IdempotencyKey.optional().meta({
      description: "Makes the create safe to retry: the same key and input within 24 hours answer the first create again",
      // The developer panel's starting input leaves it out (an empty key is refused): server/panel/static/panel.js.
      "x-not-in-examples": true,
    }),
  });
  const sortFields = [...ALWAYS_SORTABLE, ...(spec.sortable ?? [])] as [TSort | (typeof ALWAYS_SORTABLE)[number], ...(TSort | (typeof ALWAYS_SORTABLE)[number])[]];
  for (const field of spec.sortable ?? []) {
    if (!(field in spec.output)) throw new Error(`${spec.key}: the sortable field ${field} is not a field of the entity`);
  }
  /** The order of a list: newest first (createdAt descending) when left out; ties always break on id. */
  const sort = z.strictObject({
    field: z.enum(sortFields, { error: `must be one of ${sortFields.join(", ")}` }),
    direction: SortDirection.default("asc"),
  });
  const listObject = z.strictObject({
    page: z.number().int().min(1).max(1_000_000).default(1),
    limit: z.number().int().min(1).max(100).default(20),
    search: SearchText(),
    sort: sort.optional(),
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
  const infiniteObject = z
    .strictObject({
      cursor: CursorString(`${spec.key}.infinite`).nullish(),
      limit: z.number().int().min(1).max(100).default(20),
      search: SearchText(),
      sort: sort.optional(),
      ...optionalFilters,
      direction: z.literal("forward", { error: 'only "forward" is supported' }).optional(),
    })
    .superRefine((value, ctx) => {
      // A cursor carries its page's order and the last row's sort key: it continues that order only.
      const input = value as { cursor?: KeysetCursor | null; sort?: { field: string; direction: SortDirection } };
      const cursor = input.cursor;
      if (!cursor) return;
      const field = input.sort?.field ?? "createdAt";
      const direction = input.sort ? input.sort.direction : "desc";
      const valueSchema = (entity.shape as Record<string, z.ZodType>)[cursor.field];
      const storable = !(valueSchema instanceof z.ZodISODateTime) || isStorableTimestamp(String(cursor.value));
      if (cursor.field !== field || cursor.direction !== direction || !valueSchema?.safeParse(cursor.value).success || !storable) {
        ctx.addIssue({ code: "custom", path: ["cursor"], message: `must be a nextCursor returned by ${spec.key}.infinite with the same sort` });
      }
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
      lastEventId: z.string().refine(isEventId, "must be the id of an event received before").nullish(),
      search: SearchText(),
      ...optionalFilters,
    })
    .optional();
  const changeNotice = z.object({ type: ChangeType, [entityKey]: entity } as { type: typeof ChangeType } & Record<TEntityKey, typeof entity>);

  return {
    entity,
    createInput,
    createProcedureInput,
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
    /** What list and infinite may be sorted by: createdAt, updatedAt and the declared sortable fields. */
    sortFields: sortFields as readonly string[],
  };
}

/** What any resource's contract provides (`resourceContract` builds one), seen without its fields. */
export interface ResourceContract {
  entity: z.ZodObject;
  createInput: z.ZodType<Record<string, unknown>>;
  createProcedureInput: z.ZodType<Record<string, unknown> & { idempotencyKey?: string | undefined }>;
  listInput: z.ZodType<{ page: number; limit: number; search?: string | undefined; sort?: { field: string; direction: SortDirection } | undefined }>;
  page: z.ZodType<{ data: unknown[]; pagination: Pagination }>;
  infiniteInput: z.ZodType<{
    cursor?: KeysetCursor | null | undefined;
    limit: number;
    search?: string | undefined;
    sort?: { field: string; direction: SortDirection } | undefined;
  }>;
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
  sortFields: readonly string[];
}
