/**
 * The app's dependencies: what lives as long as the process, built once here and shared by every
 * request. The resources' services see the database only through the organization scope.
 */
import { createApiKeyVerifier, withApiKeys } from "./auth/api-keys.js";
import { createPublishedKeys } from "./auth/jwks.js";
import { createTokenVerifier } from "./auth/token.js";
import type { TokenVerifier } from "./auth/token.js";
import type { Config } from "./config.js";
import type { Database } from "./db/database.js";
import { rateLimitStoreOf } from "./http/redis.js";
import type { RedisConnection } from "./http/redis.js";
import { createChangeHub } from "./kit/change-hub.js";
import type { ChangeHub } from "./kit/change-hub.js";
import { DEFAULT_IDEMPOTENCY } from "./kit/idempotency.js";
import { createOrgData } from "./kit/scope.js";
import { createResourceServices } from "./kit/service.js";
import type { ResourceServices } from "./kit/service.js";
import type { Logger } from "./logger.js";
import { createMetrics } from "./observability/metrics.js";
import type { Metrics } from "./observability/metrics.js";
import { createOrganizations } from "./organizations.js";
import type { Organizations } from "./organizations.js";
import { API_KEYS, createApiKeyService } from "./resources/apiKeys/service.js";
import type { ApiKeyService } from "./resources/apiKeys/service.js";
import { definitions } from "./resources/definitions.js";
import type { Definitions } from "./resources/definitions.js";

export interface AppDependencies {
  config: Config;
  verifyToken: TokenVerifier;
  /** Shared rate-limit counters when REDIS_URL is set (counted in the process while Redis is away). */
  redis?: RedisConnection | undefined;
  /** For the process (readiness, shutdown); resolvers never see it, only the services below. */
  db: Database;
  log: Logger;
  /** One org-scoped service per registered resource (`resourceServices.features`). */
  resourceServices: ResourceServices<Definitions>;
  organizations: Organizations;
  /** The organization's API keys (a built-in beside the resources); undefined unless API_KEYS_ENABLED. */
  apiKeys?: ApiKeyService | undefined;
  /** Prometheus metrics; undefined when METRICS_PORT is 0. */
  metrics?: Metrics | undefined;
  /** Live changes: the process's LISTEN connection and its subscribers (started by main.ts, closed on shutdown). */
  changeHub: ChangeHub;
}

export interface DependencyOptions {
  redis?: RedisConnection | undefined;
  /** The tRPC procedures' full paths, the metrics' label values (an unknown path is counted as "unknown", never as itself). */
  procedurePaths?: Iterable<string> | undefined;
  /** The least time between two fetches of JWT_JWKS_URL for unknown `kid`s; unset: 30 s (tests shorten it). */
  jwksRefetchWindowMs?: number | undefined;
  /** The clock idempotency keys of creates are stamped and expired by (tests move it); left out: the process's. */
  now?: (() => Date) | undefined;
}

export function createDependencies(config: Config, db: Database, log: Logger, options: DependencyOptions = {}): AppDependencies {
  const metrics = config.metrics.port > 0 ? createMetrics({ db, procedures: options.procedurePaths ?? [], rateLimitStore: () => rateLimitStoreOf(options.redis) }) : undefined;
  const data = createOrgData(db, {
    onUnscopedAccess(reason) {
      log.debug({ reason }, "database access outside the organization scope");
      metrics?.countUnscopedAccess(reason);
    },
  });
  const changeHub = createChangeHub({
    db,
    data,
    log,
    limits: { perOrganization: config.live.subscriptionsPerOrg, perIp: config.live.subscriptionsPerIp },
    retentionHours: config.live.eventRetentionHours,
    onOpenChange: metrics?.countOpenSubscription,
  });
  const publishedKeys = config.jwt.jwks && createPublishedKeys({ ...config.jwt.jwks, refetchWindowMs: options.jwksRefetchWindowMs, log });
  const verifyJwt = createTokenVerifier({
    secretKey: config.secretKey,
    publicKey: config.jwt.publicKey,
    resolveKey: publishedKeys?.resolveKey,
    clockToleranceSeconds: config.jwt.clockToleranceSeconds,
    issuer: config.jwt.issuer,
    audience: config.jwt.audience,
    previousSecretKeys: config.jwt.previousSecretKeys,
    maxLifetimeMinutes: config.jwt.maxLifetimeMinutes,
    claims: { organization: config.jwt.orgClaim, sub: config.jwt.subClaim, role: config.jwt.roleClaim },
    roles: config.roles,
  });
  // API keys (`kuark_...`) are looked up and cached; a JWT is verified as before, at once.
  const apiKeyVerifier = config.apiKeysEnabled ? createApiKeyVerifier({ data, log }) : undefined;
  if (apiKeyVerifier) {
    changeHub.watch(API_KEYS, { onChange: (organizationId) => apiKeyVerifier.forget(organizationId), onResync: () => apiKeyVerifier.forgetAll() });
  }
  return {
    config,
    db,
    log,
    redis: options.redis,
    verifyToken: apiKeyVerifier ? withApiKeys(verifyJwt, apiKeyVerifier) : verifyJwt,
    apiKeys: apiKeyVerifier && createApiKeyService(data, { onRevoked: (organizationId) => apiKeyVerifier.forget(organizationId) }),
    resourceServices: createResourceServices(
      definitions,
      data,
      { hub: changeHub, retentionHours: config.live.eventRetentionHours },
      { idempotency: { ...DEFAULT_IDEMPOTENCY, ...(options.now && { now: options.now }) } },
    ),
    organizations: createOrganizations(db.prisma),
    metrics,
    changeHub,
  };
}
