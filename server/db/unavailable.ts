/**
 * The one answer to "is this a transient database fault?": the database is down, restarting, unreachable,
 * too busy or too slow, or our connection to it was cut (a restart, a failover, `pg_terminate_backend`),
 * rather than the call being wrong. Queries and mutations (server/trpc/errors.ts, which REST reuses),
 * live streams (the same mapping, applied to what a stream throws) and the change hub all ask here, so
 * such a fault is SERVICE_UNAVAILABLE (503, retried by clients) everywhere and never a 500.
 *
 * Hand-written because neither Prisma nor node-postgres says "transient": the same fault reaches us in
 * several shapes. Prisma's error codes; a driver adapter error (`DriverAdapterError`, thrown bare by a
 * transaction's BEGIN or COMMIT, or as `meta.driverAdapterError` of a Prisma error) carrying a kind and
 * PostgreSQL's SQLSTATE; node-postgres's own `DatabaseError` (SQLSTATE in `code`) and socket errors; and
 * node-postgres's plain Errors for a dropped connection, known by their messages only.
 */
import { isDriverAdapterError } from "@prisma/driver-adapter-utils";
import { Prisma } from "../generated/prisma/client.js";

/**
 * Prisma's codes for "cannot reach / timed out / lost / too many connections":
 * P1001, P1002, P1008, P1017, P2024, P2037; and P2028, an interactive transaction that could not start in
 * time or outlived its limit (./statement-timeout.ts).
 * @see https://www.prisma.io/docs/orm/reference/error-reference
 */
const UNAVAILABLE_PRISMA_CODES = new Set(["P1001", "P1002", "P1008", "P1017", "P2024", "P2028", "P2037"]);
/** Driver-adapter error kinds that mean the same. */
const UNAVAILABLE_KINDS = new Set(["DatabaseNotReachable", "ConnectionClosed", "SocketTimeout", "TooManyConnections", "DatabaseDoesNotExist"]);
/**
 * SQLSTATEs: statement timeout (57014), the server shutting down, crashed or starting (57P01-57P03), the
 * session ended by a timeout (57P05 idle session, 25P03 idle in transaction), connection failures (class 08),
 * too many connections (53300).
 * @see https://www.postgresql.org/docs/current/errcodes-appendix.html
 */
const UNAVAILABLE_SQLSTATE = /^(57014|57P0[1235]|25P03|08[0-9A-Z]{3}|53300)$/;
/** Node.js socket errors of a connection that cannot be made or was cut. */
const SOCKET_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN"]);
/** node-postgres's plain Errors for a connection dropped mid-query, a broken client, or a pool wait that timed out. */
const UNAVAILABLE_MESSAGE =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error and is not queryable|Client was closed and is not queryable|ECONNREFUSED|ECONNRESET/;

interface AdapterCause {
  kind?: unknown;
  code?: unknown;
  originalCode?: unknown;
}

/** The driver adapter's description of the fault: on a bare `DriverAdapterError`, or on a Prisma error's `meta`. */
function adapterCauseOf(error: Error): AdapterCause | undefined {
  if (isDriverAdapterError(error)) return error.cause;
  const meta = (error as { meta?: { driverAdapterError?: { cause?: AdapterCause } } }).meta;
  return meta?.driverAdapterError?.cause;
}

/** Whether `error` says the database is down, unreachable, cut off or too slow, rather than that the call is wrong. */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error instanceof Prisma.PrismaClientKnownRequestError && UNAVAILABLE_PRISMA_CODES.has(error.code)) return true;
  if (error instanceof Prisma.PrismaClientInitializationError) return true;
  const adapterCause = adapterCauseOf(error);
  if (typeof adapterCause?.kind === "string" && UNAVAILABLE_KINDS.has(adapterCause.kind)) return true;
  const sqlState = adapterCause?.originalCode ?? adapterCause?.code;
  if (typeof sqlState === "string" && UNAVAILABLE_SQLSTATE.test(sqlState)) return true;
  // node-postgres's DatabaseError (SQLSTATE in `code`) and Node.js's socket errors (`code` too).
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && (UNAVAILABLE_SQLSTATE.test(code) || SOCKET_CODES.has(code))) return true;
  return UNAVAILABLE_MESSAGE.test(error.message);
}
