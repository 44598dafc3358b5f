/**
 * The one place where errors become API errors: domain errors and known Prisma errors get their tRPC
 * code, a transient database fault (../db/unavailable.ts) SERVICE_UNAVAILABLE; anything else stays
 * INTERNAL_SERVER_ERROR (logged by the HTTP layer, hidden in production).
 */
import { TRPCError } from "@trpc/server";
import { isDatabaseUnavailable } from "../db/unavailable.js";
import { Prisma } from "../generated/prisma/client.js";
import { DomainError, STATUS_OF } from "../kit/errors.js";

/** The API error for `cause`, when it is one the service knows; undefined: it stays what it is (a 500 if not a TRPCError). */
export function toTRPCError(cause: unknown): TRPCError | undefined {
  if (cause instanceof TRPCError) return undefined;
  if (cause instanceof DomainError) return new TRPCError({ code: STATUS_OF[cause.reason], message: cause.message, cause });
  if (cause instanceof Prisma.PrismaClientKnownRequestError) {
    if (cause.code === "P2025") return new TRPCError({ code: "NOT_FOUND", message: "Not found", cause });
    if (cause.code === "P2002") return new TRPCError({ code: "CONFLICT", message: "Already exists", cause });
  }
  if (isDatabaseUnavailable(cause)) {
    return new TRPCError({ code: "SERVICE_UNAVAILABLE", message: "The database is unavailable; retry later", cause });
  }
  return undefined;
}

/**
 * A subscription's events with the same mapping applied to what the stream throws. `yield*` hands the
 * consumer's `return()` (the client left) straight to the stream, so its `finally` runs as before.
 */
export function mapErrorsOf(data: unknown): unknown {
  if (typeof data !== "object" || data === null || !(Symbol.asyncIterator in data)) return data;
  const events = data as AsyncIterable<unknown>;
  return (async function* mapped() {
    try {
      yield* events;
    } catch (cause) {
      throw toTRPCError(cause) ?? cause;
    }
  })();
}
