/**
 * An identity provider's published keys (JWT_JWKS_URL, a JSON Web Key Set): which key verifies a token.
 * A token must name its key (`kid`) and be RS256 or ES256 with that key's algorithm; everything else
 * about it (signature, `exp`, `iss`, `aud`, claims, lifetime) is checked by `./token.ts` as for any token.
 *
 * The keys are held in memory, all of them, and replaced only by a successful fetch:
 * - at start, and every REFRESH_INTERVAL_MS after (so a key the provider withdrew stops verifying);
 * - when a token names a `kid` not held, but at most once per `refetchWindowMs` (30 s), whatever the number
 *   of such tokens: a key published after a rotation verifies within about 30 s, and a stream of tokens
 *   with made-up `kid`s costs the provider one request per 30 s, not one per token.
 * A fetch that fails (the endpoint down, an error status, no answer within `timeoutMs`) keeps the keys held,
 * logs one warning, and counts as a fetch for that window: tokens of held keys go on verifying, tokens of
 * unknown ones are refused (401) at once, or when the fetch under way gives up, never later than `timeoutMs`.
 *
 * jwks-rsa (the JWKS client made for jsonwebtoken) does the fetching and turns the JWKs into keys (RSA
 * and EC, `use: sig` only). Its own cache and rate limit are not used, and the holding and the refetch
 * rule are these few lines instead: its cache answers by promise only (a held key here answers at once,
 * keeping the verification of a cached key free of awaits), it forgets a key at `cacheMaxAge` even when
 * the endpoint is down (here held keys outlive an outage), it fetches once per new `kid` rather than
 * once per set, and its limiter counts requests per minute (a burst allowance), not one fetch per window.
 */
import { createPublicKey } from "node:crypto";
import jwt from "jsonwebtoken";
import { JwksClient } from "jwks-rsa";
import type { Logger } from "../logger.js";
import { InvalidTokenError } from "./token.js";
import type { KeyResolver, ResolvedKey } from "./token.js";

/** The algorithms a published key may verify; a token of any other (HS256 included) is refused. */
export const JWKS_ALGORITHMS = ["RS256", "ES256"] as const;
type JwksAlgorithm = (typeof JWKS_ALGORITHMS)[number];

/** The least time between two fetches triggered by unknown `kid`s. */
export const REFETCH_WINDOW_MS = 30_000;
/** How often the whole set is fetched again regardless. */
export const REFRESH_INTERVAL_MS = 10 * 60_000;

export interface PublishedKeysOptions {
  /** JWT_JWKS_URL. */
  url: string;
  /** JWT_JWKS_TIMEOUT_MS: the longest one fetch may take. */
  timeoutMs: number;
  /** Unset: REFETCH_WINDOW_MS (tests shorten it). */
  refetchWindowMs?: number | undefined;
  log: Logger;
}

export interface PublishedKeys {
  /** A token's key: at once when held, a promise when a fetch must be waited for; InvalidTokenError otherwise. */
  resolveKey: KeyResolver;
  /** Stops the periodic refresh. */
  close(): void;
}

/** Starts fetching the keys at once (without waiting) and returns their resolver. */
export function createPublishedKeys(options: PublishedKeysOptions): PublishedKeys {
  const { url, timeoutMs, log } = options;
  const refetchWindowMs = options.refetchWindowMs ?? REFETCH_WINDOW_MS;
  // `timeout` is the socket's idle timeout; the deadline below bounds the whole fetch.
  const client = new JwksClient({ jwksUri: url, cache: false, rateLimit: false, timeout: timeoutMs });
  /** By `${alg} ${kid}`: a set may publish one `kid` for two key types. */
  let held = new Map<string, ResolvedKey>();
  /** The `kid`s held, whatever their algorithm: a held `kid` under another algorithm is a bad token, not a new key. */
  let heldKids = new Set<string>();
  let lastFetchAt = Number.NEGATIVE_INFINITY;
  let fetching: Promise<void> | undefined;

  /** Fetches the set (one fetch at a time); never rejects: a failure keeps what is held. */
  const fetchKeys = (): Promise<void> => {
    fetching ??= (async () => {
      lastFetchAt = Date.now();
      try {
        const signingKeys = await withDeadline(client.getSigningKeys(), timeoutMs);
        held = keysOf(signingKeys);
        heldKids = new Set([...held.keys()].map((id) => id.slice(id.indexOf(" ") + 1)));
        log.debug({ jwksUrl: url, keys: [...held.keys()] }, "JWKS fetched");
      } catch (error) {
        // One line per failed fetch (not per token): the error's message is enough, its stack is jwks-rsa's.
        log.warn({ jwksUrl: url, reason: (error as Error).message, keysKept: held.size }, "JWKS fetch failed: keeping the keys held");
      } finally {
        fetching = undefined;
      }
    })();
    return fetching;
  };

  const lookup = (algorithm: JwksAlgorithm, kid: string): ResolvedKey => {
    const key = held.get(`${algorithm} ${kid}`);
    if (!key) throw new InvalidTokenError("no published key of this kid and algorithm");
    return key;
  };

  const resolveKey: KeyResolver = (token) => {
    const { algorithm, kid } = headerOf(token);
    const key = held.get(`${algorithm} ${kid}`);
    if (key) return key;
    if (heldKids.has(kid)) throw new InvalidTokenError("the key of this kid has another algorithm");
    if (fetching) return fetching.then(() => lookup(algorithm, kid));
    if (Date.now() - lastFetchAt < refetchWindowMs) throw new InvalidTokenError("unknown kid (the keys were fetched moments ago)");
    return fetchKeys().then(() => lookup(algorithm, kid));
  };

  void fetchKeys();
  const refresh = setInterval(() => void fetchKeys(), REFRESH_INTERVAL_MS);
  refresh.unref();
  return { resolveKey, close: () => clearInterval(refresh) };
}

/** The token's algorithm and `kid`, refused unless an accepted algorithm and a non-empty `kid`. */
function headerOf(token: string): { algorithm: JwksAlgorithm; kid: string } {
  const decoded = jwt.decode(token, { complete: true });
  if (!decoded || typeof decoded.header !== "object") throw new InvalidTokenError("not a JWT");
  const { alg, kid } = decoded.header;
  if (!JWKS_ALGORITHMS.includes(alg as JwksAlgorithm)) throw new InvalidTokenError(`algorithm ${String(alg)} is not accepted with published keys`);
  if (typeof kid !== "string" || kid === "") throw new InvalidTokenError("a token verified with published keys must name its key (kid)");
  return { algorithm: alg as JwksAlgorithm, kid };
}

/** The set's usable keys: each with a `kid`, of an accepted algorithm (its `alg`, or its type's: RSA RS256, EC P-256 ES256). */
function keysOf(signingKeys: Array<{ kid?: string; alg?: string; getPublicKey(): string }>): Map<string, ResolvedKey> {
  const keys = new Map<string, ResolvedKey>();
  for (const signingKey of signingKeys) {
    if (!signingKey.kid) continue;
    const key = createPublicKey(signingKey.getPublicKey());
    const ownAlgorithm =
      key.asymmetricKeyType === "rsa" ? "RS256" : key.asymmetricKeyType === "ec" && key.asymmetricKeyDetails?.namedCurve === "prime256v1" ? "ES256" : undefined;
    const algorithm = signingKey.alg ?? ownAlgorithm;
    // A key whose declared `alg` is not its type's (an EC key marked RS256) verifies nothing.
    if (algorithm === undefined || algorithm !== ownAlgorithm) continue;
    const id = `${algorithm} ${signingKey.kid}`;
    if (!keys.has(id)) keys.set(id, Object.freeze({ key, algorithm: ownAlgorithm }));
  }
  return keys;
}

function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
