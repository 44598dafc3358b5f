/**
 * Tracing switch. OpenTelemetry is loaded (by dynamic import of ./otel.ts) only when an OTLP endpoint is
 * configured; otherwise no `@opentelemetry/*` module is ever loaded, and the hooks below stay empty so
 * the per-request cost is one property check. This file imports nothing of OpenTelemetry.
 */
import type { IncomingMessage } from "node:http";
import type { Logger } from "../logger.js";

/** Where the HTTP instrumentation leaves the trace id on the incoming request, for the request log. */
export const TRACE_ID = Symbol.for("kuark.traceId");

export interface ProcedureResultLike {
  ok: boolean;
  error?: { code: string; message: string } | undefined;
}

export interface TracingHooks {
  /** Set once tracing runs: runs `fn` inside a span named by the procedure path. */
  procedureSpan?: <R extends ProcedureResultLike>(path: string, type: string, fn: () => Promise<R>) => Promise<R>;
  /** Flushes pending spans; called on shutdown. */
  shutdown?: () => Promise<void>;
}

/** Process-wide, as OpenTelemetry's own global provider is. */
export const tracing: TracingHooks = {};

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

export function traceIdOf(req: IncomingMessage): string | undefined {
  return (req as IncomingMessage & { [TRACE_ID]?: string })[TRACE_ID];
}
