/**
 * Tracing switch. OpenTelemetry is loaded (by dynamic import of ./otel.ts) only when an OTLP endpoint is
 * configured; otherwise no `@opentelemetry/*` module is ever loaded, and the hooks of ./trace-hooks.ts
 * stay empty. This file imports nothing of OpenTelemetry.
 */
import type { Logger } from "../logger.js";
import { tracing } from "./trace-hooks.js";

/** The standard variables: an OTLP endpoint (all signals or traces only), and not disabled. */
export function tracingConfigured(env: NodeJS.ProcessEnv): boolean {
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  return Boolean(endpoint) && env.OTEL_SDK_DISABLED !== "true" && env.OTEL_TRACES_EXPORTER !== "none";
}

/** Starts OpenTelemetry when configured; call it before the HTTP server is created. */
export async function startTracing(env: NodeJS.ProcessEnv, log: Logger): Promise<boolean> {
  if (!tracingConfigured(env)) return false;
  const { startOpenTelemetry } = await import("./otel.js");
  startOpenTelemetry(tracing, env, log);
  return true;
}
