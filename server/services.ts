import { createTokenVerifier } from "./auth/token.js";
import type { Config } from "./config.js";
import type { Database } from "./db/database.js";
import type { RedisClient } from "./http/rate-limit.js";
import { createResourceServices } from "./kit/registry.js";
import { createChangeHub } from "./kit/live.js";
import { createOrgData } from "./kit/scope.js";
import type { Logger } from "./logger.js";
import { createMetrics } from "./observability/metrics.js";
import { createOrganizationRegistry } from "./organizations.js";
import { appRouter } from "./trpc/router.js";
import type { Services } from "./trpc/context.js";

/** Builds what lives as long as the process; the resources' services see the database only through the org scope. */
export function createServices(config: Config, db: Database, log: Logger, redis?: RedisClient): Services {
  const data = createOrgData(db.prisma);
  // The procedure names are the metrics' label values: an unknown path is counted as "unknown", never as itself.
  const metrics = config.metrics.port > 0 ? createMetrics({ db, procedures: Object.keys(appRouter._def.procedures) }) : undefined;
  const live = createChangeHub({
    db,
    data,
    log,
    limits: { perOrganization: config.live.subscriptionsPerOrg, perIp: config.live.subscriptionsPerIp },
    retentionHours: config.live.eventRetentionHours,
    onOpenChange: metrics?.countOpenSubscription,
  });
  return {
    config,
    db,
    log,
    redis,
    verifyToken: createTokenVerifier({
      secretKey: config.secretKey,
      publicKey: config.jwt.publicKey,
      clockToleranceSeconds: config.jwt.clockToleranceSeconds,
      issuer: config.jwt.issuer,
      audience: config.jwt.audience,
    }),
    resources: createResourceServices(data, { hub: live, retentionHours: config.live.eventRetentionHours }),
    organizations: createOrganizationRegistry(db.prisma),
    metrics,
    live,
  };
}
