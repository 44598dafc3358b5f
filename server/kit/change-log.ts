/**
 * The change log, scoped like every other org-owned query: it reads and writes through the
 * organization's `ScopedEvents` (./scope.ts), or as part of a write's statement given the scope's
 * organization (`eventStatement`), so no statement here names an organization itself. Each create, update
 * and soft delete writes its event in its own statement (./statements.ts), and sends the PostgreSQL
 * notification that the change hub (./change-hub.ts) waits for in that statement too: a rolled-back change
 * leaves neither an event nor a notification, and a committed one always has both.
 *
 * Ordering: every write of an organization takes a transaction-scoped advisory lock on that
 * organization before its event id is drawn, and holds it until it commits, so its event ids are drawn and
 * committed in the same order. "The events after id N" of one organization therefore never skips an event
 * that commits later (what resume relies on). An update or delete reads the row it changes under the row's
 * lock in the same statement (./statements.ts), so the row it reads is the last committed version (the
 * before values are exact).
 */
import type { ChangeEvent, ChangeType } from "../contract/common.js";
import { Prisma } from "../generated/prisma/client.js";
import type { Row, ScopedEvents } from "./scope.js";
import { sqlTable } from "./scope.js";

/** The channel every instance LISTENs on; a notification's payload is a `ChangeNotification`. */
export const CHANGE_CHANNEL = "kuark_changes";

/** What a notification carries: enough to know who should fetch the event (never the entity itself). */
export interface ChangeNotification {
  id: string;
  organizationId: string;
  resource: string;
}

/** An event as stored: the wire `ChangeEvent` plus the resource and the entity after the change. */
export interface StoredChange extends ChangeEvent {
  resource: string;
  entity: Row;
}

type Changes = ChangeEvent["changes"];

/** What the change hub reads across organizations, on the unscoped client it was given for that. */
export type Queryable = Pick<Prisma.TransactionClient, "changeEvent">;

export interface ChangeLog {
  /** Serializes the organization's writes until the transaction ends (see the file comment). */
  lockOrganization(): Promise<void>;
  /**
   * Takes the organization's lock (if not held yet), writes the event and notifies listeners (a
   * `ChangeNotification`, delivered only when and if the transaction commits); call inside the write's transaction.
   */
  record(change: { entityId: string; type: ChangeType; changes: Changes; entity: Row }): Promise<void>;
  /** One row's events, newest first, after the `cursor` event id. */
  history(entityId: string, cursor: bigint | null | undefined, limit: number): Promise<{ items: ChangeEvent[]; nextCursor: string | null }>;
}

const EVENTS = sqlTable("change_events");

/**
 * An event's columns under the names of `EventRow` (ids as text: int8 reads differently on the two drivers).
 * ORDER BY names `change_events.id`: a bare `id` would be this list's text.
 */
const EVENT_COLUMNS = Prisma.sql`id::text AS id, organization_id AS "organizationId", resource, entity_id::text AS "entityId", type::text AS type, actor_id AS "actorId", changes, entity, created_at AS "createdAt"`;

/** An event row as read: by Prisma (the hub: `id` a bigint) or by the scope's statements (`id` as text). */
interface EventRow {
  id: bigint | string;
  organizationId: string;
  resource: string;
  entityId: string;
  type: ChangeType;
  actorId: string;
  changes: unknown;
  entity: unknown;
  createdAt: Date;
}

export function storedChangeOf(row: EventRow): StoredChange {
  return {
    id: row.id.toString(),
    organizationId: row.organizationId,
    resource: row.resource,
    entityId: row.entityId,
    type: row.type,
    actorId: row.actorId,
    changes: row.changes as Changes,
    entity: row.entity as Row,
    createdAt: row.createdAt.toISOString(),
  };
}

function eventOf(row: EventRow): ChangeEvent {
  const { resource: _resource, entity: _entity, ...event } = storedChangeOf(row);
  return event;
}

/** Fields that say who and when, not what: they change with every write and are on the event itself. */
export const BOOKKEEPING_FIELDS: readonly string[] = ["id", "organizationId", "createdById", "updatedById", "createdAt", "updatedAt"];
const BOOKKEEPING = new Set(BOOKKEEPING_FIELDS);

/** The fields whose wire values differ between `before` (null for a create) and `after`. */
export function changedFields(before: Row | null, after: Row): Changes {
  const changes: Changes = {};
  for (const [field, value] of Object.entries(after)) {
    if (BOOKKEEPING.has(field)) continue;
    const previous = before ? before[field] : null;
    if (before && JSON.stringify(previous) === JSON.stringify(value)) continue;
    changes[field] = { before: previous ?? null, after: value ?? null };
  }
  return changes;
}

/** The organization's advisory lock: 64 bits of the hash of its id, in a namespace of its own. */
const lockOf = (organizationId: Prisma.Sql) => Prisma.sql`pg_advisory_xact_lock(hashtextextended('kuark:changes:' || ${organizationId}::text, 0))`;

/** The notification of each event of `events` (a CTE's rows with `id` and `organization_id`), for `resource`. */
const notificationOf = (resource: string) =>
  Prisma.sql`pg_notify(${CHANGE_CHANNEL}, json_build_object('id', id::text, 'organizationId', organization_id, 'resource', ${resource}::text)::text)`;

/**
 * The change events of a write, as part of the write's own statement (./statements.ts): two CTEs for its
 * WITH, the organization's lock and the events, and an expression for its SELECT list that sends their
 * notifications (and counts them).
 */
export interface EventStatement {
  /** `kuark_locked`: the organization's lock, taken once `lockAfter` has a row. */
  lock: Prisma.Sql;
  /** `kuark_events`: the events written, one per row of `from`, after the lock. */
  events: Prisma.Sql;
  /** The number of events written; evaluating it sends their notifications (delivered at commit). */
  notified: Prisma.Sql;
}

export interface EventSpec {
  /** The organization (the scope's bound parameter). */
  organizationId: Prisma.Sql;
  /** Who made the change (the scope's bound parameter). */
  actorId: Prisma.Sql;
  resource: string;
  type: ChangeType;
  /** The FROM list the events are selected from: one event per row. */
  from: Prisma.Sql;
  /** A CTE (or subquery) whose first row takes the organization's lock: nothing in it, no lock. */
  lockAfter: Prisma.Sql;
  /** Per row: the entity's id, its changes and the entity (jsonb), as SQL over `from`. */
  entityId: Prisma.Sql;
  changes: Prisma.Sql;
  entity: Prisma.Sql;
}

/**
 * The events of a write in the write's statement: the organization's lock first (a no-op when this
 * transaction holds it already), then the events, each with its NOTIFY. The lock is taken before any event
 * id is drawn (`CROSS JOIN kuark_locked`), which keeps one organization's ids in commit order; it is held to
 * the commit, so the organization's other writes wait for the rest of this statement and the commit only.
 */
export function eventStatement(spec: EventSpec): EventStatement {
  const { organizationId, actorId, resource, type } = spec;
  return {
    lock: Prisma.sql`kuark_locked AS (SELECT ${lockOf(organizationId)} FROM (SELECT 1 FROM ${spec.lockAfter} LIMIT 1) AS first)`,
    events: Prisma.sql`kuark_events AS (
        INSERT INTO ${EVENTS} (organization_id, resource, entity_id, type, actor_id, changes, entity)
        SELECT ${organizationId}, ${resource}, ${spec.entityId}, ${type}::"ChangeType", ${actorId}, ${spec.changes}, ${spec.entity}
        FROM ${spec.from} CROSS JOIN kuark_locked
        RETURNING id, organization_id
      )`,
    notified: Prisma.sql`(SELECT count(${notificationOf(resource)})::int FROM kuark_events)`,
  };
}

/** The change log of `resource` in the organization of `events`; `actorId` is who makes the changes recorded. */
export function createChangeLog(events: ScopedEvents, resource: string, actorId: string): ChangeLog {
  return {
    async lockOrganization() {
      await events.run((organizationId) => Prisma.sql`SELECT ${lockOf(organizationId)}`);
    },

    /**
     * One statement: the organization's lock (a no-op when this transaction already holds it), the
     * event, and its NOTIFY, for a write whose event is known before it is written (an API key's).
     */
    async record({ entityId, type, changes, entity }) {
      await events.run((organizationId) => {
        const event = eventStatement({
          organizationId,
          actorId: Prisma.sql`${actorId}`,
          resource,
          type,
          from: Prisma.sql`change`,
          lockAfter: Prisma.sql`change`,
          entityId: Prisma.sql`change.id`,
          changes: Prisma.sql`change.changes`,
          entity: Prisma.sql`change.entity`,
        });
        return Prisma.sql`
          WITH change AS (SELECT ${entityId}::uuid AS id, ${JSON.stringify(changes)}::jsonb AS changes, ${JSON.stringify(entity)}::jsonb AS entity),
          ${event.lock}, ${event.events}
          SELECT ${event.notified} AS notified`;
      });
    },

    async history(entityId, cursor, limit) {
      const rows = await events.run<EventRow>(
        (organizationId) => Prisma.sql`
          SELECT ${EVENT_COLUMNS} FROM ${EVENTS}
          WHERE organization_id = ${organizationId} AND resource = ${resource} AND entity_id = ${entityId}::uuid
            ${cursor != null ? Prisma.sql`AND id < ${cursor.toString()}::bigint` : Prisma.empty}
          ORDER BY change_events.id DESC LIMIT ${limit + 1}::int`,
      );
      const items = rows.slice(0, limit).map(eventOf);
      return { items, nextCursor: rows.length > limit ? (items.at(-1)?.id ?? null) : null };
    },
  };
}

/**
 * Reads of the change log across the caller's organization, for live subscriptions: the events after an
 * id (replay), and whether an id is still within retention.
 */
export interface ChangeFeedReader {
  /** The organization's events of `resource` after `afterId`, oldest first, at most `limit`. */
  after(afterId: bigint, limit: number): Promise<StoredChange[]>;
  /** The newest event id of the resource in the organization now (0 when none): where a fresh subscription starts. */
  latestId(): Promise<bigint>;
  /** When the organization's event `id` was written, or undefined when it is not (or no longer) kept. */
  writtenAt(id: bigint): Promise<Date | undefined>;
}

/** The feed of `resource` in the organization of `events`. */
export function createChangeFeedReader(events: ScopedEvents, resource: string): ChangeFeedReader {
  return {
    async after(afterId, limit) {
      const rows = await events.run<EventRow>(
        (organizationId) => Prisma.sql`
          SELECT ${EVENT_COLUMNS} FROM ${EVENTS}
          WHERE organization_id = ${organizationId} AND resource = ${resource} AND id > ${afterId.toString()}::bigint
          ORDER BY change_events.id ASC LIMIT ${limit}::int`,
      );
      return rows.map(storedChangeOf);
    },
    async latestId() {
      const [latest] = await events.run<{ id: string }>(
        (organizationId) => Prisma.sql`SELECT id::text AS id FROM ${EVENTS} WHERE organization_id = ${organizationId} AND resource = ${resource} ORDER BY change_events.id DESC LIMIT 1`,
      );
      return latest ? BigInt(latest.id) : 0n;
    },
    async writtenAt(id) {
      const [row] = await events.run<{ createdAt: Date }>(
        (organizationId) => Prisma.sql`SELECT created_at AS "createdAt" FROM ${EVENTS} WHERE organization_id = ${organizationId} AND id = ${id.toString()}::bigint`,
      );
      return row?.createdAt;
    },
  };
}

/** One organization's resource and a range of its event ids: `after` < id <= `upTo`. */
export interface EventRange {
  organizationId: string;
  resource: string;
  after: bigint;
  upTo: bigint;
}

/**
 * The events in these ranges (each of one organization and resource), oldest first, at most `limit`: what
 * an instance fetches once per notification batch. A range, not just the notified ids: the events of a
 * range that were never notified (a notification lost with the LISTEN connection) come with it.
 */
export async function changesInRanges(db: Queryable, ranges: EventRange[], limit: number): Promise<StoredChange[]> {
  const rows = await db.changeEvent.findMany({
    where: { OR: ranges.map(({ organizationId, resource, after, upTo }) => ({ organizationId, resource, id: { gt: after, lte: upTo } })) },
    orderBy: { id: "asc" },
    take: limit,
    select: { id: true, organizationId: true, resource: true, entityId: true, type: true, actorId: true, changes: true, entity: true, createdAt: true },
  });
  return rows.map(storedChangeOf);
}

/** Deletes events older than `hours`; returns how many. */
export async function pruneChanges(db: Queryable, hours: number): Promise<number> {
  const { count } = await db.changeEvent.deleteMany({ where: { createdAt: { lt: new Date(Date.now() - hours * 3_600_000) } } });
  return count;
}
