/**
 * What the rest of the service sees of tracing: hooks that stay empty until OpenTelemetry runs (./otel.ts
 * fills them, when ./tracing.ts loads it), so with tracing off the per-request cost is one property check.
 * This file imports nothing of OpenTelemetry.
 */
import type { IncomingMessage } from "node:http";

/** Where the HTTP instrumentation leaves the trace id on the incoming request, for the request log. */
export const TRACE_ID = Symbol.for("kuark.traceId");

export interface ProcedureResultLike {
  ok: boolean;
  error?: { code: string; message: string } | undefined;
}

export interface TracingHooks {
  /** Set once tracing runs: runs `fn` inside a span named by the procedure path. */
  procedureSpan?: <R extends ProcedureResultLike>(path: string, type: string, fn: () => Promise<R>) => Promise<R>;
  /** Set once tracing runs: runs `fn` inside a span of one SQL statement, carrying its text (placeholders only). */
  statementSpan?: <R>(text: string, fn: () => Promise<R>) => Promise<R>;
  /** Flushes pending spans; called on shutdown. */
  shutdown?: () => Promise<void>;
}

/** Process-wide, as OpenTelemetry's own global provider is. */
export const tracing: TracingHooks = {};

export function traceIdOf(req: IncomingMessage): string | undefined {
  return (req as IncomingMessage & { [TRACE_ID]?: string })[TRACE_ID];
}
