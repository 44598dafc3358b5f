/**
 * The one place where errors become API errors: domain errors and known Prisma errors get their tRPC
 * code; anything else stays INTERNAL_SERVER_ERROR (logged by the HTTP layer, hidden in production).
 */
import { TRPCError } from "@trpc/server";
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
 * Prisma's codes for "cannot reach / lost / timed out" (P1001, P1002, P1017, P2024), and P2028: an
 * interactive transaction that could not start in time or outlived its limit (server/db/statement-timeout.ts).
 */
const UNAVAILABLE_PRISMA_CODES = new Set(["P1001", "P1002", "P1017", "P2024", "P2028"]);
/** Driver-adapter error kinds that mean the same. */
const UNAVAILABLE_KINDS = new Set(["DatabaseNotReachable", "ConnectionClosed", "SocketTimeout", "TooManyConnections", "DatabaseDoesNotExist"]);
/**
 * SQLSTATEs: statement timeout (57014), server shutting down or restarting (57P01-57P03), connection
 * failures (class 08), too many connections (53300).
 */
const UNAVAILABLE_SQLSTATE = /^(57014|57P0[123]|08...|53300)$/;

/** Whether `error` says the database is down, unreachable or too slow, rather than that the call is wrong. */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error instanceof Prisma.PrismaClientKnownRequestError && UNAVAILABLE_PRISMA_CODES.has(error.code)) return true;
  if (error instanceof Prisma.PrismaClientInitializationError) return true;
  const adapterCause = (error as { meta?: { driverAdapterError?: { cause?: { kind?: string; code?: string; originalCode?: string } } } }).meta
    ?.driverAdapterError?.cause;
  if (adapterCause?.kind && UNAVAILABLE_KINDS.has(adapterCause.kind)) return true;
  const sqlState = adapterCause?.originalCode ?? adapterCause?.code;
  if (sqlState && UNAVAILABLE_SQLSTATE.test(sqlState)) return true;
  // pg's own errors for a connection dropped mid-query or a pool wait that timed out.
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error and is not queryable|ECONNREFUSED|ECONNRESET/.test(error.message);
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
