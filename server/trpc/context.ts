import type { TokenVerifier } from "../auth/token.js";
import type { Config } from "../config.js";
import type { Me } from "../contract/index.js";
import type { RedisClient } from "../http/rate-limit.js";
import type { Database } from "../db/database.js";
import type { FeatureService } from "../features/feature.service.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "../observability/metrics.js";
import type { OrganizationRegistry } from "../organizations.js";

/** What lives as long as the process: built once in `createServices`, shared by every request. */
export interface Services {
  config: Config;
  verifyToken: TokenVerifier;
  /** Shared rate-limit counters when REDIS_URL is set. */
  redis?: RedisClient | undefined;
  db: Database;
  log: Logger;
  features: FeatureService;
  organizations: OrganizationRegistry;
  /** Prometheus metrics; undefined when METRICS_PORT is 0. */
  metrics?: Metrics | undefined;
}

/** Per request: the services plus what the request carries. */
export interface Context extends Services {
  requestId: string;
  /** The caller of this request's `Authorization` header (see `headerAuthenticator`); only `orgProcedure` asks. */
  authenticate: () => Me;
}
