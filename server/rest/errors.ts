/**
 * Errors on the REST surface, in the FastAPI service's shapes: `{ "detail": "..." }`, and for bad input
 * `{ "detail": [{ "loc", "msg", "type" }] }` (422). Domain and database errors get their status from the
 * one mapping tRPC uses (`toTRPCError`), so both surfaces answer a fault with the same status.
 */
import { TRPCError } from "@trpc/server";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import { z } from "zod";
import { IdempotencyKeyReusedError, InvalidReferenceError, UniqueViolationError } from "../kit/errors.js";
import { toTRPCError } from "../trpc/errors.js";
import { snakeCase } from "./case.js";
import { IDEMPOTENCY_KEY_HEADER } from "./idempotency.js";

/** Every REST error but a validation error. */
export const HTTPError = z.object({ detail: z.string() });
export type HTTPError = z.infer<typeof HTTPError>;

/** One bad field: where (`["body", "name"]`, `["query", "limit"]`), what is wrong, and its kind. */
export const ValidationError = z.object({
  loc: z.array(z.union([z.string(), z.number().int()])),
  msg: z.string(),
  type: z.string(),
});
export type ValidationError = z.infer<typeof ValidationError>;

/** A 422: every bad field of the request at once. */
export const HTTPValidationError = z.object({ detail: z.array(ValidationError) });
export type HTTPValidationError = z.infer<typeof HTTPValidationError>;

/** An error the REST layer answers as it is: status, `detail`, and headers. */
export class RestError extends Error {
  override name = "RestError";
  constructor(
    readonly status: number,
    readonly detail: string | ValidationError[],
    readonly headers: Record<string, string> = {},
  ) {
    super(typeof detail === "string" ? detail : "Request validation failed");
  }
}

export const notAuthenticated = () => new RestError(401, "Not authenticated", { "WWW-Authenticate": "Bearer" });
export const invalidCredentials = () => new RestError(401, "Invalid authentication credentials", { "WWW-Authenticate": "Bearer" });
/** The detail of every 403: which role is required is in the OpenAPI document (`x-required-role`). */
export const NOT_ENOUGH_PERMISSIONS = "Not enough permissions";
export const notFound = (resourceName: string) => new RestError(404, `${resourceName} not found`);

/**
 * The REST answer to anything a handler threw. `expected` is false for what only a bug explains: the
 * caller logs those, and in production their message stays in the log.
 *
 * Beside the shared mapping: a reference naming no live row of the organization is bad input on its
 * body field (422, `["body", "project_id"]`: only a body carries references; the kit's `path` is the tRPC
 * input's), an idempotency key used for another create is bad input on its header (422,
 * `["header", "idempotency-key"]`), and a broken unique key is 409 naming its fields as the wire spells
 * them. A delete refused while live rows refer to the row (ReferencedError) is the shared mapping's 409
 * with its message.
 */
export function restErrorOf(cause: unknown, options: { resourceName: string; production: boolean }): { error: RestError; expected: boolean } {
  if (cause instanceof RestError) return { error: cause, expected: true };
  if (cause instanceof InvalidReferenceError) {
    return { error: new RestError(422, [{ loc: ["body", snakeCase(cause.field)], msg: cause.message, type: "invalid_reference" }]), expected: true };
  }
  if (cause instanceof IdempotencyKeyReusedError) {
    return { error: new RestError(422, [{ loc: ["header", IDEMPOTENCY_KEY_HEADER], msg: cause.message, type: "idempotency_key_reused" }]), expected: true };
  }
  if (cause instanceof UniqueViolationError) {
    return { error: new RestError(409, UniqueViolationError.messageOf(cause.what, cause.fields, snakeCase)), expected: true };
  }
  const mapped = toTRPCError(cause) ?? (cause instanceof TRPCError ? cause : undefined);
  if (mapped && mapped.code !== "INTERNAL_SERVER_ERROR") {
    const status = getHTTPStatusCodeFromError(mapped);
    // Whatever said "not found" (a NotFoundError, Prisma's P2025), the old service's words for it.
    // A role refused (server/kit/access.ts): FastAPI's words for it; tRPC's message names the role required.
    const detail = mapped.code === "NOT_FOUND" ? `${options.resourceName} not found` : mapped.code === "FORBIDDEN" ? NOT_ENOUGH_PERMISSIONS : mapped.message;
    return { error: new RestError(status, detail), expected: true };
  }
  const message = cause instanceof Error ? cause.message : String(cause);
  return { error: new RestError(500, options.production ? "Internal server error" : message), expected: false };
}
