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

/** HEADERS_TIMEOUT_MS's default is this much above KEEP_ALIVE_TIMEOUT_MS (see server/http/server-timeouts.ts). */
export const HEADERS_TIMEOUT_MARGIN_MS = 10_000;

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

const PostgresUrl = z.url({ protocol: /^postgres(ql)?$/, error: "must be a postgres:// or postgresql:// URL" }).optional();

const LogLevel = z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);

const EnvSchema = z
  .object({
    NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    HOST: z.string().min(1).optional(),
    DATABASE_URL: PostgresUrl,
    /** PostgreSQL itself when DATABASE_URL is a transaction pooler (PgBouncer): LISTEN and migrations need a session of their own. */
    DATABASE_DIRECT_URL: PostgresUrl,
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
    /** Worker processes sharing PORT (node:cluster), each a full instance; 1: this process serves alone. */
    WEB_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(1),
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
    /** An identity provider's published keys (server/auth/jwks.ts): tokens are then RS256 or ES256 with a `kid` among them. */
    JWT_JWKS_URL: z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL (https://<tenant>/.well-known/jwks.json)" }).optional(),
    /** How long one fetch of JWT_JWKS_URL may take; a token waiting for it is refused (401) after that. */
    JWT_JWKS_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
    /** Unset: the developer panel at /panel is on everywhere but in production. */
    PANEL_ENABLED: z.enum(["true", "false"], { error: 'must be "true" or "false"' }).optional(),
    /** Prometheus metrics on a listener of their own; 0 turns metrics off entirely. */
    METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
    METRICS_HOST: z.string().min(1).optional(),
    /** Above the 60 s idle timeout of common load balancers, so the balancer closes idle connections first. */
    KEEP_ALIVE_TIMEOUT_MS: z.coerce.number().int().min(1).default(65_000),
    /** How long a request's headers may take to arrive; unset: KEEP_ALIVE_TIMEOUT_MS + 10 s. Above KEEP_ALIVE_TIMEOUT_MS. */
    HEADERS_TIMEOUT_MS: z.coerce.number().int().min(1).optional(),
    /** How long a request's whole body may take to arrive (a long response, such as a subscription, is not limited); 0 for none. */
    REQUEST_TIMEOUT_MS: z.coerce.number().int().min(0).default(30_000),
    /** Open connections per process; beyond it new connections are refused. 0 for no limit. */
    MAX_CONNECTIONS: z.coerce.number().int().min(0).default(10_000),
    /** Unset: the OpenAPI document (/api/v1/openapi.json) and /docs are on everywhere but in production. */
    DOCS_ENABLED: z.enum(["true", "false"], { error: 'must be "true" or "false"' }).optional(),
    /** How long change events are kept: history reaches this far back, and so does an onChange resume. */
    EVENT_RETENTION_HOURS: z.coerce.number().positive().default(168),
    /** Open onChange subscriptions per organization and per client IP, on each instance; 0 for no limit. */
    SUBSCRIPTIONS_PER_ORG: z.coerce.number().int().min(0).default(1_000),
    SUBSCRIPTIONS_PER_IP: z.coerce.number().int().min(0).default(100),
    /** "true": API keys (`apiKeys`, /api/v1/api-keys, `kuark_...` credentials) are served; off unless turned on (docs/credentials.md). */
    API_KEYS_ENABLED: z.enum(["true", "false"], { error: 'must be "true" or "false"' }).default("false"),
    /** "false": every /trpc request goes through tRPC's Express adapter (no fast path of server/trpc/fast-path/). */
    TRPC_FAST_PATHS: z.enum(["true", "false"], { error: 'must be "true" or "false"' }).default("true"),
  })
  .superRefine((env, ctx) => {
    if (env.NODE_ENV === "production" && !env.SECRET_KEY && !env.JWT_PUBLIC_KEY && !env.JWT_JWKS_URL) {
      ctx.addIssue({ code: "custom", path: ["SECRET_KEY"], message: "is required when NODE_ENV=production (or JWT_PUBLIC_KEY for RS256, or JWT_JWKS_URL)" });
    }
    if (env.JWT_JWKS_URL !== undefined) {
      // Any token signed by a key the provider publishes verifies: only iss and aud say it was issued for this service.
      for (const name of ["JWT_ISSUER", "JWT_AUDIENCE"] as const) {
        if (env[name] === undefined) ctx.addIssue({ code: "custom", path: [name], message: "is required when JWT_JWKS_URL is set (the provider's tokens must be for this service)" });
      }
      if (env.JWT_PUBLIC_KEY !== undefined) {
        ctx.addIssue({ code: "custom", path: ["JWT_JWKS_URL"], message: "cannot be set together with JWT_PUBLIC_KEY: choose one source of keys" });
      }
      if (env.NODE_ENV === "production" && new URL(env.JWT_JWKS_URL).protocol !== "https:") {
        ctx.addIssue({ code: "custom", path: ["JWT_JWKS_URL"], message: "must be https:// when NODE_ENV=production (keys fetched in the clear could be replaced)" });
      }
    }
    if (env.NODE_ENV === "production" && env.SECRET_KEY === DEV_SECRET_KEY) {
      ctx.addIssue({ code: "custom", path: ["SECRET_KEY"], message: "must not be the development key in production" });
    } else if (env.NODE_ENV === "production" && env.SECRET_KEY !== undefined && env.SECRET_KEY.length < 32) {
      ctx.addIssue({ code: "custom", path: ["SECRET_KEY"], message: "must be at least 32 characters when NODE_ENV=production" });
    }
    if (env.ACCESS_TOKEN_EXPIRE_MINUTES > env.JWT_MAX_LIFETIME_MINUTES) {
      ctx.addIssue({ code: "custom", path: ["ACCESS_TOKEN_EXPIRE_MINUTES"], message: `must be at most JWT_MAX_LIFETIME_MINUTES (${env.JWT_MAX_LIFETIME_MINUTES}): longer tokens are refused` });
    }
    if (env.HEADERS_TIMEOUT_MS !== undefined && env.HEADERS_TIMEOUT_MS <= env.KEEP_ALIVE_TIMEOUT_MS) {
      ctx.addIssue({ code: "custom", path: ["HEADERS_TIMEOUT_MS"], message: `must be above KEEP_ALIVE_TIMEOUT_MS (${env.KEEP_ALIVE_TIMEOUT_MS}): a reused connection's next request may take that long to start` });
    }
    if (env.WEB_CONCURRENCY > 1 && !env.DATABASE_URL) {
      ctx.addIssue({ code: "custom", path: ["WEB_CONCURRENCY"], message: "above 1 needs DATABASE_URL: processes cannot share one embedded PGlite directory" });
    }
    if (env.WEB_CONCURRENCY > 1 && env.METRICS_PORT !== 0 && env.PORT >= env.METRICS_PORT && env.PORT < env.METRICS_PORT + env.WEB_CONCURRENCY) {
      ctx.addIssue({ code: "custom", path: ["METRICS_PORT"], message: `worker metrics take METRICS_PORT to METRICS_PORT + ${env.WEB_CONCURRENCY - 1}: PORT must be outside them` });
    }
    if (env.DATABASE_DIRECT_URL && !env.DATABASE_URL) {
      ctx.addIssue({ code: "custom", path: ["DATABASE_DIRECT_URL"], message: "needs DATABASE_URL: it is PostgreSQL itself behind DATABASE_URL's pooler" });
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
  /**
   * PostgreSQL itself, for what a transaction pooler cannot carry (LISTEN, migrations); unset: DATABASE_URL.
   * Set and different from DATABASE_URL: DATABASE_URL is taken for a transaction pooler (server/db/pooler.ts).
   */
  databaseDirectUrl: string | undefined;
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
  /** Worker processes (WEB_CONCURRENCY); above 1 the first process supervises them (server/cluster.ts). */
  webConcurrency: number;
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
    /** Set: tokens are RS256 or ES256, verified with the provider's published keys (never with publicKey or an HS256 key). */
    jwks: { url: string; timeoutMs: number } | undefined;
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
    /** How long a request's headers may take to arrive (counted from its first byte). */
    headersTimeoutMs: number;
    /** How long a request's body may take to arrive once its headers have; 0 for no limit. */
    requestTimeoutMs: number;
    /** Open connections per process (beyond it, new ones are refused); 0 for no limit. */
    maxConnections: number;
  };
  /** The REST API's OpenAPI document and its interactive reference at /docs (server/rest). */
  docsEnabled: boolean;
  /** API keys: the `apiKeys` procedures, their REST routes and `kuark_...` credentials (server/auth/api-keys.ts). */
  apiKeysEnabled: boolean;
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
    databaseDirectUrl: e.DATABASE_DIRECT_URL ?? e.DATABASE_URL,
    databasePoolSize: e.DATABASE_POOL_SIZE,
    pgliteDataDir: e.PGLITE_DATA_DIR,
    secretKey: e.SECRET_KEY ?? DEV_SECRET_KEY,
    usingDevSecret: !e.SECRET_KEY,
    accessTokenExpireMinutes: e.ACCESS_TOKEN_EXPIRE_MINUTES,
    allowedOrigins: e.ALLOWED_ORIGINS,
    logLevel: e.LOG_LEVEL,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    shutdownDrainMs: e.SHUTDOWN_DRAIN_MS,
    webConcurrency: e.WEB_CONCURRENCY,
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
      jwks: e.JWT_JWKS_URL === undefined ? undefined : { url: e.JWT_JWKS_URL, timeoutMs: e.JWT_JWKS_TIMEOUT_MS },
      maxLifetimeMinutes: e.JWT_MAX_LIFETIME_MINUTES,
      previousSecretKeys: e.SECRET_KEY_PREVIOUS,
      orgClaim: e.JWT_ORG_CLAIM,
      subClaim: e.JWT_SUB_CLAIM,
      roleClaim: e.JWT_ROLE_CLAIM,
    },
    roles: { defaultRole: e.DEFAULT_ROLE, map: e.ROLE_MAP },
    panelEnabled: e.PANEL_ENABLED ? e.PANEL_ENABLED === "true" : e.NODE_ENV !== "production",
    metrics: { port: e.METRICS_PORT, host: e.METRICS_HOST },
    http: {
      keepAliveTimeoutMs: e.KEEP_ALIVE_TIMEOUT_MS,
      headersTimeoutMs: e.HEADERS_TIMEOUT_MS ?? e.KEEP_ALIVE_TIMEOUT_MS + HEADERS_TIMEOUT_MARGIN_MS,
      requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
      maxConnections: e.MAX_CONNECTIONS,
    },
    docsEnabled: e.DOCS_ENABLED ? e.DOCS_ENABLED === "true" : e.NODE_ENV !== "production",
    trpcFastPaths: e.TRPC_FAST_PATHS === "true",
    apiKeysEnabled: e.API_KEYS_ENABLED === "true",
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
