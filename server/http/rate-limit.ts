/**
 * Rate limits (express-rate-limit): per client IP, and per organization for requests with a valid
 * token. With REDIS_URL the counters live in Redis (rate-limit-redis), so every instance behind a
 * load balancer counts against the same budget; without it, each process counts alone, and so does each
 * while Redis is away (./rate-limit-store.ts).
 *
 * A tRPC batch costs one per call: express-rate-limit counts requests, so before its own count the calls
 * of a batch beyond the first are added to the same key of the same store (`chargeBatch`); a batch that
 * takes the count past the limit is refused whole.
 */
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { ipKeyGenerator, MemoryStore, rateLimit } from "express-rate-limit";
import type { Store } from "express-rate-limit";
import type { Config } from "../config.js";
import type { Logger } from "../logger.js";
import { RedisOrLocalStore } from "./rate-limit-store.js";
import type { RedisConnection } from "./redis.js";
import type { Refuse } from "./refusal.js";

interface Options {
  config: Pick<Config, "rateLimit" | "maxBatchSize">;
  /** Where tRPC is mounted: its batches (`<trpcPath>/a,b?batch=1`) cost one per call. */
  trpcPath: string;
  /** The organization of the request's valid token, or undefined without one. */
  organizationOf: (req: Request) => string | undefined;
  redis?: RedisConnection | undefined;
  log: Logger;
  /** Told of every refusal, by the limit that refused (metrics). */
  onRefusal?: ((limit: "ip" | "org") => void) | undefined;
  /** Answers a 429 in the shape of the API the request was for. */
  refuse: Refuse;
}

/** How many calls a request makes: the procedures of a tRPC batch (`/trpc/a,b,c?batch=1`), else one. */
export function callsOf(req: Request, trpcPath: string): number {
  const url = req.originalUrl;
  if (!url.startsWith(`${trpcPath}/`)) return 1;
  const queryAt = url.indexOf("?");
  if (queryAt === -1 || new URLSearchParams(url.slice(queryAt + 1)).get("batch") !== "1") return 1;
  return url.slice(trpcPath.length + 1, queryAt).split(",").length;
}

/**
 * Adds the calls of a batch beyond its first to `key`'s count in `store`, before the limiter counts the
 * request itself. Capped (MAX_BATCH_SIZE refuses bigger batches anyway). The stores here do not fail
 * (a Redis fault is counted locally); should one, the limiter meets the same error and decides.
 */
function chargeBatch(store: Store, keyOf: (req: Request) => string | undefined, trpcPath: string, maxCalls: number): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction) => {
    const extra = Math.min(callsOf(req, trpcPath), maxCalls) - 1;
    const key = keyOf(req);
    if (extra <= 0 || key === undefined) return next();
    void (async () => {
      try {
        for (let i = 0; i < extra; i++) await store.increment(key);
      } catch {
        // The limiter's own increment meets the same fault and handles it.
      }
      next();
    })();
  };
}

export function createRateLimiters({ config, organizationOf: orgOf, redis, log, onRefusal, refuse, trpcPath }: Options): RequestHandler[] {
  const { windowMs, perIp, perOrg, prefix: keyPrefix } = config.rateLimit;
  const store = (prefix: string): Store => (redis ? new RedisOrLocalStore(redis, `${keyPrefix}${prefix}:`) : new MemoryStore());
  const maxCalls = config.maxBatchSize;
  // The key express-rate-limit makes of an IP by default (IPv6 addresses by their /56), named here so the batch charge uses the same.
  const ipKey = (req: Request) => ipKeyGenerator(req.ip ?? "");
  const common = {
    windowMs,
    standardHeaders: "draft-7" as const,
    legacyHeaders: false,
    // A store that fails anyway: serve rather than refuse everyone, and say so in the JSON log, not on stderr.
    passOnStoreError: true,
    logger: {
      error: (err: unknown, message?: string) => log.error({ err }, message ?? "rate limit: store error"),
      warn: (err: unknown, message?: string) => log.warn({ err }, message ?? "rate limit: store warning"),
    },
    validate: { singleCount: false },
  };
  const limiters: RequestHandler[] = [];

  if (perIp > 0) {
    const ipStore = store("ip");
    limiters.push(
      chargeBatch(ipStore, ipKey, trpcPath, maxCalls),
      rateLimit({
        ...common,
        limit: perIp,
        store: ipStore,
        keyGenerator: ipKey,
        handler: (req, res) => {
          log.warn({ ip: req.ip }, "rate limit: too many requests from one IP");
          onRefusal?.("ip");
          refuse(req, res, "TOO_MANY_REQUESTS", "Too many requests from this address; retry later");
        },
      }),
    );
  }

  if (perOrg > 0) {
    const orgStore = store("org");
    limiters.push(
      chargeBatch(orgStore, orgOf, trpcPath, maxCalls),
      rateLimit({
        ...common,
        limit: perOrg,
        store: orgStore,
        skip: (req) => orgOf(req) === undefined,
        keyGenerator: (req) => orgOf(req) ?? "",
        handler: (req, res) => {
          log.warn({ organizationId: orgOf(req) }, "rate limit: too many requests for one organization");
          onRefusal?.("org");
          refuse(req, res, "TOO_MANY_REQUESTS", "Too many requests for this organization; retry later");
        },
      }),
    );
  }
  return limiters;
}
