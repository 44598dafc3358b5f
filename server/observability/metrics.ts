/**
 * Prometheus metrics (prom-client, the de-facto Node.js client; 15.x supports Node 20). Every label
 * is bounded: tRPC procedure paths come from the router (an unknown name is "unknown"), HTTP routes are
 * Express route templates, never a raw URL, an id, an organization or a user.
 *
 * What is measured where:
 * - every HTTP request: `httpMiddleware` (first in the Express app), by method, route and status;
 * - every tRPC procedure call, each call of a batch on its own: the procedure middleware in
 *   server/trpc/init.ts (see ./procedure.ts), by procedure, type and outcome;
 * - tRPC errors by code: the adapter's `onError` (also sees unknown procedures and bad batches);
 * - rate-limit refusals: server/http/rate-limit.ts; where the counters are kept (Redis or the process): read when scraped;
 * - database access outside the organization scope, by reason: server/kit/scope.ts;
 * - the PostgreSQL pool: read when scraped.
 */
import { createServer } from "node:http";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Request, RequestHandler } from "express";
import type { Database } from "../db/database.js";
import type { RateLimitStore } from "../http/redis.js";
import type { Logger } from "../logger.js";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "./prometheus.js";

/** Seconds; from a 1 ms cache hit to the 10 s statement timeout. */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Distinct `route` values kept before the rest are counted as "other": a guard, never reached by design. */
const MAX_ROUTES = 200;

export type ProcedureOutcome = "ok" | "error";

export interface Metrics {
  registry: Registry;
  /** Times every HTTP request; mount it before anything else. */
  httpMiddleware: RequestHandler;
  observeProcedure: (path: string, type: string, outcome: ProcedureOutcome, seconds: number) => void;
  /** A tRPC error by code; `path` is the procedure named in the request, if any. */
  countTrpcError: (path: string | undefined, code: string) => void;
  countRateLimitRefusal: (limit: "ip" | "org") => void;
  /** An onChange stream opened (+1) or ended (-1), told by the change hub (server/kit/change-hub.ts). */
  countOpenSubscription: (delta: 1 | -1) => void;
  /** A use of `withoutOrganizationScope` (server/kit/scope.ts), by its reason: a few fixed texts of the code. */
  countUnscopedAccess: (reason: string) => void;
}

export interface MetricsOptions {
  /** For the pool gauges (PostgreSQL only). */
  db: Pick<Database, "pool">;
  /** Every procedure path of the router (`features.list`, ...): the only values a procedure label takes. */
  procedures: Iterable<string>;
  /** Where the tRPC adapter is mounted. */
  trpcPrefix?: string;
  /** Where the rate-limit counters are kept now (server/http/redis.ts); unset: always the process. */
  rateLimitStore?: (() => RateLimitStore) | undefined;
}

const RATE_LIMIT_STORES: readonly RateLimitStore[] = ["redis", "local"];

export function createMetrics({ db, procedures, trpcPrefix = "/trpc", rateLimitStore = () => "local" }: MetricsOptions): Metrics {
  const registry = new Registry();
  collectDefaultMetrics(registry);
  const registers = [registry];
  const known = new Set(procedures);
  const procedureLabel = (path: string | undefined) => (path === undefined ? "none" : known.has(path) ? path : "unknown");

  const durations = <L extends string>(name: string, help: string, labelNames: L[]) => new Histogram<L>({ name, help, labelNames, buckets: DURATION_BUCKETS, registers });
  const httpDuration = durations(
    "kuark_http_request_duration_seconds",
    "HTTP requests by method, route (tRPC: /trpc/<procedure>, /trpc/(batch) or /trpc/unknown; else the Express route template or 'unmatched') and status ('aborted' when the client went away first).",
    ["method", "route", "status"],
  );
  const procedureDuration = durations(
    "kuark_trpc_procedure_duration_seconds",
    "tRPC procedure calls (each call of a batch counted on its own) by procedure path, type and outcome.",
    ["procedure", "type", "outcome"],
  );
  const trpcErrors = new Counter({
    name: "kuark_trpc_errors_total",
    help: "tRPC errors by procedure path ('unknown' for a name the router lacks, 'none' for request-level errors) and tRPC code.",
    labelNames: ["procedure", "code"],
    registers,
  });
  const unscopedAccess = new Counter({
    name: "kuark_unscoped_db_access_total",
    help: "Uses of the database outside the organization scope (withoutOrganizationScope), by the reason the code gives.",
    labelNames: ["reason"],
    registers,
  });
  const rateLimitRefusals = new Counter({
    name: "kuark_rate_limit_refusals_total",
    help: "Requests refused with 429 by the rate limit that refused them (ip or org).",
    labelNames: ["limit"],
    registers,
  });
  new Gauge({
    name: "kuark_rate_limit_store",
    help: "Where the rate-limit counters are kept now: 1 for the store in use, 0 for the other (redis: shared by every instance; local: this process alone, without REDIS_URL or while Redis does not answer).",
    labelNames: ["store"],
    registers,
    collect() {
      const now = rateLimitStore();
      for (const store of RATE_LIMIT_STORES) this.set({ store }, store === now ? 1 : 0);
    },
  });
  const pool = db.pool;
  if (pool) {
    const poolGauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    poolGauge("kuark_db_pool_connections", "PostgreSQL connections open in the pool (busy and idle).", () => pool.totalCount);
    poolGauge("kuark_db_pool_idle_connections", "PostgreSQL connections open and idle in the pool.", () => pool.idleCount);
    poolGauge("kuark_db_pool_waiting_requests", "Queries waiting for a pool connection (pressure: the pool is exhausted).", () => pool.waitingCount);
  }
  const openSubscriptions = new Gauge({
    name: "kuark_trpc_open_subscriptions",
    help: "onChange subscription streams open on this instance.",
    registers,
  });

  const routes = new Set<string>();
  const boundedRoute = (route: string) => {
    if (routes.has(route)) return route;
    if (routes.size >= MAX_ROUTES) return "other";
    routes.add(route);
    return route;
  };
  const routeOf = (req: Request): string => {
    const url = req.originalUrl;
    const query = url.indexOf("?");
    const path = query === -1 ? url : url.slice(0, query);
    if (path === trpcPrefix || path.startsWith(`${trpcPrefix}/`)) {
      const names = path.slice(trpcPrefix.length + 1);
      if (names.includes(",")) return `${trpcPrefix}/(batch)`;
      return `${trpcPrefix}/${known.has(names) ? names : "unknown"}`;
    }
    // Set by Express when a route matched: the template ("/api/v1/features/:id"), never the URL.
    const template = (req as { route?: { path?: unknown } }).route?.path;
    if (typeof template === "string") return boundedRoute(`${req.baseUrl}${template}`);
    if (Array.isArray(template)) return boundedRoute(`${req.baseUrl}${template.join("|")}`);
    return "unmatched";
  };

  return {
    registry,
    httpMiddleware(req, res, next) {
      const started = process.hrtime.bigint();
      res.once("close", () => {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const status = res.writableFinished ? String(res.statusCode) : "aborted";
        httpDuration.observe({ method: req.method, route: routeOf(req), status }, seconds);
      });
      next();
    },
    observeProcedure(path, type, outcome, seconds) {
      procedureDuration.observe({ procedure: procedureLabel(path), type, outcome }, seconds);
    },
    countTrpcError(path, code) {
      trpcErrors.inc({ procedure: procedureLabel(path), code });
    },
    countRateLimitRefusal(limit) {
      rateLimitRefusals.inc({ limit });
    },
    countOpenSubscription(delta) {
      openSubscriptions.inc(delta);
    },
    countUnscopedAccess(reason) {
      unscopedAccess.inc({ reason: reason.slice(0, 200) });
    },
  };
}

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` on a listener of its own (`METRICS_PORT`, `METRICS_HOST`), never on the public
 * port: only the scraper should reach it. Anything else is 404.
 */
export async function startMetricsServer(metrics: Metrics, options: { port: number; host?: string | undefined }, log?: Logger): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    if (req.method !== "GET" || req.url?.split("?")[0] !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end("Not found\n");
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { "content-type": metrics.registry.contentType }).end(text),
      (error: unknown) => {
        log?.error({ err: error }, "metrics: collection failed");
        res.writeHead(500).end();
      },
    );
  });
  server.listen(options.port, options.host ?? "::");
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://localhost:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
