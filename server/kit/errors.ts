/**
 * The kit's domain errors. Each carries a stable machine-readable `reason`; the surfaces map them once
 * (the tRPC surface's error mapping, which REST reuses): tRPC answers the `status` below as its error code
 * and puts the reason in `error.data.reason`, REST answers that status's HTTP code with the message as `detail`.
 */

/** What a domain error is, for a client's code: `error.data.reason` on tRPC. */
export type DomainReason = "NOT_FOUND" | "FORBIDDEN" | "CONFLICT" | "EVENTS_EXPIRED" | "TOO_MANY_SUBSCRIPTIONS" | "SHUTTING_DOWN" | "TOKEN_EXPIRED";

/** The API status each reason is answered with (tRPC's code names; REST answers their HTTP status). */
export const STATUS_OF = {
  NOT_FOUND: "NOT_FOUND",
  FORBIDDEN: "FORBIDDEN",
  CONFLICT: "CONFLICT",
  EVENTS_EXPIRED: "PRECONDITION_FAILED",
  TOO_MANY_SUBSCRIPTIONS: "TOO_MANY_REQUESTS",
  SHUTTING_DOWN: "SERVICE_UNAVAILABLE",
  TOKEN_EXPIRED: "UNAUTHORIZED",
} as const satisfies Record<DomainReason, string>;

export class DomainError extends Error {
  override name = "DomainError";
  constructor(
    readonly reason: DomainReason,
    message: string,
  ) {
    super(message);
  }
}

/** The row is unknown, soft-deleted or another organization's: one answer for all three. */
export class NotFoundError extends DomainError {
  override name = "NotFoundError";
  constructor(what: string) {
    super("NOT_FOUND", `${what} not found`);
  }
}

/** The caller's role may not do this: a resource's access policy (./access.ts) refuses it. */
export class ForbiddenError extends DomainError {
  override name = "ForbiddenError";
  constructor(message: string) {
    super("FORBIDDEN", message);
  }
}

/** The write lost a race (optimistic concurrency) or would break a uniqueness rule. */
export class ConflictError extends DomainError {
  override name = "ConflictError";
  constructor(message: string) {
    super("CONFLICT", message);
  }
}
