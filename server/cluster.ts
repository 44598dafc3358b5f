/**
 * WEB_CONCURRENCY=n: n worker processes share PORT (node:cluster; on Linux the supervising process accepts
 * connections and hands them to the workers in turn). Each worker is a full instance of `main.ts`: its own
 * database pool, LISTEN connection, Redis client and metrics, so n workers on one machine behave as n
 * instances behind a load balancer (and need PostgreSQL: processes cannot share one PGlite directory).
 *
 * Metrics are per worker: worker i serves them on METRICS_PORT + i (scrape each; a shared port would answer
 * from whichever worker took the connection, and an aggregating registry would need prom-client's entry
 * point, which loads OpenTelemetry: see observability/prometheus.ts).
 *
 * The supervisor serves nothing itself. A worker that fails before it listens fails the whole start (a
 * port in use, a database that refuses: n copies of the same error would follow); one that dies later is
 * replaced. SIGTERM or SIGINT is passed to every worker, each drains and stops as a single process does,
 * and the supervisor exits once all have: 0 if every worker stopped cleanly.
 */
import cluster from "node:cluster";
import type { Worker } from "node:cluster";
import type { Config } from "./config.js";
import type { Logger } from "./logger.js";

/** The environment variable that tells a worker its index (0 to n-1). */
const WORKER_INDEX = "KUARK_WORKER_INDEX";

/** The message a worker sends once it listens. */
export const LISTENING_MESSAGE = "kuark:listening";

/** This worker's index, or undefined in a process that is not a worker. */
export function workerIndex(): number | undefined {
  return cluster.isWorker ? Number(process.env[WORKER_INDEX] ?? 0) : undefined;
}

/** The metrics listener of this process: METRICS_PORT + its worker index (0 stays 0: no metrics). */
export function workerMetrics(metrics: Config["metrics"]): Config["metrics"] {
  const index = workerIndex();
  return index === undefined || metrics.port === 0 ? metrics : { ...metrics, port: metrics.port + index };
}

/** Tells the supervisor, when there is one, that this worker serves. */
export function reportListening(): void {
  if (cluster.isWorker) process.send?.(LISTENING_MESSAGE);
}

/** Whether this process is to supervise workers instead of serving. */
export const supervises = (config: Pick<Config, "webConcurrency">): boolean => config.webConcurrency > 1 && cluster.isPrimary;

/** How long a replaced worker's slot waits before its new worker starts (a crash loop stays slow). */
const RESTART_DELAY_MS = 1_000;

/** Forks the workers and supervises them until a signal stops them all; the process exits from here. */
export function superviseWorkers(config: Pick<Config, "webConcurrency" | "shutdownDrainMs" | "shutdownTimeoutMs">, log: Logger): Promise<never> {
  const workers = new Map<number, Worker>();
  const listening = new Set<number>();
  let stopping = false;
  let failed = false;

  const fork = (index: number): void => {
    const worker = cluster.fork({ [WORKER_INDEX]: String(index) });
    workers.set(index, worker);
    worker.on("message", (message: unknown) => {
      if (message !== LISTENING_MESSAGE) return;
      listening.add(index);
      if (listening.size === config.webConcurrency) log.info({ workers: config.webConcurrency }, `${config.webConcurrency} workers listening`);
    });
    worker.once("exit", (code, signal) => {
      workers.delete(index);
      if (stopping) {
        if (code !== 0) failed = true;
        if (workers.size === 0) process.exit(failed ? 1 : 0);
        return;
      }
      if (!listening.has(index)) {
        // It never served: the next one would fail the same way.
        log.fatal({ worker: index, code, signal }, "a worker failed to start; stopping");
        stop("start failure", true);
        return;
      }
      listening.delete(index);
      log.error({ worker: index, code, signal }, `worker ${index} exited; starting another`);
      setTimeout(() => {
        if (!stopping) fork(index);
      }, RESTART_DELAY_MS).unref();
    });
  };

  const stop = (reason: string, failure = false): void => {
    if (stopping) return;
    stopping = true;
    failed ||= failure;
    log.info({ reason, workers: workers.size }, "stopping the workers");
    if (workers.size === 0) process.exit(failed ? 1 : 0);
    for (const worker of workers.values()) worker.process.kill("SIGTERM");
    // Each worker has its own deadline (drain + timeout); this one only catches a worker that hangs past it.
    setTimeout(() => {
      log.error({ workers: [...workers.keys()] }, "workers did not stop in time; exiting");
      for (const worker of workers.values()) worker.process.kill("SIGKILL");
      process.exit(1);
    }, config.shutdownDrainMs + config.shutdownTimeoutMs + 5_000).unref();
  };

  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  for (let index = 0; index < config.webConcurrency; index++) fork(index);
  return new Promise<never>(() => {});
}
