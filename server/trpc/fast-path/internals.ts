/**
 * The one door to tRPC's internals (`@trpc/server/unstable-core-do-not-import`): the fast paths use
 * tRPC's own building blocks through this module only, so their shapes, codes and procedure lookup
 * cannot drift from the official adapter's. `npm run lint` refuses that import anywhere else.
 *
 * These exports are not part of tRPC's public API and may change in any release: `@trpc/server` and
 * `@trpc/client` are pinned exactly in package.json, and an upgrade must keep
 * tests/trpc/trpc-adapters.test.ts (the JSON path against tRPC's adapter) and tests/live/sse-wire.test.ts
 * (the SSE path, byte for byte) green.
 */
import type { AnyTRPCProcedure, AnyTRPCRouter, TRPCError } from "@trpc/server";
import { getErrorShape, getProcedureAtPath, transformTRPCResponse, urlPathToProcedurePath } from "@trpc/server/unstable-core-do-not-import";

export {
  getTRPCErrorFromUnknown,
  isAbortError,
  isAsyncIterable,
  isTrackedEnvelope,
  sseHeaders,
} from "@trpc/server/unstable-core-do-not-import";

/** An error as tRPC's adapter sends it: the router's `errorFormatter` applied (`getErrorShape`). */
export interface ErrorShape {
  message: string;
  code: number;
  data: { httpStatus: number } & Record<string, unknown>;
}

/** The shape tRPC's adapter sends for `error`, through the router's own error formatter. */
export function errorShapeOf(
  router: AnyTRPCRouter,
  call: { ctx: unknown; error: TRPCError; input: unknown; path: string | undefined; type: "query" | "mutation" | "subscription" | "unknown" },
): ErrorShape {
  const shape: unknown = getErrorShape({ config: router._def._config, ...call });
  return shape as ErrorShape;
}

/** A response body (one result, or a batch's array) as tRPC's adapter writes it, through the router's transformer. */
export function responseBody(router: AnyTRPCRouter, json: unknown): string {
  const [config, response] = [router._def._config, json] as Parameters<typeof transformTRPCResponse>;
  const transformed: unknown = transformTRPCResponse(config, response);
  return JSON.stringify(transformed);
}

/**
 * The procedure a URL path names, found as tRPC's adapter finds it: the router's path separator undone
 * (`post~byId` -> `post.byId`), then `getProcedureAtPath`, which also loads lazy routers.
 */
export async function procedureAt(router: AnyTRPCRouter, urlPath: string): Promise<{ path: string; procedure: AnyTRPCProcedure | null }> {
  const path = urlPathToProcedurePath(urlPath, router._def._config.pathSeparator);
  return { path, procedure: await getProcedureAtPath(router, path) };
}
