/**
 * prom-client, loaded without `@opentelemetry/api`.
 *
 * prom-client's entry point loads every default metric, and its process-CPU metric `require`s
 * `@opentelemetry/api` at load time (for exemplars, which we do not use). With tracing off the service
 * must load no OpenTelemetry package at all (tests/service/tracing.test.ts checks), so this module takes
 * prom-client's classes and default metrics from their own files and measures process CPU itself, under
 * the same metric names. prom-client is pinned to an exact version in package.json for this reason;
 * the metrics test fails if a new version moves these files.
 * @see https://github.com/siimon/prom-client/blob/v15.1.3/lib/metrics/processCpuTotal.js
 */
import { createRequire } from "node:module";
import type * as PromClient from "prom-client";

const require = createRequire(import.meta.url);

export const Registry = require("prom-client/lib/registry") as typeof PromClient.Registry;
export const Counter = require("prom-client/lib/counter") as typeof PromClient.Counter;
export const Gauge = require("prom-client/lib/gauge") as typeof PromClient.Gauge;
export const Histogram = require("prom-client/lib/histogram") as typeof PromClient.Histogram;
export type Registry = PromClient.Registry;

type DefaultMetric = (registry: PromClient.Registry, config: object) => void;

/** prom-client's default metrics but process CPU, in the order `collectDefaultMetrics` registers them. */
const DEFAULT_METRICS = [
  "processStartTime",
  "osMemoryHeap",
  "processOpenFileDescriptors",
  "processMaxFileDescriptors",
  "eventLoopLag",
  "processResources",
  "processHandles",
  "processRequests",
  "heapSizeAndUsed",
  "heapSpacesSizeAndUsed",
  "version",
  "gc",
];

/** `collectDefaultMetrics({ register: registry })`, process CPU included, without OpenTelemetry. */
export function collectDefaultMetrics(registry: PromClient.Registry): void {
  processCpu(registry);
  for (const name of DEFAULT_METRICS) {
    (require(`prom-client/lib/metrics/${name}`) as DefaultMetric)(registry, { eventLoopMonitoringPrecision: 10 });
  }
}

/** process_cpu_{user,system}_seconds_total and process_cpu_seconds_total, as prom-client reports them. */
function processCpu(registry: PromClient.Registry): void {
  let last = process.cpuUsage();
  const registers = [registry];
  const system = new Counter({ name: "process_cpu_system_seconds_total", help: "Total system CPU time spent in seconds.", registers });
  const total = new Counter({ name: "process_cpu_seconds_total", help: "Total user and system CPU time spent in seconds.", registers });
  const user: PromClient.Counter = new Counter({
    name: "process_cpu_user_seconds_total",
    help: "Total user CPU time spent in seconds.",
    registers,
    // One collect sets all three, as prom-client does.
    collect() {
      const now = process.cpuUsage();
      const userSeconds = (now.user - last.user) / 1e6;
      const systemSeconds = (now.system - last.system) / 1e6;
      last = now;
      user.inc(userSeconds);
      system.inc(systemSeconds);
      total.inc(userSeconds + systemSeconds);
    },
  });
}
