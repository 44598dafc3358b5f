import type { TokenVerifier } from "../auth/token.js";
import type { Config } from "../config.js";
import type { Me } from "../contract/index.js";
import type { RedisClient } from "../http/rate-limit.js";
import type { Database } from "../db/database.js";
import type { ChangeHub } from "../kit/live.js";
import type { ResourceServices } from "../kit/registry.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "../observability/metrics.js";
import type { OrganizationRegistry } from "../organizations.js";

/** What lives as long as the process: built once in `createServices`, shared by every request. */
export interface Services {
  config: Config;
  verifyToken: TokenVerifier;
  /** Shared rate-limit counters when REDIS_URL is set. */
  redis?: RedisClient | undefined;
  /** For the process (readiness, shutdown); resolvers never see it, only the services below. */
  db: Database;
  log: Logger;
  /** One org-scoped service per registered resource (`resources.features`). */
  resources: ResourceServices;
  organizations: OrganizationRegistry;
  /** Prometheus metrics; undefined when METRICS_PORT is 0. */
  metrics?: Metrics | undefined;
  /** Live changes: the process's LISTEN connection and its subscribers (started by main.ts, closed on shutdown). */
  live: ChangeHub;
}

/** Per request: what resolvers see (services, never the raw database) plus what the request carries. */
export interface Context {
  config: Config;
  /** The request's logger; inside `orgProcedure` it is bound to organizationId, sub and the procedure path. */
  log: Logger;
  resources: ResourceServices;
  organizations: OrganizationRegistry;
  /** Per-procedure timings (undefined when METRICS_PORT is 0). */
  metrics?: Metrics | undefined;
  requestId: string;
  /** The caller of this request's `Authorization` header (see `headerAuthenticator`); only `orgProcedure` asks. */
  authenticate: () => Me;
  /** When the request's token expires (ms since the epoch); a subscription ends then. */
  credentialsExpireAt: () => number | undefined;
  /** The client's address (behind TRUST_PROXY), for the open-subscriptions limit. */
  ip: string | undefined;
}

/** The one way a context is made: by the HTTP layer for each request, and by tests for `createCaller`. */
export function createContext(
  services: Services,
  request: { requestId: string; authenticate: () => Me; log?: Logger; credentialsExpireAt?: () => number | undefined; ip?: string | undefined },
): Context {
  return {
    config: services.config,
    log: request.log ?? services.log,
    resources: services.resources,
    organizations: services.organizations,
    metrics: services.metrics,
    requestId: request.requestId,
    authenticate: request.authenticate,
    credentialsExpireAt: request.credentialsExpireAt ?? (() => undefined),
    ip: request.ip,
  };
}
