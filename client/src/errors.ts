import { TRPCClientError } from "@trpc/client";
import type { AppRouter, FieldErrors } from "./public-types.js";

/**
 * An error from a call of this API. Its `data` is the server's error data, typed: `code` ("BAD_REQUEST",
 * "UNAUTHORIZED", "NOT_FOUND", ...), `httpStatus`, `path`, `requestId`, and for invalid input `fieldErrors`.
 * `data` is undefined when no response arrived (network failure, aborted request).
 */
export type KuarkClientError = TRPCClientError<AppRouter>;

/** Narrows a caught value to a `KuarkClientError`. */
export function isKuarkClientError(error: unknown): error is KuarkClientError {
  // The name check also recognises an error made by a second copy of @trpc/client in the same bundle.
  return error instanceof TRPCClientError || (error instanceof Error && error.name === "TRPCClientError");
}

/**
 * The per-field messages of a BAD_REQUEST, keyed by the dotted input path (`"name"`, `"data.name"`; the input as
 * a whole under `""`), or undefined when `error` is anything else.
 */
export function fieldErrorsOf(error: unknown): FieldErrors | undefined {
  return isKuarkClientError(error) ? error.data?.fieldErrors : undefined;
}
