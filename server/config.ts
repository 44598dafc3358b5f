/**
 * Configuration: the environment (and `.env`, when present), parsed once by zod.
 * An invalid value stops the process with a message that names the variable.
 */
import { createPublicKey } from "node:crypto";
import { existsSync } from "node:fs";
import { z } from "zod";
import { ROLES } from "./contract/roles.js";
import type { Role } from "./contract/roles.js";

/** Used only outside production, with a loud warning; never accepted when NODE_ENV=production. */
export const DEV_SECRET_KEY = "kuark-dev-secret-key-do-not-use-in-production";

function isRsaPublicKey(pem: string): boolean {
  try {
    return createPublicKey(pem).asymmetricKeyType === "rsa";
  } catch {
    return false;
  }
}

/** headersTimeout stays this much above keepAliveTimeout (see server/http/server-timeouts.ts). */
export const HEADERS_TIMEOUT_MARGIN_MS = 1_000;
export const headersTimeoutFor = (keepAliveTimeoutMs: number) => keepAliveTimeoutMs + HEADERS_TIMEOUT_MARGIN_MS;

/**
 * ROLE_MAP: a JSON object from an identity provider's role values to the service's roles
 * (`{"org:admin":"admin","org:member":"member"}`); unset: none mapped.
 */
const RoleMap = z
  .string()
  .optional()
  .transform((text, ctx): unknown => {
    if (text === undefined || text.trim() === "") return {};
    try {
      return JSON.parse(text);
    } catch {
      ctx.addIssue({ code: "custom", message: 'must be a JSON object, e.g. {"org:admin":"admin"}' });
      return z.NEVER;
    }
  })
  .pipe(
    z.record(z.string().min(1, "a mapped value must not be empty"), z.enum(ROLES, { error: `must map onto a role: ${ROLES.join(", ")}` }), {
      error: 'must be a JSON object, e.g. {"org:admin":"admin"}',
    }),
  );

const LogLevel = z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);

const EnvSchema = z
  .object({
    NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    HOST: z.string().min(1).optional(),
    DATABASE_URL: z
      .url({ protocol: /^postgres(ql)?$/, error: "must be a postgres:// or postgresql:// URL" })
      .optional(),
    DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(500).default(10),
    PGLITE_DATA_DIR: z.string().min(1).default(".data/pglite"),
    SECRET_KEY: z.string().min(16, "must be at least 16 characters").optional(),
    /** Earlier SECRET_KEYs, comma-separated: tokens they signed still verify (HS256) while clients move to the new key. */
    SECRET_KEY_PREVIOUS: z
      .string()
      .optional()
      .transform((value) => (value ?? "").split(",").map((key) => key.trim()).filter(Boolean))
      .pipe(z.array(z.string().min(16, "each key must be at least 16 characters"))),
    ACCESS_TOKEN_EXPIRE_MINUTES: z.coerce.number().int().positive().default(1440),
    ALLOWED_ORIGINS: z
      .string()
      .default("http://localhost:3000")
      .transform((value) => value.split(",").map((o) => o.trim()).filter(Boolean))
      .pipe(z.array(z.url({ error: "must be a comma-separated list of origins (http://host:port)" }))),
    LOG_LEVEL: LogLevel.default("info"),
    SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
    SHUTDOWN_DRAIN_MS: z.coerce.number().int().min(0).default(0),
    DATABASE_CONNECT_TIMEOUT_MS: z.coerce.number().int().positive().default(5_000),
    DATABASE_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(0).default(10_000),
    MAX_BODY_BYTES: z.coerce.number().int().positive().default(1_048_576),
    MAX_BATCH_SIZE: z.coerce.number().int().positive().default(25),
    RATE_LIMIT_WINDOW_MS: z.coerce.number().int().positive().default(60_000),
    RATE_LIMIT_PER_IP: z.coerce.number().int().min(0).default(1_200),
    RATE_LIMIT_PER_ORG: z.coerce.number().int().min(0).default(3_000),
    RATE_LIMIT_PREFIX: z.string().min(1).default("kuark:rl:"),
    REDIS_URL: z.url({ protocol: /^rediss?$/, error: "must be a redis:// or rediss:// URL" }).optional(),
    /** How long one Redis command may take before the rate limits count in the process instead (server/http/redis.ts). */
    REDIS_TIMEOUT_MS: z.coerce.number().int().positive().max(60_000).default(100),
    TRUST_PROXY: z.string().min(1).default("loopback"),
    JWT_CLOCK_TOLERANCE_SECONDS: z.coerce.number().int().min(0).max(600).default(30),
    /** The longest lifetime a token may have (`exp - iat`, or `exp - now` without `iat`); a longer one is refused. */
    JWT_MAX_LIFETIME_MINUTES: z.coerce.number().int().positive().default(1440),
    JWT_ISSUER: z.string().min(1).optional(),
    JWT_AUDIENCE: z.string().min(1).optional(),
    /** The claim that names the organization (`organization_id`; an identity provider's may be `org_id` or a URL). */
    JWT_ORG_CLAIM: z.string().min(1).default("organization_id"),
    /** The claim that names the caller. */
    JWT_SUB_CLAIM: z.string().min(1).default("sub"),
    /** The claim that holds the caller's role (server/kit/access.ts). */
    JWT_ROLE_CLAIM: z.string().min(1).default("role"),
    /** The role of a token without a role claim: `member` keeps today's tokens' powers. */
    DEFAULT_ROLE: z.enum(ROLES, { error: `must be a role: ${ROLES.join(", ")}` }).default("member"),
    ROLE_MAP: RoleMap,
    JWT_PUBLIC_KEY: z
      .string()
      .transform((pem) => pem.replace(/\\n/g, "\n").trim())
      .refine((pem) => isRsaPublicKey(pem), "must be a PEM-encoded RSA public key")
      .optional(),
    /** Unset: the developer panel at /panel is on everywhere but in production. */
    PANEL_ENABLED: z.enum(["true", "false"], { error: 'must be "true" or "false"' }).optional(),
    /** Prometheus metrics on a listener of their own; 0 turns metrics off entirely. */
    METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
    METRICS_HOST: z.string().min(1).optional(),
    /** Above the 60 s idle timeout of common load balancers, so the balancer closes idle connections first. */
    KEEP_ALIVE_TIMEOUT_MS: z.coerce.number().int().min(1).default(65_000),
    /** Node's default; 0 for none. */
    REQUEST_TIMEOUT_MS: z.coerce.number().int().min(0).default(300_000),
    /** Unset: the OpenAPI document (/api/v1/openapi.json) and /docs are on everywhere but in production. */
    DOCS_ENABLED: z.enum(["true", "false"], { error: 'must be "true" or "false"' }).optional(),
    /** How long change events are kept: history reaches this far back, and so does an onChange resume. */
    EVENT_RETENTION_HOURS: z.coerce.number().positive().default(168),
    /** Open onChange subscriptions per organization and per client IP, on each instance; 0 for no limit. */
    SUBSCRIPTIONS_PER_ORG: z.coerce.number().int().min(0).default(1_000),
    SUBSCRIPTIONS_PER_IP: z.coerce.number().int().min(0).default(100),
    /** "false": every /trpc request goes through tRPC's Express adapter (no fast path of server/trpc/fast-path/). */
    TRPC_FAST_PATHS: z.enum(["true", "false"], { error: 'must be "true" or "false"' }).default("true"),
  })
  .superRefine((env, ctx) => {
    if (env.NODE_ENV === "production" && !env.SECRET_KEY && !env.JWT_PUBLIC_KEY) {
      ctx.addIssue({ code: "custom", path: ["SECRET_KEY"], message: "is required when NODE_ENV=production (or JWT_PUBLIC_KEY for RS256)" });
    }
    if (env.NODE_ENV === "production" && env.SECRET_KEY === DEV_SECRET_KEY) {
      ctx.addIssue({ code: "custom", path: ["SECRET_KEY"], message: "must not be the development key in production" });
    } else if (env.NODE_ENV === "production" && env.SECRET_KEY !== undefined && env.SECRET_KEY.length < 32) {
      ctx.addIssue({ code: "custom", path: ["SECRET_KEY"], message: "must be at least 32 characters when NODE_ENV=production" });
    }
    if (env.ACCESS_TOKEN_EXPIRE_MINUTES > env.JWT_MAX_LIFETIME_MINUTES) {
      ctx.addIssue({ code: "custom", path: ["ACCESS_TOKEN_EXPIRE_MINUTES"], message: `must be at most JWT_MAX_LIFETIME_MINUTES (${env.JWT_MAX_LIFETIME_MINUTES}): longer tokens are refused` });
    }
    if (env.REQUEST_TIMEOUT_MS > 0 && env.REQUEST_TIMEOUT_MS <= headersTimeoutFor(env.KEEP_ALIVE_TIMEOUT_MS)) {
      ctx.addIssue({ code: "custom", path: ["REQUEST_TIMEOUT_MS"], message: `must be 0 or above KEEP_ALIVE_TIMEOUT_MS + ${HEADERS_TIMEOUT_MARGIN_MS}` });
    }
    if (env.METRICS_PORT !== 0 && env.METRICS_PORT === env.PORT) {
      ctx.addIssue({ code: "custom", path: ["METRICS_PORT"], message: "must differ from PORT: metrics are never served on the public port" });
    }
  });

export interface Config {
  nodeEnv: "development" | "production" | "test";
  port: number;
  host: string | undefined;
  /** Unset: the embedded PGlite database in `pgliteDataDir`. */
  databaseUrl: string | undefined;
  databasePoolSize: number;
  pgliteDataDir: string;
  secretKey: string;
  /** True when no SECRET_KEY was given and the development key is in use. */
  usingDevSecret: boolean;
  accessTokenExpireMinutes: number;
  allowedOrigins: string[];
  logLevel: z.infer<typeof LogLevel>;
  shutdownTimeoutMs: number;
  /** How long readiness answers 503 before the listener closes, so load balancers stop routing first. */
  shutdownDrainMs: number;
  databaseConnectTimeoutMs: number;
  /** 0: no statement timeout. */
  databaseStatementTimeoutMs: number;
  maxBodyBytes: number;
  maxBatchSize: number;
  rateLimit: {
    windowMs: number;
    /** Requests per window and client IP; 0 turns the limit off. */
    perIp: number;
    /** Requests per window and organization (from a valid token); 0 turns the limit off. */
    perOrg: number;
    /** Prefix of the counters' Redis keys (services sharing one Redis keep apart by it). */
    prefix: string;
  };
  /** Set: rate-limit counters live in Redis, shared by every instance. */
  redisUrl: string | undefined;
  /** The longest a Redis command may take; past it (or on any Redis fault) the limits count in the process. */
  redisTimeoutMs: number;
  /** Express's `trust proxy`: which proxies' X-Forwarded-For is believed for the client IP. */
  trustProxy: string;
  jwt: {
    clockToleranceSeconds: number;
    issuer: string | undefined;
    audience: string | undefined;
    /** Set: tokens are RS256, verified with this key, and HS256 tokens are refused. */
    publicKey: string | undefined;
    /** The longest lifetime a token may have, in minutes. */
    maxLifetimeMinutes: number;
    /** Earlier HS256 keys still accepted for verification (never for signing). */
    previousSecretKeys: string[];
    /** The names of the claims read for the organization, the caller and its role. */
    orgClaim: string;
    subClaim: string;
    roleClaim: string;
  };
  /** How a token's role claim becomes a role (server/kit/access.ts). */
  roles: {
    /** The role of a token without a role claim (DEFAULT_ROLE). */
    defaultRole: Role;
    /** An identity provider's values and the roles they are (ROLE_MAP). */
    map: Record<string, Role>;
  };
  /** The developer panel at /panel (server/panel); its dev-token endpoint never exists in production. */
  panelEnabled: boolean;
  metrics: {
    /** 0: no metrics at all (no listener, no per-request recording). */
    port: number;
    host: string | undefined;
  };
  http: {
    /** How long an idle keep-alive connection stays open. */
    keepAliveTimeoutMs: number;
    /** How long receiving a whole request may take; 0 for no limit. */
    requestTimeoutMs: number;
  };
  /** The REST API's OpenAPI document and its interactive reference at /docs (server/rest). */
  docsEnabled: boolean;
  /** Plain JSON calls and plain subscriptions answered by the service's own handlers; false: all by tRPC's adapter. */
  trpcFastPaths: boolean;
  live: {
    eventRetentionHours: number;
    /** 0: no limit. */
    subscriptionsPerOrg: number;
    /** 0: no limit. */
    subscriptionsPerIp: number;
  };
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Parses `env`; throws ConfigError naming every invalid variable. */
export function parseConfig(env: NodeJS.ProcessEnv): Config {
  const result = EnvSchema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  ${issue.path.join(".")}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join("\n")}`);
  }
  const e = result.data;
  return {
    nodeEnv: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    databasePoolSize: e.DATABASE_POOL_SIZE,
    pgliteDataDir: e.PGLITE_DATA_DIR,
    secretKey: e.SECRET_KEY ?? DEV_SECRET_KEY,
    usingDevSecret: !e.SECRET_KEY,
    accessTokenExpireMinutes: e.ACCESS_TOKEN_EXPIRE_MINUTES,
    allowedOrigins: e.ALLOWED_ORIGINS,
    logLevel: e.LOG_LEVEL,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    shutdownDrainMs: e.SHUTDOWN_DRAIN_MS,
    databaseConnectTimeoutMs: e.DATABASE_CONNECT_TIMEOUT_MS,
    databaseStatementTimeoutMs: e.DATABASE_STATEMENT_TIMEOUT_MS,
    maxBodyBytes: e.MAX_BODY_BYTES,
    maxBatchSize: e.MAX_BATCH_SIZE,
    rateLimit: {
      windowMs: e.RATE_LIMIT_WINDOW_MS,
      perIp: e.RATE_LIMIT_PER_IP,
      perOrg: e.RATE_LIMIT_PER_ORG,
      prefix: e.RATE_LIMIT_PREFIX,
    },
    redisUrl: e.REDIS_URL,
    redisTimeoutMs: e.REDIS_TIMEOUT_MS,
    trustProxy: e.TRUST_PROXY,
    jwt: {
      clockToleranceSeconds: e.JWT_CLOCK_TOLERANCE_SECONDS,
      issuer: e.JWT_ISSUER,
      audience: e.JWT_AUDIENCE,
      publicKey: e.JWT_PUBLIC_KEY,
      maxLifetimeMinutes: e.JWT_MAX_LIFETIME_MINUTES,
      previousSecretKeys: e.SECRET_KEY_PREVIOUS,
      orgClaim: e.JWT_ORG_CLAIM,
      subClaim: e.JWT_SUB_CLAIM,
      roleClaim: e.JWT_ROLE_CLAIM,
    },
    roles: { defaultRole: e.DEFAULT_ROLE, map: e.ROLE_MAP },
    panelEnabled: e.PANEL_ENABLED ? e.PANEL_ENABLED === "true" : e.NODE_ENV !== "production",
    metrics: { port: e.METRICS_PORT, host: e.METRICS_HOST },
    http: { keepAliveTimeoutMs: e.KEEP_ALIVE_TIMEOUT_MS, requestTimeoutMs: e.REQUEST_TIMEOUT_MS },
    docsEnabled: e.DOCS_ENABLED ? e.DOCS_ENABLED === "true" : e.NODE_ENV !== "production",
    trpcFastPaths: e.TRPC_FAST_PATHS === "true",
    live: {
      eventRetentionHours: e.EVENT_RETENTION_HOURS,
      subscriptionsPerOrg: e.SUBSCRIPTIONS_PER_ORG,
      subscriptionsPerIp: e.SUBSCRIPTIONS_PER_IP,
    },
  };
}

/** Reads `.env` from the working directory (variables already set win), then parses the environment. */
export function loadConfig(envFile = ".env"): Config {
  // Node's own loader (20.12+) instead of dotenv: same format, one dependency fewer. It never
  // overrides a variable that is already set.
  if (existsSync(envFile)) process.loadEnvFile(envFile);
  return parseConfig(process.env);
}
