/**
 * Rate limits (express-rate-limit): per client IP, and per organization for requests with a valid
 * token. With REDIS_URL the counters live in Redis (rate-limit-redis), so every instance behind a
 * load balancer counts against the same budget; without it, each process counts alone.
 */
import type { Request, RequestHandler } from "express";
import { rateLimit } from "express-rate-limit";
import type { Store } from "express-rate-limit";
import { RedisStore } from "rate-limit-redis";
import type { RedisClientType } from "redis";
import type { Config } from "../config.js";
import type { Logger } from "../logger.js";
import type { Refuse } from "./refusal.js";

export type RedisClient = Pick<RedisClientType, "sendCommand">;

interface Options {
  config: Pick<Config, "rateLimit">;
  /** The organization of the request's valid token, or undefined without one. */
  organizationOf: (req: Request) => string | undefined;
  redis?: RedisClient | undefined;
  log: Logger;
  /** Told of every refusal, by the limit that refused (metrics). */
  onRefusal?: ((limit: "ip" | "org") => void) | undefined;
  /** Answers a 429 in the shape of the API the request was for. */
  refuse: Refuse;
}

export function createRateLimiters({ config, organizationOf: orgOf, redis, log, onRefusal, refuse }: Options): RequestHandler[] {
  const { windowMs, perIp, perOrg, prefix: keyPrefix } = config.rateLimit;
  const store = (prefix: string): Store | undefined =>
    redis
      ? new RedisStore({
          prefix: `${keyPrefix}${prefix}:`,
          sendCommand: (...args: string[]) => redis.sendCommand(args),
        })
      : undefined;
  const common = {
    windowMs,
    standardHeaders: "draft-7" as const,
    legacyHeaders: false,
    // Redis unreachable: serve rather than refuse everyone; the outage is logged.
    passOnStoreError: true,
    validate: { singleCount: false },
  };
  const limiters: RequestHandler[] = [];

  if (perIp > 0) {
    limiters.push(
      rateLimit({
        ...common,
        limit: perIp,
        store: store("ip"),
        handler: (req, res) => {
          log.warn({ ip: req.ip }, "rate limit: too many requests from one IP");
          onRefusal?.("ip");
          refuse(req, res, "TOO_MANY_REQUESTS", "Too many requests from this address; retry later");
        },
      }),
    );
  }

  if (perOrg > 0) {
    limiters.push(
      rateLimit({
        ...common,
        limit: perOrg,
        store: store("org"),
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
