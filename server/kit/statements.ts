/**
 * The kit's SQL for a resource's rows, written once for every resource and built from its definition: the
 * entity in its wire form, the read by id, and the writes, each a single statement run through the caller's
 * scope (./scope.ts), which gives every statement its table, its organization condition and the caller.
 *
 * The wire form of an entity is built here, in SQL (`entityJson`): timestamps as ISO-8601 strings in UTC
 * with milliseconds (what `Date.toISOString` writes), enums as their labels, every other column as its JSON
 * value. Reads, the answers of writes, and the change events all carry that one form.
 *
 * A write is one statement: its row, its change event (./change-log.ts `eventStatement`: the organization's
 * lock, the event, the NOTIFY) and, for an update or delete, the row as it was, read under the row's lock in
 * the same statement (`FOR NO KEY UPDATE`, the lock an UPDATE of non-key columns takes: a child's
 * foreign-key check, FOR KEY SHARE, does not wait for it). Under READ COMMITTED a locking read that waited
 * for another write returns the row as that write committed it (or nothing, when it deleted it), and the
 * UPDATE that follows re-checks its conditions against that version, so the "before" of an event is the
 * last committed one. One statement instead of an interactive transaction saves three round trips and
 * holds the organization's lock for the rest of the statement and its commit only (bench/results/levers.md).
 *
 * Why SQL written here and not a query builder (Kysely and its Prisma-generated types, as cal.com does): the
 * statements are generic over every resource (their columns come from the definition at start), which a
 * builder's static table types do not help with, and each is written once.
 */
import { randomUUID } from "node:crypto";
import { z } from "zod";
import type { ChangeType } from "../contract/common.js";
import type { Statement } from "../db/sql.js";
import { Prisma } from "../generated/prisma/client.js";
import { BOOKKEEPING_FIELDS, eventStatement } from "./change-log.js";
import type { EventSpec } from "./change-log.js";
import { columnOf, liveReferrersFunctionName } from "./define.js";
import type { ScopeParts } from "./scope.js";
import { sqlIdentifier } from "./scope.js";

/** A statement as the scope runs it: built from the scope's parts. */
export type Build = (scope: ScopeParts) => Statement;

/**
 * `statement`, kept prepared on the connection (server/db/sql.ts): for statements whose plan is the same
 * whatever their values (a row by its key, a write of one row), so PostgreSQL parses and plans them once
 * per connection instead of per call.
 */
const prepared = (statement: Prisma.Sql): Statement => ({ text: statement.text, values: statement.values, prepared: true });

/** A field name from a definition (never from input), checked: it becomes a JSON key and a column alias. */
function fieldName(field: string): string {
  if (!/^[A-Za-z][A-Za-z0-9]*$/.test(field)) throw new Error(`not a plain field name: ${field}`);
  return field;
}

/** `alias."column"` for a field, the alias checked by the caller's statement. */
const columnAt = (alias: string, field: string) => Prisma.raw(`${alias}."${columnOf(fieldName(field))}"`);

/** ISO-8601 in UTC with milliseconds, as `Date.toISOString` writes it (years 0001 to 9999, which the contract's datetimes are). */
const isoOf = (value: Prisma.Sql) => Prisma.sql`to_char(${value} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** jsonb_build_object takes at most 100 arguments: a longer object is built in parts. */
function jsonObject(pairs: [string, Prisma.Sql][]): Prisma.Sql {
  if (pairs.length === 0) return Prisma.sql`'{}'::jsonb`;
  const parts: Prisma.Sql[] = [];
  for (let i = 0; i < pairs.length; i += 50) {
    parts.push(Prisma.sql`jsonb_build_object(${Prisma.join(pairs.slice(i, i + 50).map(([key, value]) => Prisma.sql`${Prisma.raw(`'${fieldName(key)}'`)}, ${value}`))})`);
  }
  return Prisma.join(parts, " || ");
}

/** The field names of BOOKKEEPING_FIELDS as a SQL array: what an event's `changes` leaves out. */
const BOOKKEEPING_ARRAY = Prisma.raw(`ARRAY[${BOOKKEEPING_FIELDS.map((field) => `'${fieldName(field)}'`).join(", ")}]`);

/** The schema of a field of `entity`, without optional or nullable around it. */
function unwrapped(entity: z.ZodObject, field: string): z.ZodType | undefined {
  let schema = entity.shape[field] as z.ZodType | undefined;
  while (schema instanceof z.ZodOptional || schema instanceof z.ZodNullable) schema = schema.unwrap() as z.ZodType;
  return schema;
}

/** The entity of a resource: its fields, and which of them are timestamps. */
export interface EntityShape {
  fields: readonly string[];
  timestamps: ReadonlySet<string>;
}

export function entityShapeOf(entity: z.ZodObject): EntityShape {
  const fields = Object.keys(entity.shape).map(fieldName);
  return { fields, timestamps: new Set(fields.filter((field) => unwrapped(entity, field) instanceof z.ZodISODateTime)) };
}

/** The entity in its wire form (jsonb), from the columns of the row `alias` names. */
export function entityJson(shape: EntityShape, alias: string): Prisma.Sql {
  return jsonObject(shape.fields.map((field) => [field, shape.timestamps.has(field) ? isoOf(columnAt(alias, field)) : columnAt(alias, field)]));
}

/** A create's changes: every field but the bookkeeping ones, from nothing to its value. */
const createdChanges = (after: Prisma.Sql) =>
  Prisma.sql`(SELECT coalesce(jsonb_object_agg(key, jsonb_build_object('before', NULL, 'after', value)), '{}'::jsonb) FROM jsonb_each(${after}) WHERE key <> ALL (${BOOKKEEPING_ARRAY}))`;

/** An update's changes: the fields whose wire values differ between `before` and `after`, bookkeeping left out. */
const updatedChanges = (before: Prisma.Sql, after: Prisma.Sql) =>
  Prisma.sql`(SELECT coalesce(jsonb_object_agg(a.key, jsonb_build_object('before', b.value, 'after', a.value)), '{}'::jsonb)
    FROM jsonb_each(${after}) AS a JOIN jsonb_each(${before}) AS b ON b.key = a.key
    WHERE a.value <> b.value AND a.key <> ALL (${BOOKKEEPING_ARRAY}))`;

/**
 * `t.id` among `ids`: one id as `=`, several as `= ANY`. Measured on a prepared soft delete, `= ANY` of a
 * one-element array cost PostgreSQL about 450 µs more per call than `=` (its generic plan): the API deletes one row.
 */
const idIn = (ids: readonly string[]) => (ids.length === 1 ? Prisma.sql`t.id = ${ids[0]}::uuid` : Prisma.sql`t.id = ANY (${[...ids]}::uuid[])`);

/** `"column" = value` for each field given (undefined: left out), the column's type taken by PostgreSQL. */
function assignments(values: Record<string, unknown>, at?: string): Prisma.Sql[] {
  return Object.entries(values)
    .filter(([, value]) => value !== undefined)
    .map(([field, value]) => Prisma.sql`${at === undefined ? sqlIdentifier(columnOf(fieldName(field))) : columnAt(at, field)} = ${value}`);
}

/**
 * An updated row's `updated_at`: the database's clock, and always after the value it replaces (by at least a
 * millisecond, the column's precision), so that two writes of one row never share one and `expectedUpdatedAt`
 * tells every version apart.
 */
const nextUpdatedAt = (alias: string) =>
  Prisma.raw(`GREATEST(date_trunc('milliseconds', clock_timestamp()), ${alias}.updated_at + interval '1 millisecond')`);

/** A referrer whose live rows refuse the delete (`restrict`): its table and reference column. */
export interface RestrictingReferrer {
  table: string;
  field: string;
}

/** What a write statement answers. */
export interface WrittenRow {
  /** The entity as it was (updates and deletes). */
  before?: Record<string, unknown> | null;
  /** The entity as written; null when the row was not changed (a condition did not hold). */
  after?: Record<string, unknown> | null;
  /** Deletes: the id of each row read, and whether it was deleted. */
  id?: string;
  deleted?: boolean;
  /** Deletes of referenced rows: for each restricting referrer, whether live rows of it refer to the rows. */
  restricted?: boolean[] | null;
  notified: number;
}

/** Which of the caller's live rows a page or a count reads, as conditions on the table's alias `t`. */
export interface RowSelection {
  conditions: Prisma.Sql[];
}

/** How many matches a count counts at most (undefined: all of them). */
export type CountLimit = number | undefined;

export interface ResourceStatements {
  /** The entity's wire form from the row `alias` names. */
  entityJson(alias: string): Prisma.Sql;
  /** The caller's live row `id` as its entity (`entity`), or nothing. */
  byId(id: string): Build;
  /**
   * A page of the matching rows (`entity` each), in `order` (on `t`), with `total` on every row: the matches
   * counted, no further than `countLimit + 1`. No row past the last page: then `count` says how many match.
   */
  page(selection: RowSelection, order: Prisma.Sql, limit: number, offset: number, countLimit: CountLimit): Build;
  /** The number of matching rows (`total`), counted no further than `countLimit + 1`. */
  count(selection: RowSelection, countLimit: CountLimit): Build;
  /** A create: the row with `values` (its fields; the scope adds the organization and audit fields) and its event. */
  insert(values: Record<string, unknown>): Build;
  /**
   * An update of the live row `id`, under its lock: `values` set where the row also matches `conditions`
   * (field: value; `expectedUpdatedAt`, `:own`), with its event. One row answered when the row exists:
   * `before`, and `after` (null when a condition did not hold).
   */
  update(id: string, values: Record<string, unknown>, conditions: Record<string, unknown>): Build;
  /**
   * A soft delete of the live rows `ids`, each under its lock, where they also match `conditions`, with an
   * event each; unless live rows of a `restrict` referrer name them (each referrer's answer in `restricted`,
   * read after the organization's lock with a snapshot of its own: ./change-log.ts on the lock,
   * `liveReferrersFunction` in ./define.ts on the check). One row per row found: `id`, `before`, `deleted`.
   */
  softDelete(ids: readonly string[], conditions: Record<string, unknown>, restricting: readonly RestrictingReferrer[]): Build;
}

export function createStatements(resource: string, shape: EntityShape): ResourceStatements {
  const json = (alias: string) => entityJson(shape, alias);
  /** ` AND alias."column" = value` for each condition (none: nothing). */
  const conditionsAt = (alias: string, conditions: Record<string, unknown>) => {
    const parts = assignments(conditions, alias);
    return parts.length === 0 ? Prisma.empty : Prisma.sql` AND ${Prisma.join(parts, " AND ")}`;
  };
  const where = ({ live }: ScopeParts, { conditions }: RowSelection) => Prisma.join([live("t"), ...conditions], " AND ");
  /**
   * The count of a selection: `count(*)` over at most `countLimit + 1` rows (the bound keeps a count of a large
   * organization as cheap as a page: bench/results/summary.md, "Count strategy").
   */
  const counted = (scope: ScopeParts, selection: RowSelection, countLimit: CountLimit) =>
    countLimit === undefined
      ? Prisma.sql`SELECT count(*)::int FROM ${scope.table} AS t WHERE ${where(scope, selection)}`
      : Prisma.sql`SELECT count(*)::int FROM (SELECT 1 FROM ${scope.table} AS t WHERE ${where(scope, selection)} LIMIT ${countLimit + 1}::int) AS bounded`;
  /**
   * The event of each row of `written` (with `target`, the rows as they were, when the statement has one),
   * in the scope's organization, made by its caller.
   */
  const eventOf = ({ organizationId, actorId }: ScopeParts, type: ChangeType, parts: Pick<EventSpec, "lockAfter" | "changes" | "entity">) =>
    eventStatement({
      organizationId,
      actorId,
      resource,
      type,
      from: type === "created" ? Prisma.sql`written` : Prisma.sql`written JOIN target ON target.id = written.id`,
      entityId: Prisma.sql`written.id`,
      ...parts,
    });
  const columnsOf = (values: Record<string, unknown>) =>
    Object.entries(values)
      .filter(([, value]) => value !== undefined)
      .map(([field, value]) => ({ column: sqlIdentifier(columnOf(fieldName(field))), value }));
  return {
    entityJson: json,

    byId: (id) => ({ table, live }) => prepared(Prisma.sql`SELECT ${json("t")} AS entity FROM ${table} AS t WHERE ${live("t")} AND t.id = ${id}::uuid LIMIT 1`),

    // Planned per call: the best plan depends on the values (the page's size and offset, a search's text).
    page: (selection, order, limit, offset, countLimit) => (scope) =>
      Prisma.sql`
        SELECT ${json("t")} AS entity, (${counted(scope, selection, countLimit)}) AS total
        FROM ${scope.table} AS t WHERE ${where(scope, selection)}
        ORDER BY ${order} LIMIT ${limit}::int OFFSET ${offset}::int`,

    count: (selection, countLimit) => (scope) => Prisma.sql`SELECT (${counted(scope, selection, countLimit)}) AS total`,

    insert: (values) => (scope) => {
      const { table, organizationId, actorId } = scope;
      const given = columnsOf(values);
      const event = eventOf(scope, "created", { lockAfter: Prisma.sql`written`, changes: createdChanges(Prisma.sql`written.entity`), entity: Prisma.sql`written.entity` });
      const columns = Prisma.join([Prisma.sql`id, organization_id, created_by_id, updated_by_id, created_at, updated_at`, ...given.map(({ column }) => column)]);
      const row = Prisma.join([Prisma.sql`${randomUUID()}::uuid, ${organizationId}, ${actorId}, ${actorId}, now(), now()`, ...given.map(({ value }) => Prisma.sql`${value}`)]);
      return prepared(Prisma.sql`
        WITH written AS (INSERT INTO ${table} AS t (${columns}) VALUES (${row}) RETURNING t.id, ${json("t")} AS entity),
        ${event.lock}, ${event.events}
        SELECT written.entity AS after, ${event.notified} AS notified FROM written`);
    },

    update: (id, values, conditions) => (scope) => {
      const { table, live, actorId } = scope;
      const event = eventOf(scope, "updated", {
        lockAfter: Prisma.sql`written`,
        changes: updatedChanges(Prisma.sql`target.entity`, Prisma.sql`written.entity`),
        entity: Prisma.sql`written.entity`,
      });
      const set = Prisma.join([...assignments(values), Prisma.sql`updated_by_id = ${actorId}`, Prisma.sql`updated_at = ${nextUpdatedAt("w")}`]);
      return prepared(Prisma.sql`
        WITH target AS MATERIALIZED (
          SELECT t.id, ${json("t")} AS entity FROM ${table} AS t WHERE ${live("t")} AND t.id = ${id}::uuid FOR NO KEY UPDATE OF t
        ),
        written AS (
          UPDATE ${table} AS w SET ${set} FROM target
          WHERE w.id = target.id AND ${live("w")}${conditionsAt("w", conditions)}
          RETURNING w.id, ${json("w")} AS entity
        ),
        ${event.lock}, ${event.events}
        SELECT target.entity AS before, written.entity AS after, ${event.notified} AS notified FROM target LEFT JOIN written ON true`);
    },

    softDelete: (ids, conditions, restricting) => (scope) => {
      const { table, live, actorId, organizationId } = scope;
      const event = eventOf(scope, "deleted", {
        // With referrers to check, the lock comes first: the check must see every write of the organization
        // that took it before (a child's create takes it before reading its parent).
        lockAfter: restricting.length > 0 ? Prisma.sql`target` : Prisma.sql`written`,
        changes: Prisma.sql`jsonb_build_object('deletedAt', jsonb_build_object('before', NULL, 'after', ${isoOf(Prisma.sql`written.deleted_at`)}))`,
        entity: Prisma.sql`target.entity`,
      });
      const checks = restricting.map(
        ({ table: referrer, field }, i) =>
          Prisma.sql`${Prisma.raw(`"${liveReferrersFunctionName(referrer, fieldName(field))}"`)}(${organizationId}, (SELECT array_agg(id) FROM target)) AS ${Prisma.raw(`r${i}`)}`,
      );
      const restricted = Prisma.raw(restricting.map((_, i) => `restricting.r${i}`).join(" OR "));
      const target = Prisma.sql`target AS MATERIALIZED (
          SELECT t.id, ${json("t")} AS entity FROM ${table} AS t WHERE ${live("t")} AND ${idIn(ids)} FOR NO KEY UPDATE OF t
        )`;
      const written = Prisma.sql`written AS (
          UPDATE ${table} AS w SET deleted_at = date_trunc('milliseconds', clock_timestamp()), updated_by_id = ${actorId}, updated_at = ${nextUpdatedAt("w")}
          FROM target${checks.length > 0 ? Prisma.sql`, restricting` : Prisma.empty}
          WHERE w.id = target.id AND ${live("w")}${conditionsAt("w", conditions)}${checks.length > 0 ? Prisma.sql` AND NOT (${restricted})` : Prisma.empty}
          RETURNING w.id, w.deleted_at
        )`;
      const ctes =
        checks.length > 0
          ? Prisma.join([target, event.lock, Prisma.sql`restricting AS MATERIALIZED (SELECT ${Prisma.join(checks)} FROM kuark_locked)`, written, event.events], ", ")
          : Prisma.join([target, written, event.lock, event.events], ", ");
      const restrictedList = checks.length > 0 ? Prisma.raw(`ARRAY[${restricting.map((_, i) => `restricting.r${i}`).join(", ")}]`) : Prisma.sql`NULL::boolean[]`;
      return prepared(Prisma.sql`
        WITH ${ctes}
        SELECT target.id::text AS id, target.entity AS before, written.id IS NOT NULL AS deleted, ${restrictedList} AS restricted, ${event.notified} AS notified
        FROM target LEFT JOIN written ON written.id = target.id${checks.length > 0 ? Prisma.sql` LEFT JOIN restricting ON true` : Prisma.empty}`);
    },
  };
}
