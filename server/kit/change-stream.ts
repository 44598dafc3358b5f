/**
 * One `onChange` subscription: the async generator tRPC streams over SSE. Each event is
 * `tracked(eventId, { type, <entity> })`, so tRPC's `httpSubscriptionLink` resumes from the last one by
 * itself after a reconnect (it sends `lastEventId`, also as the `Last-Event-ID` header of EventSource).
 *
 * No loss, no duplicate: the subscriber registers with the hub before it reads anything, so nothing that
 * commits meanwhile slips between the replay and the live events; it then yields only ids above the last
 * one it yielded. An organization's event ids commit in order (./change-log.ts), so "above the last id" is
 * exactly "not seen yet". The resolver answers the stream only once it knows where it starts, and tRPC
 * writes `connected` after that answer: whatever commits after a client's `onStarted` reaches it.
 *
 * A transient database fault inside the stream (a replay's read, or the hub's word that the database is gone)
 * ends it with that error, which the surface maps like a query's: SERVICE_UNAVAILABLE, which tRPC's client
 * retries by itself with the last event id, so the next stream replays from there: nothing lost, nothing twice.
 * That holds for a client with an event id (it sent one, or this stream yielded one). A client without one
 * would start afresh from the newest event and miss what commits in between, so its stream does not end:
 * it reads the change log again a moment later, or once the hub listens again.
 * @see https://trpc.io/docs/server/subscriptions#tracked
 */
import { tracked } from "@trpc/server";
import type { TrackedEnvelope } from "@trpc/server";
import type { ChangeType } from "../contract/common.js";
import type { ChangeFeedReader, StoredChange } from "./change-log.js";
import { isDatabaseUnavailable } from "../db/unavailable.js";
import type { ChangeHub, HubSignal } from "./change-hub.js";
import { DomainError } from "./errors.js";
import type { Row } from "./scope.js";

export interface ChangeStreamOptions {
  hub: ChangeHub;
  reader: ChangeFeedReader;
  resource: string;
  organizationId: string;
  ip: string | undefined;
  /** The entity's key in each event: `feature`. */
  entityKey: string;
  /** The resource's search field (what `search` matches). */
  searchField: string;
  input: { lastEventId?: string | null | undefined; search?: string | undefined } & Record<string, unknown>;
  /** Ends the stream when the client goes away. */
  signal: AbortSignal | undefined;
  /** When the caller's token expires (ms since the epoch): the stream ends with UNAUTHORIZED then. */
  expiresAt: number | undefined;
  retentionHours: number;
}

export type ChangeNoticeOf<TEntity> = { type: ChangeType } & Record<string, TEntity | ChangeType>;

/** How many events a replay reads per query. */
const REPLAY_BATCH = 500;
/** How long a stream whose client has no event id waits before reading the change log again after a transient fault. */
const RESYNC_RETRY_MS = 1_000;
/** How often the open streams' token expiries are checked. */
const EXPIRY_CHECK_MS = 1_000;

/**
 * Every open stream's token expiry, on one timer: each second, the streams whose token has expired by
 * then end (a token's `exp` has whole seconds anyway). A timer per stream cost a Timeout and, each delay
 * being its own, a timer list of its own, for the life of every stream.
 */
class ExpiryWatch {
  private readonly watched = new Map<() => void, number>();
  private timer: NodeJS.Timeout | undefined;
  /** Calls `expire` once `expiresAt` (ms since the epoch) has passed, until `unwatch`. */
  watch(expiresAt: number, expire: () => void) {
    this.watched.set(expire, expiresAt);
    if (!this.timer) {
      this.timer = setInterval(() => this.check(), EXPIRY_CHECK_MS);
      this.timer.unref();
    }
  }
  unwatch(expire: () => void) {
    this.watched.delete(expire);
    if (this.watched.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
  private check() {
    const now = Date.now();
    for (const [expire, expiresAt] of this.watched) {
      if (expiresAt > now) continue;
      this.unwatch(expire);
      expire();
    }
  }
}
const expiries = new ExpiryWatch();

/** The entity before the change: the after state with each changed field's `before` value. */
function beforeOf(change: StoredChange): Row | null {
  if (change.type === "created") return null;
  if (change.type === "deleted") return change.entity;
  const before: Row = { ...change.entity };
  for (const [field, { before: value }] of Object.entries(change.changes)) if (field in before) before[field] = value;
  return before;
}

/** Whether the filters and search match the entity before or after the change (a row leaving a filtered list counts). */
function matcher(input: ChangeStreamOptions["input"], searchField: string): (change: StoredChange) => boolean {
  const filters = Object.entries(input).filter(([key, value]) => key !== "lastEventId" && key !== "search" && value !== undefined);
  const search = input.search?.toLowerCase();
  if (filters.length === 0 && !search) return () => true;
  const matches = (row: Row | null) =>
    row !== null &&
    filters.every(([key, value]) => row[key] === value) &&
    (!search || (typeof row[searchField] === "string" && row[searchField].toLowerCase().includes(search)));
  return (change) => matches(change.type === "deleted" ? null : change.entity) || matches(beforeOf(change));
}

/** Signals in arrival order; `stop` (the client left, the token expired) goes ahead of everything. */
class SignalQueue {
  private items: HubSignal[] = [];
  private stopped = false;
  private wake: (() => void) | undefined;
  push(signal: HubSignal) {
    this.items.push(signal);
    this.wake?.();
  }
  stop() {
    this.stopped = true;
    this.wake?.();
  }
  /** The next signal, or undefined once stopped. */
  async next(): Promise<HubSignal | undefined> {
    while (!this.stopped && this.items.length === 0) await new Promise<void>((resolve) => (this.wake = resolve));
    this.wake = undefined;
    return this.stopped ? undefined : this.items.shift();
  }
}

const shuttingDown = () => new DomainError("SHUTTING_DOWN", "This instance is shutting down; reconnect");

/**
 * Opens a subscription: registers with the hub and takes the stream's position (the client's event id,
 * checked against the retention, or the newest event now) before it answers, so by the time the surface
 * writes `connected` (after the resolver's promise) every change committed afterwards is delivered: a
 * client that writes once its `onStarted` fires sees its own write. The stream it answers runs from there.
 */
export async function openChangeStream<TEntity>(options: ChangeStreamOptions): Promise<AsyncGenerator<TrackedEnvelope<ChangeNoticeOf<TEntity>>, void>> {
  const { hub, reader, input, entityKey, signal } = options;
  const queue = new SignalQueue();
  const subscribed = hub.subscribe({ resource: options.resource, organizationId: options.organizationId, ip: options.ip }, (s) => queue.push(s));
  if (!subscribed.ok) {
    if (subscribed.reason === "closing") throw shuttingDown();
    throw new DomainError(
      "TOO_MANY_SUBSCRIPTIONS",
      subscribed.reason === "ip" ? "Too many open subscriptions from this address" : "Too many open subscriptions for this organization",
    );
  }
  let expired = false;
  let started = false;
  let resyncLater: NodeJS.Timeout | undefined;
  const expire = () => {
    expired = true;
    queue.stop();
  };
  const end = () => {
    clearTimeout(resyncLater);
    expiries.unwatch(expire);
    signal?.removeEventListener("abort", onAbort);
    subscribed.subscription.end();
  };
  // A client that leaves before the stream is iterated ends the subscription here: the `finally` of a
  // generator that never started does not run.
  const onAbort = () => {
    queue.stop();
    if (!started) end();
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  if (options.expiresAt !== undefined) {
    if (options.expiresAt <= Date.now()) expire();
    else expiries.watch(options.expiresAt, expire);
  }

  let last: bigint;
  try {
    if (input.lastEventId) {
      last = BigInt(input.lastEventId);
      const writtenAt = await reader.writtenAt(last);
      if (!writtenAt || writtenAt.getTime() < Date.now() - options.retentionHours * 3_600_000) {
        throw new DomainError(
          "EVENTS_EXPIRED",
          "EVENTS_EXPIRED: lastEventId is older than the change log keeps (or unknown); refetch, then subscribe without lastEventId",
        );
      }
    } else {
      last = await reader.latestId();
    }
  } catch (error) {
    end();
    throw error;
  }

  const matches = matcher(input, options.searchField);
  // Whether the client has an event id to resume from exactly (see the file comment).
  let resumable = Boolean(input.lastEventId);
  const notice = (change: StoredChange) => {
    resumable = true;
    return tracked(change.id, { type: change.type, [entityKey]: change.entity as TEntity });
  };
  // Replays what the change log has after `last` (a resume, or a resync after the listener reconnected).
  async function* replay(): AsyncGenerator<TrackedEnvelope<ChangeNoticeOf<TEntity>>> {
    for (;;) {
      const batch = await reader.after(last, REPLAY_BATCH);
      for (const change of batch) {
        last = BigInt(change.id);
        if (matches(change)) yield notice(change);
      }
      if (batch.length < REPLAY_BATCH) return;
    }
  }

  async function* stream(): AsyncGenerator<TrackedEnvelope<ChangeNoticeOf<TEntity>>, void> {
    started = true;
    try {
      if (input.lastEventId) yield* replay();
      for (;;) {
        const next = await queue.next();
        if (next === undefined) break;
        if (next.kind === "closing") throw shuttingDown();
        // The database does not answer (the hub asked): a transient fault, mapped like a query's (SERVICE_UNAVAILABLE).
        // Without an event id the stream waits instead: the hub resyncs it once it listens again.
        if (next.kind === "unavailable") {
          if (resumable) throw next.error;
          continue;
        }
        if (next.kind === "resync") {
          try {
            yield* replay();
          } catch (error) {
            if (resumable || !isDatabaseUnavailable(error)) throw error;
            clearTimeout(resyncLater);
            resyncLater = setTimeout(() => queue.push({ kind: "resync" }), RESYNC_RETRY_MS);
            resyncLater.unref();
          }
          continue;
        }
        const id = BigInt(next.change.id);
        if (id <= last) continue;
        last = id;
        if (matches(next.change)) yield notice(next.change);
      }
      if (expired) throw new DomainError("TOKEN_EXPIRED", "The token has expired");
    } finally {
      end();
    }
  }
  return stream();
}
