/**
 * The REST side of idempotent creates (server/kit/idempotency.ts): a POST's `Idempotency-Key` header,
 * checked by the contract's own rule (the tRPC create's `idempotencyKey`), and the header that marks a
 * replayed answer. Stripe's names, which most HTTP clients with retries know.
 */
import type { Request } from "express";
import { IdempotencyKey } from "../contract/index.js";

/** The request header, as Node names it (lower case): also the 422's `loc`, as FastAPI spells a header. */
export const IDEMPOTENCY_KEY_HEADER = "idempotency-key";
/** The answer's header of a replay: `true`; absent on every other answer. */
export const IDEMPOTENT_REPLAYED_HEADER = "Idempotent-Replayed";

/**
 * The request's Idempotency-Key: undefined when it sends none; a bad one is a 422 entry (a ValidationError
 * of ./errors.ts, which imports this module) on `["header", "idempotency-key"]`.
 */
export function idempotencyKeyOf(req: Request): { key: string | undefined; errors: { loc: string[]; msg: string; type: string }[] } {
  const raw = req.headers[IDEMPOTENCY_KEY_HEADER];
  if (raw === undefined) return { key: undefined, errors: [] };
  // Node joins repeated headers with ", ": two keys are not one, and the rule refuses the space.
  const parsed = IdempotencyKey.safeParse(Array.isArray(raw) ? raw.join(", ") : raw);
  if (parsed.success) return { key: parsed.data, errors: [] };
  return { key: undefined, errors: parsed.error.issues.map((issue) => ({ loc: ["header", IDEMPOTENCY_KEY_HEADER], msg: issue.message, type: issue.code })) };
}
