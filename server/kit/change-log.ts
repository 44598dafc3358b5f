/**
 * The change log, scoped like every other org-owned query: it reads and writes through the
 * organization's `ScopedEvents` (./scope.ts), so no statement here names an organization itself. The
 * kit's service writes an event in the same transaction as each create, update and soft delete, and
 * sends the PostgreSQL notification that the change hub (./change-hub.ts) waits for inside that
 * transaction too: a rolled-back change leaves neither an event nor a notification, and a committed one
 * always has both.
 *
 * Ordering: every write of an organization takes a transaction-scoped advisory lock on that
 * organization before its event id is drawn, and holds it until it commits, so its event ids are drawn and
 * committed in the same order. "The events after id N" of one organization therefore never skips an event
 * that commits later (what resume relies on). An update or delete reads the row it changes under a lock
 * (the row's, or the organization's when references are involved: ./service.ts), so the row it reads is
 * the last committed version (the before values are exact).
 */
import type { ChangeEvent, ChangeType } from "../contract/common.js";
import { Prisma } from "../generated/prisma/client.js";
import type { Row, ScopedEvents } from "./scope.js";

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

const EVENT_COLUMNS = {
  id: true,
  organizationId: true,
  resource: true,
  entityId: true,
  type: true,
  actorId: true,
  changes: true,
  entity: true,
  createdAt: true,
} as const;

type EventRow = Prisma.ChangeEventGetPayload<{ select: typeof EVENT_COLUMNS }>;

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
const BOOKKEEPING = new Set(["id", "organizationId", "createdById", "updatedById", "createdAt", "updatedAt"]);

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

/** The change log of `resource` in the organization of `events`; `actorId` is who makes the changes recorded. */
export function createChangeLog(events: ScopedEvents, resource: string, actorId: string): ChangeLog {
  return {
    async lockOrganization() {
      await events.executeRaw((organizationId) => Prisma.sql`SELECT ${lockOf(organizationId)}`);
    },

    /**
     * One statement: the organization's lock (a no-op when this transaction already holds it), the
     * event, and its NOTIFY. A create takes the lock only here, so the lock is held for this statement
     * and the COMMIT alone, and the organization's other writes wait that long, not for the whole write.
     * The lock is taken before the event's id is drawn (`FROM locked`), which is what keeps ids in
     * commit order. Raw SQL because Prisma cannot put the three in one round trip; the columns are the
     * ChangeEvent model's (prisma/schema.prisma), and tests/live cover what it writes.
     */
    async record({ entityId, type, changes, entity }) {
      await events.executeRaw(
        (organizationId) => Prisma.sql`
        WITH locked AS (SELECT ${lockOf(organizationId)}),
        event AS (
          INSERT INTO change_events (organization_id, resource, entity_id, type, actor_id, changes, entity)
          SELECT ${organizationId}, ${resource}, ${entityId}::uuid, ${type}::"ChangeType", ${actorId}, ${JSON.stringify(changes)}::jsonb, ${JSON.stringify(entity)}::jsonb
          FROM locked
          RETURNING id, organization_id
        )
        SELECT pg_notify(${CHANGE_CHANNEL}, json_build_object('id', id::text, 'organizationId', organization_id, 'resource', ${resource}::text)::text)
        FROM event`,
      );
    },

    async history(entityId, cursor, limit) {
      const rows = await events.findMany({
        where: { resource, entityId, ...(cursor != null && { id: { lt: cursor } }) },
        orderBy: { id: "desc" },
        take: limit + 1,
        select: EVENT_COLUMNS,
      });
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
      const rows = await events.findMany({
        where: { resource, id: { gt: afterId } },
        orderBy: { id: "asc" },
        take: limit,
        select: EVENT_COLUMNS,
      });
      return rows.map(storedChangeOf);
    },
    async latestId() {
      const latest = await events.findFirst({ where: { resource }, orderBy: { id: "desc" }, select: { id: true } });
      return latest?.id ?? 0n;
    },
    async writtenAt(id) {
      const row = await events.findFirst({ where: { id }, select: { createdAt: true } });
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
    select: EVENT_COLUMNS,
  });
  return rows.map(storedChangeOf);
}

/** Deletes events older than `hours`; returns how many. */
export async function pruneChanges(db: Queryable, hours: number): Promise<number> {
  const { count } = await db.changeEvent.deleteMany({ where: { createdAt: { lt: new Date(Date.now() - hours * 3_600_000) } } });
  return count;
}
