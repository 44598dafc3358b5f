/**
 * tRPC set-up: the error shape, and the procedures every router builds on.
 */
import { initTRPC, TRPCError } from "@trpc/server";
import { ZodError } from "zod";
import { admit } from "../auth/authenticator.js";
import { InvalidTokenError } from "../auth/token.js";
import type { FieldErrors } from "../contract/index.js";
import { DomainError, IdempotencyKeyReusedError, InvalidReferenceError, UniqueViolationError } from "../kit/errors.js";
import { observeProcedure } from "../observability/procedure.js";
import { lazyChild } from "../logger.js";
import type { Context } from "./context.js";
import { mapErrorsOf, toTRPCError } from "./errors.js";

/**
 * Per-field messages keyed by the dotted input path (`"data.name"`); the input itself under `""`. An
 * unknown key is reported under its own path (`"projectId"`: "Unrecognized key"), never as the object's.
 */
function fieldErrorsOf(error: ZodError): FieldErrors {
  // A Map, not an object: an input key may be `__proto__`.
  const fields = new Map<string, string[]>();
  for (const issue of error.issues) {
    const paths = issue.code === "unrecognized_keys" ? issue.keys.map((key) => [...issue.path, key]) : [issue.path];
    for (const path of paths) {
      const key = path.map(String).join(".");
      fields.set(key, [...(fields.get(key) ?? []), issue.message]);
    }
  }
  return Object.fromEntries(fields);
}

/** Keep-alive ping on an idle subscription stream: well under the 60 s idle timeout of common proxies and load balancers. */
const SSE_PING_MS = 15_000;

const t = initTRPC.context<Context>().create({
  /**
   * Subscriptions over SSE: a ping comment on an idle stream keeps proxies from closing it, and the
   * client reconnects (resuming from its last event) when it hears nothing for three intervals.
   * @see https://trpc.io/docs/server/subscriptions#configuring
   */
  sse: {
    ping: { enabled: true, intervalMs: SSE_PING_MS },
    client: { reconnectAfterInactivityMs: SSE_PING_MS * 3 },
  },
  // Plain JSON on the wire (no transformer): curl and non-TypeScript clients can call every procedure.
  errorFormatter({ shape, error, ctx }) {
    const production = ctx?.config.nodeEnv === "production";
    const fieldErrors =
      error.code === "BAD_REQUEST" && error.cause instanceof ZodError
        ? fieldErrorsOf(error.cause)
        : error.cause instanceof InvalidReferenceError
          ? { [error.cause.path.join(".")]: [error.cause.message] }
          : error.cause instanceof IdempotencyKeyReusedError
            ? { idempotencyKey: [error.cause.message] }
            : undefined;
    const hidden = production && error.code === "INTERNAL_SERVER_ERROR";
    return {
      ...shape,
      message: hidden ? "Internal server error" : fieldErrors ? "Invalid input" : shape.message,
      data: {
        code: shape.data.code,
        httpStatus: shape.data.httpStatus,
        path: shape.data.path,
        ...(ctx && { requestId: ctx.requestId }),
        ...(fieldErrors && { fieldErrors }),
        // The kit's machine-readable reason (EVENTS_EXPIRED, TOO_MANY_SUBSCRIPTIONS, ...): server/kit/errors.ts.
        ...(error.cause instanceof DomainError && { reason: error.cause.reason }),
        // The fields of the unique key a write would have broken.
        ...(error.cause instanceof UniqueViolationError && { fields: error.cause.fields }),
        ...(!production && error.code === "INTERNAL_SERVER_ERROR" && shape.data.stack && { stack: shape.data.stack }),
      },
    };
  },
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

/**
 * Domain and database errors become API errors here, once (./errors.ts): those a procedure throws, and
 * those a subscription's event stream throws later, while tRPC's adapter (or the SSE fast path) iterates it.
 */
const errorConversion = t.middleware(async ({ next, type }) => {
  const result = await next();
  if (!result.ok) {
    const mapped = toTRPCError(result.error.cause);
    if (mapped) throw mapped;
    return result;
  }
  return type === "subscription" ? { ...result, data: mapErrorsOf(result.data) } : result;
});

/** Duration and outcome per procedure (metrics) and a span named by its path (tracing), when on. */
const observed = t.middleware(({ ctx, path, type, next }) => observeProcedure(ctx.metrics, path, type, next));

export const publicProcedure = t.procedure.use(observed).use(errorConversion);

/**
 * Requires a valid bearer token (server/auth/authenticator.ts, the same `admit` as every REST route); the
 * organization comes from its verified `organization_id` claim and from nowhere else, its row made on first use.
 */
export const orgProcedure = publicProcedure.use(async ({ ctx, next, path }) => {
  let admitted;
  try {
    admitted = await admit(ctx.authenticate, ctx.organizations);
  } catch (error) {
    // One generic message: the caller learns nothing about why its token was refused.
    if (error instanceof InvalidTokenError) throw new TRPCError({ code: "UNAUTHORIZED", message: "Invalid or missing credentials" });
    throw error;
  }
  const { me, actor, expiresAt } = admitted;
  return next({
    ctx: {
      me,
      actor,
      /** When the caller's token expires (ms since the epoch): a subscription ends then. */
      expiresAt,
      // Whatever a resolver or service logs names who called what.
      log: lazyChild(ctx.log, () => ({ organizationId: me.organizationId, sub: me.sub, procedure: path })),
    },
  });
});
