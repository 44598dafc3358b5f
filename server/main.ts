/** Process entry: config -> database -> HTTP server -> graceful shutdown. */
import type { AddressInfo } from "node:net";
import { createApp } from "./app.js";
import type { AppState } from "./app.js";
import { reportListening, superviseWorkers, supervises, workerIndex, workerMetrics } from "./cluster.js";
import { ConfigError, loadConfig } from "./config.js";
import type { Config } from "./config.js";
import { openDatabase } from "./db/database.js";
import { createDependencies } from "./dependencies.js";
import { connectRedis } from "./http/redis.js";
import { createHttpServer } from "./http/server-timeouts.js";
import { startMetricsServer } from "./observability/metrics.js";
import { tracing } from "./observability/trace-hooks.js";
import { startTracing } from "./observability/tracing.js";
import { createLogger } from "./logger.js";
import { procedurePaths } from "./trpc/app-router.js";

let config: Config;
try {
  config = loadConfig();
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
}

const log = createLogger(config);
// With published keys (JWT_JWKS_URL) no token is verified with SECRET_KEY: nothing to warn about.
if (config.usingDevSecret && !config.jwt.jwks && workerIndex() === undefined) {
  log.warn("SECRET_KEY is not set: using the built-in DEVELOPMENT key. Anyone can forge tokens. Never run like this in production.");
}

// WEB_CONCURRENCY above 1: this process forks the workers (each runs this file as an instance) and serves nothing.
if (supervises(config)) await superviseWorkers(config, log);

// Before the server exists: OpenTelemetry (only when configured) patches http for it.
await startTracing(process.env, log);
const db = await openDatabase(config, log);
// Waits about a second at most: without an answer the service starts counting locally and uses Redis when it comes.
const redis = config.redisUrl ? await connectRedis(config.redisUrl, log, { timeoutMs: config.redisTimeoutMs }) : undefined;
const state: AppState = { draining: false };
const deps = createDependencies(config, db, log, { redis, procedurePaths });
// Live changes: one LISTEN connection for this process (it reconnects by itself).
await deps.changeHub.start();
const app = createApp(deps, state);

/** What to do about a port that cannot be listened on, naming the variable that moves it. */
function listenFailure(error: NodeJS.ErrnoException, what: string, variable: string, port: number): string {
  if (error.code === "EADDRINUSE") {
    const off = variable === "METRICS_PORT" ? ", or METRICS_PORT=0 to serve no metrics" : "";
    return `cannot listen for ${what}: port ${port} is in use (another instance on this machine?); set ${variable} to a free port${off}`;
  }
  if (error.code === "EACCES") return `cannot listen for ${what}: no permission for port ${port}; set ${variable} to a port above 1023`;
  return `cannot listen for ${what} on port ${port}`;
}

// Metrics on their own listener, never the public port; it fails the start like the main listener.
// A worker of WEB_CONCURRENCY serves its own on METRICS_PORT + its index.
const metricsConfig = workerMetrics(config.metrics);
const metricsServer = deps.metrics
  ? await startMetricsServer(deps.metrics, metricsConfig, log).catch((error: NodeJS.ErrnoException) => {
      log.fatal({ err: error }, listenFailure(error, "metrics", "METRICS_PORT", metricsConfig.port));
      process.exit(1);
    })
  : undefined;
if (metricsServer) log.info({ port: new URL(metricsServer.url).port }, `metrics on ${metricsServer.url}`);
const server = createHttpServer(app, config).listen(config.port, config.host ?? "::");
await new Promise<void>((resolve, reject) => {
  server.once("listening", resolve);
  server.once("error", reject);
}).catch((error: NodeJS.ErrnoException) => {
  log.fatal({ err: error }, listenFailure(error, "HTTP", "PORT", config.port));
  process.exit(1);
});
const { port } = server.address() as AddressInfo;
log.info(
  { port, database: db.kind === "embedded" ? `embedded (${config.pgliteDataDir})` : "postgres", ...(workerIndex() !== undefined && { worker: workerIndex() }) },
  `listening on http://localhost:${port}`,
);
reportListening();

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  state.draining = true;
  log.info({ signal, drainMs: config.shutdownDrainMs }, "shutting down: readiness is 503, finishing in-flight requests");
  const force = setTimeout(() => {
    log.error("in-flight requests did not finish in time; exiting");
    process.exit(1);
  }, config.shutdownDrainMs + config.shutdownTimeoutMs);
  force.unref();
  // Subscription streams end now (SERVICE_UNAVAILABLE, which tRPC clients retry: they reconnect, to another
  // instance once readiness fails, and resume from their last event); new ones are refused the same way.
  await deps.changeHub.close();
  // Load balancers see readiness fail and stop routing here before the listener closes.
  if (config.shutdownDrainMs > 0) await new Promise((resolve) => setTimeout(resolve, config.shutdownDrainMs));
  // Stop accepting; idle keep-alive sockets are closed now, busy ones after their response.
  server.close();
  server.closeIdleConnections();
  await new Promise<void>((resolve) => server.once("close", () => resolve()));
  await db.close();
  await redis?.quit(); // bounded: a frozen Redis does not hold the exit
  await metricsServer?.close();
  await tracing.shutdown?.().catch((error: unknown) => log.warn({ err: error }, "tracing: spans not flushed"));
  log.info("stopped");
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
