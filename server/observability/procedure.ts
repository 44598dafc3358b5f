/**
 * What the tRPC procedure middleware (server/trpc/init.ts) does around every call: a span when tracing
 * is on, and the duration and outcome histogram when metrics are on. Neither on: just `next()`.
 */
import type { Metrics } from "./metrics.js";
import { tracing } from "./trace-hooks.js";
import type { ProcedureResultLike } from "./trace-hooks.js";

export async function observeProcedure<R extends ProcedureResultLike>(
  metrics: Metrics | undefined,
  path: string,
  type: string,
  next: () => Promise<R>,
): Promise<R> {
  const run = tracing.procedureSpan ? () => tracing.procedureSpan!(path, type, next) : next;
  if (!metrics) return run();
  const started = process.hrtime.bigint();
  const result = await run();
  metrics.observeProcedure(path, type, result.ok ? "ok" : "error", Number(process.hrtime.bigint() - started) / 1e9);
  return result;
}
