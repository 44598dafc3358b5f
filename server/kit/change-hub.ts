/**
 * Live changes, one hub per process. Every write NOTIFYs `kuark_changes` inside its transaction
 * (./change-log.ts); the hub LISTENs once (one dedicated connection per process, however many subscribers),
 * fetches each batch of notified events once (per organization and resource, everything after the last
 * event it handed out up to the newest notified: a lost notification's event comes with the next one), and
 * hands them to the subscribers of that organization and resource on this process. Subscribers (./change-stream.ts) keep the id of the last event they saw, skip
 * anything at or below it, and after the listener reconnects (`resync`) read what they missed from the
 * change log itself, so a database restart, or a terminated LISTEN connection, loses nothing. When the
 * listener loses its connection, the hub asks the database once whether it answers: when it does not, it
 * tells every stream (`unavailable`), and those whose client can resume end with that fault
 * (SERVICE_UNAVAILABLE, which tRPC's client retries, resuming from its last event id) rather than staying
 * open without hearing anything.
 *
 * Why LISTEN/NOTIFY and not Redis pub/sub or a broker: the notification commits with the change (no
 * event for a rolled-back write, no committed write without one), and PostgreSQL is already every
 * instance's shared dependency. Notifications are small (ids only): PostgreSQL caps a payload at 8000 bytes.
 */
import type { Database } from "../db/database.js";
import type { Listener } from "../db/listen.js";
import { isDatabaseUnavailable } from "../db/unavailable.js";
import type { Logger } from "../logger.js";
import { CHANGE_CHANNEL, changesInRanges, pruneChanges } from "./change-log.js";
import type { ChangeNotification, EventRange, StoredChange } from "./change-log.js";
import type { OrgData } from "./scope.js";

export type HubSignal =
  | { kind: "change"; change: StoredChange }
  | { kind: "resync" }
  | { kind: "closing" }
  /** The database does not answer: the stream ends with `error` (a transient fault) if its client can resume. */
  | { kind: "unavailable"; error: Error };

export interface LiveLimits {
  /** 0: no limit. */
  perOrganization: number;
  /** 0: no limit. */
  perIp: number;
}

/** One subscriber's place in the hub. */
export interface HubSubscription {
  /** Stops delivery and frees the slot counted against the limits. */
  end(): void;
}

export type SubscribeResult = { ok: true; subscription: HubSubscription } | { ok: false; reason: "organization" | "ip" | "closing" };

export interface ChangeHub {
  /** Starts listening (and pruning events past retention); a second call does nothing. */
  start(): Promise<void>;
  /** Delivers the organization's changes of `resource` to `deliver`, or refuses when over a limit. */
  subscribe(target: { resource: string; organizationId: string; ip: string | undefined }, deliver: (signal: HubSignal) => void): SubscribeResult;
  /**
   * Tells `watcher` of every committed change of `resource`, in any organization (its organization only,
   * nothing is fetched), and of a listener that reconnected (changes may have been missed): what a cache of
   * rows keeps itself fresh by (server/auth/api-keys.ts). Returns the call that stops it.
   */
  watch(resource: string, watcher: ResourceWatcher): () => void;
  /** Open subscriptions on this process. */
  readonly open: number;
  /** Ends every subscription (`closing`) and refuses new ones: the process is shutting down. */
  close(): Promise<void>;
}

export interface ResourceWatcher {
  onChange(organizationId: string): void;
  onResync(): void;
}

interface Subscriber {
  deliver: (signal: HubSignal) => void;
}

export interface ChangeHubOptions {
  db: Pick<Database, "listen">;
  data: OrgData;
  log: Logger;
  limits: LiveLimits;
  retentionHours: number;
  /** Told when a subscription opens (+1) or ends (-1): the open-subscriptions gauge. */
  onOpenChange?: ((delta: 1 | -1) => void) | undefined;
}

const PRUNE_EVERY_MS = 15 * 60_000;
/**
 * How the hub asks whether the database answers after the listener lost its connection: a few tries, a
 * moment apart. A terminated connection (`pg_terminate_backend`, a failover) rarely goes alone: a try may
 * get a pooled connection that is being cut too, while the database itself answers the next one.
 */
const PROBE_TRIES = 3;
const PROBE_PAUSE_MS = 200;
/** How many events one fetch of notified events reads at most. */
const FETCH_BATCH = 500;

export function createChangeHub({ db, data, log, limits, retentionHours, onOpenChange }: ChangeHubOptions): ChangeHub {
  const byTarget = new Map<string, Set<Subscriber>>();
  const perOrganization = new Map<string, number>();
  const perIp = new Map<string, number>();
  const watchers = new Map<string, Set<ResourceWatcher>>();
  let open = 0;
  let closing = false;
  let listener: Listener | undefined;
  let pruneTimer: NodeJS.Timeout | undefined;
  // Per organization and resource with subscribers here: the newest event id handed to them (the hub's cursor).
  const cursors = new Map<string, bigint>();
  // The ranges notified since the last fetch (per organization and resource), and the chain that fetches them in order.
  let pending = new Map<string, { organizationId: string; resource: string; lowest: bigint; highest: bigint }>();
  let chain: Promise<void> = Promise.resolve();
  const prisma = data.withoutOrganizationScope("the change hub fetches each notified event once and hands it to that organization's subscribers only");

  const targetKey = (organizationId: string, resource: string) => `${resource}\u0000${organizationId}`;
  const bump = (counts: Map<string, number>, key: string, delta: number) => {
    const next = (counts.get(key) ?? 0) + delta;
    if (next <= 0) counts.delete(key);
    else counts.set(key, next);
  };

  const everySubscriber = (signal: HubSignal) => {
    for (const subscribers of byTarget.values()) for (const subscriber of subscribers) subscriber.deliver(signal);
  };

  const dispatch = (change: StoredChange) => {
    const key = targetKey(change.organizationId, change.resource);
    const subscribers = byTarget.get(key);
    if (!subscribers) return;
    cursors.set(key, BigInt(change.id));
    for (const subscriber of subscribers) subscriber.deliver({ kind: "change", change });
  };

  /**
   * Fetches what was notified, per organization and resource from the newest id already handed out (the
   * cursor) up to the newest notified one, so an event whose notification never arrived comes with the next
   * one: PostgreSQL delivers a notification only to a connection that is listening and stays connected, and
   * under repeated connection kills an event was seen committed after a resync's read yet never notified to
   * the listener that was (again) listening (tests/live/connection-kills.test.ts). An organization's event
   * ids commit in order (./change-log.ts), so nothing below a delivered id can commit later.
   */
  const fetchPending = async () => {
    const notified = pending;
    pending = new Map();
    const ranges = new Map<string, EventRange>();
    for (const [key, { organizationId, resource, lowest, highest }] of notified) {
      if (!byTarget.has(key)) continue;
      const after = cursors.get(key) ?? lowest - 1n;
      if (after < highest) ranges.set(key, { organizationId, resource, after, upTo: highest });
    }
    try {
      while (ranges.size > 0) {
        const batch = await changesInRanges(prisma, [...ranges.values()], FETCH_BATCH);
        for (const change of batch) dispatch(change);
        if (batch.length < FETCH_BATCH) break;
        // More than a batch (notifications were lost for a while): the rest of each range, after what was handed out.
        for (const [key, range] of ranges) {
          const after = cursors.get(key);
          if (!byTarget.has(key) || (after !== undefined && after >= range.upTo)) ranges.delete(key);
          else if (after !== undefined) range.after = after;
        }
      }
    } catch (err) {
      // The events are in the change log: subscribers read them there.
      log.warn({ err }, "change hub: cannot fetch notified events; subscribers resync");
      everySubscriber({ kind: "resync" });
    }
  };

  /** The listener lost its connection: when the database does not answer either, open streams end with that fault. */
  let probing = false;
  const onDisconnect = async () => {
    if (probing || closing || open === 0) return;
    probing = true;
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          await prisma.$queryRaw`SELECT 1`;
          return;
        } catch (err) {
          if (!isDatabaseUnavailable(err)) {
            log.warn({ err }, "change hub: cannot ask the database whether it answers; streams resync once listening again");
            return;
          }
          if (attempt >= PROBE_TRIES) {
            log.warn({ err, open }, "change hub: the database is unavailable; open streams with an event id end with SERVICE_UNAVAILABLE and their clients resume");
            if (!closing) everySubscriber({ kind: "unavailable", error: err as Error });
            return;
          }
        }
        await new Promise((resolve) => setTimeout(resolve, PROBE_PAUSE_MS));
      }
    } finally {
      probing = false;
    }
  };

  const onNotify = (payload: string) => {
    let notification: ChangeNotification;
    try {
      notification = JSON.parse(payload) as ChangeNotification;
    } catch {
      return;
    }
    for (const watcher of watchers.get(notification.resource) ?? []) watcher.onChange(notification.organizationId);
    // Nobody here watches that organization's resource: nothing to fetch.
    if (!byTarget.has(targetKey(notification.organizationId, notification.resource))) return;
    const key = targetKey(notification.organizationId, notification.resource);
    const id = BigInt(notification.id);
    const range = pending.get(key);
    if (range) {
      if (id < range.lowest) range.lowest = id;
      if (id > range.highest) range.highest = id;
    } else pending.set(key, { organizationId: notification.organizationId, resource: notification.resource, lowest: id, highest: id });
    // One fetch for every notification that arrived in the same turn; fetches stay in order.
    if (pending.size === 1 && !range) chain = chain.then(() => new Promise((resolve) => setImmediate(resolve))).then(fetchPending);
  };

  const prune = async () => {
    try {
      const removed = await pruneChanges(prisma, retentionHours);
      if (removed > 0) log.info({ removed, retentionHours }, "change log: pruned events past retention");
    } catch (err) {
      log.warn({ err }, "change log: pruning failed; retrying later");
    }
  };

  return {
    async start() {
      if (listener || closing) return;
      listener = await db.listen(CHANGE_CHANNEL, {
        onNotify,
        onReconnect() {
          for (const set of watchers.values()) for (const watcher of set) watcher.onResync();
          everySubscriber({ kind: "resync" });
        },
        onDisconnect: () => void onDisconnect(),
      });
      void prune();
      pruneTimer = setInterval(() => void prune(), PRUNE_EVERY_MS);
      pruneTimer.unref();
    },

    subscribe({ resource, organizationId, ip }, deliver) {
      if (closing) return { ok: false, reason: "closing" };
      if (limits.perOrganization > 0 && (perOrganization.get(organizationId) ?? 0) >= limits.perOrganization) return { ok: false, reason: "organization" };
      const ipKey = ip ?? "unknown";
      if (limits.perIp > 0 && (perIp.get(ipKey) ?? 0) >= limits.perIp) return { ok: false, reason: "ip" };
      const key = targetKey(organizationId, resource);
      const subscriber: Subscriber = { deliver };
      let subscribers = byTarget.get(key);
      if (!subscribers) byTarget.set(key, (subscribers = new Set()));
      subscribers.add(subscriber);
      bump(perOrganization, organizationId, 1);
      bump(perIp, ipKey, 1);
      open++;
      onOpenChange?.(1);
      let ended = false;
      return {
        ok: true,
        subscription: {
          end() {
            if (ended) return;
            ended = true;
            subscribers.delete(subscriber);
            if (subscribers.size === 0 && byTarget.get(key) === subscribers) {
              byTarget.delete(key);
              cursors.delete(key);
            }
            bump(perOrganization, organizationId, -1);
            bump(perIp, ipKey, -1);
            open--;
            onOpenChange?.(-1);
          },
        },
      };
    },

    watch(resource, watcher) {
      let set = watchers.get(resource);
      if (!set) watchers.set(resource, (set = new Set()));
      set.add(watcher);
      return () => void set.delete(watcher);
    },

    get open() {
      return open;
    },

    async close() {
      closing = true;
      clearInterval(pruneTimer);
      everySubscriber({ kind: "closing" });
      await listener?.close();
      listener = undefined;
    },
  };
}
