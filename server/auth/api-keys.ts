/**
 * API keys as credentials (docs/credentials.md): an organization's long-lived secrets, `kuark_` and 32
 * random bytes in base64url, sent as `Authorization: Bearer kuark_...` or `X-API-Key: kuark_...` (./authenticator.ts
 * reads both). Only the SHA-256 of a secret is stored (`api_keys.secret_hash`): a presented key is found by
 * its hash. No salt and no slow hash: the secret has 256 bits of randomness, so nothing can be guessed from its
 * hash, and the lookup by an indexed equal hash is what GitHub's and Stripe's keys do. A key acts as
 * `apikey:<id>` of its organization, with its own role.
 *
 * Verified keys are cached per process (no database read per request), each for at most `cacheTtlMs` (a
 * safety net) and never past the key's expiry. A deleted key is dropped at once in the process that deleted
 * it, and in every other process as soon as the delete's change notification arrives (the change hub's
 * LISTEN, `forget`); a LISTEN that reconnected may have missed notifications, so the whole cache goes then
 * (`forgetAll`). `lastUsedAt` is written at most once per `lastUsedIntervalMs` per key, after the answer,
 * never in its way, and the statement's own condition keeps several processes to one write per interval.
 *
 * A secret is never logged, traced or put in an error message: refusals say why in words only.
 */
import { createHash, randomBytes } from "node:crypto";
import { API_KEY_PREFIX } from "../contract/apiKeys.js";
import { Role } from "../contract/roles.js";
import type { PrismaClient } from "../db/database.js";
import type { OrgData } from "../kit/scope.js";
import type { Logger } from "../logger.js";
import { InvalidTokenError } from "./token.js";
import type { Caller, TokenVerifier } from "./token.js";

/** Random bytes in a secret: 256 bits. */
const SECRET_BYTES = 32;
/** `kuark_` + base64url of 32 bytes (43 characters, no padding). */
const SECRET_FORMAT = /^kuark_[A-Za-z0-9_-]{43}$/;
/** Characters of the random part kept as the display prefix (48 of its 256 bits). */
const PREFIX_CHARACTERS = 8;

/** Whether a token is an API key (and not a JWT, which begins `eyJ`). */
export const isApiKey = (token: string): boolean => token.startsWith(API_KEY_PREFIX);

/** The stored form of a secret: SHA-256, hex. */
export const hashOfSecret = (secret: string): string => createHash("sha256").update(secret, "utf8").digest("hex");

/** A new key's secret, its display prefix and its hash (what is stored). */
export function newApiKeySecret(): { secret: string; prefix: string; secretHash: string } {
  const secret = API_KEY_PREFIX + randomBytes(SECRET_BYTES).toString("base64url");
  return { secret, prefix: secret.slice(0, API_KEY_PREFIX.length + PREFIX_CHARACTERS), secretHash: hashOfSecret(secret) };
}

/** The caller's `sub` of a key: what audit fields and the change log name. */
export const subOfApiKey = (id: string): string => `apikey:${id}`;

export interface ApiKeyVerifier {
  /** The key's caller, or InvalidTokenError (unknown, deleted, expired, malformed: the same refusal to the client). */
  verify(secret: string): Caller | Promise<Caller>;
  /** Drops the cached keys of an organization (one of its keys changed). */
  forget(organizationId: string): void;
  /** Drops every cached key (notifications may have been missed). */
  forgetAll(): void;
}

export interface ApiKeyVerifierOptions {
  data: OrgData;
  log: Logger;
  /** How long a verified key is trusted without reading it again; default 10 s. */
  cacheTtlMs?: number | undefined;
  /** The least time between two writes of a key's `lastUsedAt`; default one minute. */
  lastUsedIntervalMs?: number | undefined;
  /** The clock (ms since the epoch), for tests. */
  now?: (() => number) | undefined;
}

interface CachedKey {
  caller: Caller;
  id: string;
  organizationId: string;
  /** The key's own expiry (ms), or Infinity. */
  expiresAt: number;
  /** Until when the entry is trusted. */
  keepUntil: number;
  /** When `lastUsedAt` was last written (by anyone, as far as this process knows); undefined: never. */
  lastUsedAt: number | undefined;
}

const DEFAULT_TTL_MS = 10_000;
const DEFAULT_LAST_USED_INTERVAL_MS = 60_000;
/** The most keys a process keeps verified; the oldest goes first. */
const CACHED_KEYS_KEPT = 10_000;

export function createApiKeyVerifier(options: ApiKeyVerifierOptions): ApiKeyVerifier {
  const { log } = options;
  const ttlMs = options.cacheTtlMs ?? DEFAULT_TTL_MS;
  const intervalMs = options.lastUsedIntervalMs ?? DEFAULT_LAST_USED_INTERVAL_MS;
  const now = options.now ?? Date.now;
  // Keyed by the secret's hash, never by the secret: a heap dump holds no usable key.
  const cache = new Map<string, CachedKey>();
  const inFlight = new Map<string, Promise<CachedKey | undefined>>();
  // Bumped by every invalidation: a lookup that started before one is answered but not cached.
  let epoch = 0;
  const prisma: PrismaClient = options.data.withoutOrganizationScope("an API key is found by its secret's hash before its organization is known");

  const touch = (entry: CachedKey, at: number) => {
    if (entry.lastUsedAt !== undefined && at - entry.lastUsedAt < intervalMs) return;
    entry.lastUsedAt = at;
    // The condition holds every process to one write per interval; no change event (it is no change of the key).
    void prisma.$executeRaw`
      UPDATE api_keys SET last_used_at = ${new Date(at)}
      WHERE id = ${entry.id}::uuid AND deleted_at IS NULL AND (last_used_at IS NULL OR last_used_at <= ${new Date(at - intervalMs)})`.catch((err: unknown) => {
      log.warn({ err, apiKeyId: entry.id }, "api keys: cannot record lastUsedAt");
    });
  };

  const lookUp = async (secretHash: string): Promise<CachedKey | undefined> => {
    const row = await prisma.organizationApiKey.findFirst({
      where: { secretHash, deletedAt: null },
      select: { id: true, organizationId: true, role: true, expiresAt: true, lastUsedAt: true },
    });
    if (!row) return undefined;
    const role = Role.safeParse(row.role);
    if (!role.success) return undefined;
    const expiresAt = row.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY;
    const me = Object.freeze({ sub: subOfApiKey(row.id), organizationId: row.organizationId, role: role.data });
    return {
      caller: Object.freeze({ me, expiresAt }),
      id: row.id,
      organizationId: row.organizationId,
      expiresAt,
      keepUntil: 0,
      lastUsedAt: row.lastUsedAt?.getTime(),
    };
  };

  const admitted = (entry: CachedKey | undefined): Caller => {
    const at = now();
    if (!entry) throw new InvalidTokenError("unknown or revoked API key");
    if (at >= entry.expiresAt) throw new InvalidTokenError("expired API key");
    touch(entry, at);
    return entry.caller;
  };

  return {
    verify(secret) {
      if (!SECRET_FORMAT.test(secret)) throw new InvalidTokenError("malformed API key");
      const secretHash = hashOfSecret(secret);
      const cached = cache.get(secretHash);
      if (cached && now() < cached.keepUntil) return admitted(cached);
      if (cached) cache.delete(secretHash);
      let pending = inFlight.get(secretHash);
      if (!pending) {
        const startedAt = epoch;
        pending = lookUp(secretHash).then((entry) => {
          if (entry && startedAt === epoch) {
            entry.keepUntil = Math.min(now() + ttlMs, entry.expiresAt);
            if (cache.size >= CACHED_KEYS_KEPT) cache.delete(cache.keys().next().value!);
            cache.set(secretHash, entry);
          }
          return entry;
        });
        inFlight.set(secretHash, pending);
        void pending.finally(() => inFlight.delete(secretHash)).catch(() => {});
      }
      return pending.then(admitted);
    },
    forget(organizationId) {
      epoch++;
      for (const [hash, entry] of cache) if (entry.organizationId === organizationId) cache.delete(hash);
    },
    forgetAll() {
      epoch++;
      cache.clear();
    },
  };
}

/** The verifier of both credentials: an API key (`kuark_...`) by its lookup, anything else as a JWT, at once (no await). */
export function withApiKeys(verifyJwt: TokenVerifier, apiKeys: ApiKeyVerifier): TokenVerifier {
  return (token) => (isApiKey(token) ? apiKeys.verify(token) : verifyJwt(token));
}
