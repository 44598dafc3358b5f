/**
 * The kit's domain errors. Each carries a stable machine-readable `reason`; the surfaces map them once
 * (the tRPC surface's error mapping, which REST reuses): tRPC answers the `status` below as its error code
 * and puts the reason in `error.data.reason`, REST answers that status's HTTP code with the message as `detail`.
 */

/** What a domain error is, for a client's code: `error.data.reason` on tRPC. */
export type DomainReason =
  | "NOT_FOUND"
  | "FORBIDDEN"
  | "CONFLICT"
  | "UNIQUE_VIOLATION"
  | "REFERENCED"
  | "INVALID_REFERENCE"
  | "IDEMPOTENCY_KEY_REUSED"
  | "IDEMPOTENCY_KEY_IN_USE"
  | "EVENTS_EXPIRED"
  | "TOO_MANY_SUBSCRIPTIONS"
  | "SHUTTING_DOWN"
  | "TOKEN_EXPIRED";

/** The API status each reason is answered with (tRPC's code names; REST answers their HTTP status). */
export const STATUS_OF = {
  NOT_FOUND: "NOT_FOUND",
  FORBIDDEN: "FORBIDDEN",
  CONFLICT: "CONFLICT",
  UNIQUE_VIOLATION: "CONFLICT",
  REFERENCED: "CONFLICT",
  INVALID_REFERENCE: "BAD_REQUEST",
  IDEMPOTENCY_KEY_REUSED: "BAD_REQUEST",
  IDEMPOTENCY_KEY_IN_USE: "CONFLICT",
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

/** A create or update would give two live rows of the organization the same values of a unique key. */
export class UniqueViolationError extends DomainError {
  override name = "UniqueViolationError";
  constructor(
    /** The resource's name (`Project`). */
    readonly what: string,
    /** The key's fields, as the contract names them (`["projectId", "key"]`). */
    readonly fields: readonly string[],
  ) {
    super("UNIQUE_VIOLATION", UniqueViolationError.messageOf(what, fields));
  }

  /** "Project with the same key exists already", the fields spelled by `spell` (REST: snake_case). */
  static messageOf(what: string, fields: readonly string[], spell: (field: string) => string = (field) => field): string {
    const names = fields.map(spell);
    const list = names.length === 1 ? names[0] : `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`;
    return `${what} with the same ${list} exists already`;
  }
}

/** The row cannot be deleted: live rows of another resource refer to it (their reference is `restrict`). */
export class ReferencedError extends DomainError {
  override name = "ReferencedError";
  constructor(what: string, referrers: string) {
    super("REFERENCED", `${what} has live ${referrers}`);
  }
}

/**
 * A reference names no live row of the caller's organization: unknown, soft-deleted and another
 * organization's are the same answer (no existence oracle). Bad input on the field: `path` is where the
 * field is in the procedure's input (`["projectId"]`, `["data", "projectId"]` in an update).
 */
export class InvalidReferenceError extends DomainError {
  override name = "InvalidReferenceError";
  constructor(
    readonly field: string,
    readonly path: readonly string[],
    target: string,
  ) {
    super("INVALID_REFERENCE", `must be the id of a ${target} of your organization`);
  }
}

/**
 * A create's idempotency key was used in the last 24 hours for another create of the resource: another
 * input, or another caller of the organization. Bad input on the key (tRPC `fieldErrors.idempotencyKey`,
 * REST 422 on `["header", "idempotency-key"]`); nothing is written.
 */
export class IdempotencyKeyReusedError extends DomainError {
  override name = "IdempotencyKeyReusedError";
  constructor(byAnotherCaller: boolean) {
    super(
      "IDEMPOTENCY_KEY_REUSED",
      byAnotherCaller
        ? "was used by another caller of the organization for a create in the last 24 hours: use a new key for each create"
        : "was used for a create with another input in the last 24 hours: send the same input to retry, or use a new key for a new create",
    );
  }
}

/** The first create with this idempotency key is still running: retry shortly, and get its answer. */
export class IdempotencyKeyInUseError extends DomainError {
  override name = "IdempotencyKeyInUseError";
  constructor() {
    super("IDEMPOTENCY_KEY_IN_USE", "A create with this idempotency key is still running; retry shortly to get its answer");
  }
}
