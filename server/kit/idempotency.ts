/**
 * Idempotent creates: a create that carries a key (tRPC `idempotencyKey`, REST `Idempotency-Key`) is
 * done once. A retry with the same key and the same input within the retention (24 hours) answers the
 * first create's entity again and writes nothing; the same key with another input, or from another
 * caller of the organization, is refused (IdempotencyKeyReusedError); while the first create with the
 * key is still running, a second is refused at once (IdempotencyKeyInUseError), never queued.
 *
 * A key is the organization's, per resource: the row `(organization_id, resource, key)` of
 * `idempotency_keys`, written in the create's own transaction (a create that fails, on bad input, a
 * broken unique key or a refused reference, leaves no key behind, so its retry can succeed). Its
 * `actor_id` makes the key the caller's too: keys are made by clients (a UUID per create), so another
 * caller with the same key is a shared key, refused rather than answered with someone else's create.
 *
 * "The same input" is the validated input: the sha256 of its canonical JSON (keys sorted, so neither key
 * order nor whitespace of the request matters, nor anything the contract normalizes, such as trimming).
 *
 * The order of a keyed create, and why:
 * 1. Expired keys of the organization are deleted (at most 100, those no one else holds), in a statement
 *    of its own before the transaction. It never waits (SKIP LOCKED), so it can take part in no deadlock;
 *    inside the write's transaction it could: two creates could each hold a row the other one's purge or
 *    insert waits for, while one of them waits for the organization's lock.
 * 2. In the transaction, first (before the organization's lock, which a create with references takes
 *    before its reads), the key's transaction-scoped advisory lock is tried (`pg_try_advisory_xact_lock`,
 *    no wait): held by another transaction means that one's create with the key is still running: 409.
 *    Steps 2 and 3 wait for nothing, so taking them before that lock adds no deadlock.
 * 3. Then, in a statement of its own (its snapshot is taken after the lock is held, so a first create that
 *    committed and released the lock is seen), the key's live row is read: found, it is replayed or refused.
 * 4. Otherwise the create runs, and the key's row is written after it, in the same transaction, replacing
 *    an expired row of the same key that step 1 left. The lock is released when the transaction ends.
 * A PostgreSQL unique index alone would make a concurrent second insert wait for the first to commit (a
 * replay then) rather than answer 409 while it runs, as the API promises.
 *
 * SQL through the organization's `ScopedIdempotencyKeys` (./scope.ts), in the create's transaction; the
 * columns are the IdempotencyKey model's (prisma/schema.prisma).
 */
import { createHash } from "node:crypto";
import { configure } from "safe-stable-stringify";
import { Prisma } from "../generated/prisma/client.js";
import { IdempotencyKeyInUseError, IdempotencyKeyReusedError } from "./errors.js";
import type { Actor, OrgData, Row } from "./scope.js";

export interface IdempotencyOptions {
  /** How long a key answers its first create again, in hours (24). */
  retentionHours: number;
  /** The clock keys are stamped and expired by (tests move it instead of waiting a day). */
  now: () => Date;
}

/** A day, as Stripe keeps its keys; on the clock of the process. */
export const DEFAULT_IDEMPOTENCY: IdempotencyOptions = { retentionHours: 24, now: () => new Date() };

/** How many expired keys one create deletes at most: the delete stays cheap, and every keyed create does it. */
const PURGE_BATCH = 100;

/**
 * Canonical JSON: object keys sorted at every depth, dates as ISO-8601 (their toJSON). Why a library
 * (safe-stable-stringify, pino's own): `JSON.stringify` keeps insertion order; strict mode throws on what
 * JSON cannot say (a bigint, NaN) instead of losing it, so two inputs never share a fingerprint by accident.
 */
const canonicalJson = configure({ deterministic: true, strict: true, circularValue: TypeError });

/** The fingerprint of a validated create input: sha256 (hex) of its canonical JSON. */
export function fingerprintOf(input: unknown): string {
  return createHash("sha256")
    .update(canonicalJson(input) ?? "")
    .digest("hex");
}

/** A create's key, as the service is given it. */
export interface KeyedCreate {
  resource: string;
  key: string;
  /** `fingerprintOf` the validated input. */
  fingerprint: string;
}

/** What the claim of a key found: the first create's entity to answer again, or the way to record this one. */
export type Claim = { replay: Row } | { replay?: undefined; record(entity: Row): Promise<void> };

export interface Idempotency {
  /** Step 1: deletes expired keys of the actor's organization; outside the create's transaction. */
  purgeExpired(actor: Actor): Promise<void>;
  /** Steps 2 and 3, inside the create's transaction `tx`, before its first write. */
  claim(tx: OrgData, actor: Actor, create: KeyedCreate): Promise<Claim>;
}

/** The key's advisory lock: 64 bits of the hash of (organization, resource, key), in a namespace of its own. */
const lockOf = (organizationId: Prisma.Sql, { resource, key }: KeyedCreate) =>
  Prisma.sql`hashtextextended(jsonb_build_array('kuark:idempotency', ${organizationId}::text, ${resource}::text, ${key}::text)::text, 0)`;

export function createIdempotency(data: OrgData, options: IdempotencyOptions): Idempotency {
  const cutoff = () => new Date(options.now().getTime() - options.retentionHours * 3_600_000);
  return {
    async purgeExpired(actor) {
      await data.idempotencyKeys(actor.organizationId).run(
        (organizationId) => Prisma.sql`
          DELETE FROM idempotency_keys
          WHERE (organization_id, resource, key) IN (
            SELECT organization_id, resource, key FROM idempotency_keys
            WHERE organization_id = ${organizationId} AND created_at < ${cutoff()}
            LIMIT ${PURGE_BATCH}::int
            FOR UPDATE SKIP LOCKED)`,
      );
    },

    async claim(tx, actor, create) {
      const keys = tx.idempotencyKeys(actor.organizationId);
      const [lock] = await keys.run<{ locked: boolean }>((organizationId) => Prisma.sql`SELECT pg_try_advisory_xact_lock(${lockOf(organizationId, create)}) AS locked`);
      if (!lock?.locked) throw new IdempotencyKeyInUseError();
      const since = cutoff();
      const [found] = await keys.run<{ actor_id: string; fingerprint: string; response: Row }>(
        (organizationId) => Prisma.sql`
          SELECT actor_id, fingerprint, response FROM idempotency_keys
          WHERE organization_id = ${organizationId} AND resource = ${create.resource} AND key = ${create.key} AND created_at >= ${since}`,
      );
      if (found) {
        if (found.actor_id !== actor.sub) throw new IdempotencyKeyReusedError(true);
        if (found.fingerprint !== create.fingerprint) throw new IdempotencyKeyReusedError(false);
        return { replay: found.response };
      }
      return {
        async record(entity) {
          // An expired row of the key (not purged yet) is replaced; a live one cannot exist: this transaction holds the key's lock and saw none.
          const written = await keys.run(
            (organizationId) => Prisma.sql`
              INSERT INTO idempotency_keys (organization_id, resource, key, actor_id, fingerprint, response, created_at)
              VALUES (${organizationId}, ${create.resource}, ${create.key}, ${actor.sub}, ${create.fingerprint}, ${JSON.stringify(entity)}::jsonb, ${options.now()})
              ON CONFLICT (organization_id, resource, key) DO UPDATE
                SET actor_id = EXCLUDED.actor_id, fingerprint = EXCLUDED.fingerprint, response = EXCLUDED.response, created_at = EXCLUDED.created_at
                WHERE idempotency_keys.created_at < ${since}
              RETURNING 1`,
          );
          if (written.length !== 1) throw new Error(`idempotency key of ${create.resource}: a live row appeared while this transaction held its lock`);
        },
      };
    },
  };
}
