/** What a tRPC resolver sees: built per request by `createContext` from the app's dependencies. */
import type { Authenticate } from "../auth/authenticator.js";
import type { Config } from "../config.js";
import type { AnyResourceServices } from "../kit/service.js";
import type { ApiKeyService } from "../resources/apiKeys/service.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "../observability/metrics.js";
import type { Organizations } from "../organizations.js";

/** What a context is made from: the part of the app's dependencies (`AppDependencies`) resolvers may use. */
export interface ContextDependencies {
  config: Config;
  log: Logger;
  resourceServices: AnyResourceServices;
  organizations: Organizations;
  apiKeys?: ApiKeyService | undefined;
  metrics?: Metrics | undefined;
}

/** Per request: what resolvers see (services, never the raw database) plus what the request carries. */
export interface Context {
  config: Config;
  /** The request's logger; inside `orgProcedure` it is bound to organizationId, sub and the procedure path. */
  log: Logger;
  /** One org-scoped service per registered resource, by key (`resourceServices.features`). */
  resourceServices: AnyResourceServices;
  organizations: Organizations;
  /** The API keys service; undefined unless API_KEYS_ENABLED. */
  apiKeys?: ApiKeyService | undefined;
  /** Per-procedure timings (undefined when METRICS_PORT is 0). */
  metrics?: Metrics | undefined;
  requestId: string;
  /** The request's caller and its token's expiry (server/auth/authenticator.ts); only `orgProcedure` asks. */
  authenticate: Authenticate;
  /** The client's address (behind TRUST_PROXY), for the open-subscriptions limit. */
  ip: string | undefined;
}

/** The one way a context is made: by the HTTP layer for each request, and by tests for `createCaller`. */
export function createContext(
  dependencies: ContextDependencies,
  request: { requestId: string; authenticate: Authenticate; log?: Logger; ip?: string | undefined },
): Context {
  return {
    config: dependencies.config,
    log: request.log ?? dependencies.log,
    resourceServices: dependencies.resourceServices,
    organizations: dependencies.organizations,
    apiKeys: dependencies.apiKeys,
    metrics: dependencies.metrics,
    requestId: request.requestId,
    authenticate: request.authenticate,
    ip: request.ip,
  };
}
