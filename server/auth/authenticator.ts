/**
 * The one way a request is authenticated, for every surface: the tRPC procedures (`orgProcedure`), the
 * REST routes, the per-organization rate limit and the request log all ask the request's authenticator,
 * so a token is read, verified and its expiry known once per request, the same way everywhere.
 *
 * Where the token comes from: the `Authorization: Bearer <token>` header, or an API key's `X-API-Key: kuark_...`
 * header (only an API key: a JWT there is refused; both headers at once are refused, rather than one acting
 * silently for the other); for a tRPC subscription without either (from a browser's EventSource, which
 * cannot send headers), the `token` of its `connectionParams`, read with tRPC's own parser. Nowhere else: `connectionParams` on any other request, and a token in a URL's
 * `access_token` or `api_key` parameter, are refused (URLs end up in logs, proxies and browser histories).
 */
import type { IncomingMessage } from "node:http";
import { parseConnectionParamsFromString } from "@trpc/server/http";
import { API_KEY_PREFIX } from "../contract/apiKeys.js";
import type { Actor } from "../kit/scope.js";
import type { Organizations } from "../organizations.js";
import { InvalidTokenError } from "./token.js";
import type { Caller, TokenVerifier } from "./token.js";

export type { Caller } from "./token.js";

/** No credentials at all (REST answers "Not authenticated"; anything else wrong is "Invalid ..."). */
export class MissingCredentialsError extends InvalidTokenError {
  override name = "MissingCredentialsError";
}

/**
 * The request's authenticator. Calling it returns the verified caller or throws the refusal, the same
 * every time (the token is verified once per request). A verifier may need to wait (a key to fetch from
 * an identity provider's JWKS, a key to look up): `verified()` waits for it, and until it has, calling
 * the authenticator throws as if the request had no valid credentials. `admit` waits; the app settles
 * every request's credentials before its first middleware that asks (the request log, the rate limits).
 */
export interface Authenticate {
  (): Caller;
  /** The caller once verified, waiting when the verifier has to; rejects with the refusal. */
  verified(): Promise<Caller>;
  /** Starts verifying; a promise to wait for (never rejecting) when the outcome is not known at once, else undefined. */
  settle(): Promise<void> | undefined;
}

/** What a request carries that can name its caller. */
export interface Credentials {
  /** The `Authorization` header. */
  authorization?: string | undefined;
  /** The `X-API-Key` header: an API key (`kuark_...`), never a JWT. */
  apiKey?: string | undefined;
  /** tRPC's `connectionParams` query parameter (JSON), for a subscription without a header. */
  connectionParams?: string | null | undefined;
  /** Why the request's URL disqualifies it (a token where none may be), if it does. */
  refusal?: string | undefined;
}

/** Query parameters that carry a token in other APIs' conventions: refused here, redacted in logs. */
export const URL_TOKEN_PARAMETERS = ["access_token", "api_key"] as const;

/** The token of an `Authorization: Bearer <token>` or `X-API-Key` header, or of `connectionParams`' `token`. */
function tokenOf({ authorization, apiKey, connectionParams, refusal }: Credentials): string {
  if (refusal !== undefined) throw new InvalidTokenError(refusal);
  if (apiKey !== undefined) {
    if (authorization !== undefined) throw new InvalidTokenError("both Authorization and X-API-Key: send one credential");
    if (!apiKey.startsWith(API_KEY_PREFIX)) throw new InvalidTokenError("X-API-Key takes an API key (kuark_...) only");
    return apiKey.trim();
  }
  if (authorization !== undefined) {
    const match = authorization.match(/^Bearer\s+(\S+)\s*$/i);
    if (!match?.[1]) throw new InvalidTokenError("not a bearer token");
    return match[1];
  }
  if (connectionParams === undefined || connectionParams === null) throw new MissingCredentialsError("no credentials");
  let token: string | undefined;
  try {
    token = parseConnectionParamsFromString(connectionParams)?.token;
  } catch {
    throw new InvalidTokenError("connectionParams are not an object of strings");
  }
  if (token === undefined) throw new MissingCredentialsError("no token in connectionParams");
  return token;
}

/** Thrown by an authenticator asked before its verifier has answered (the caller is not known yet). */
const PENDING = new InvalidTokenError("credentials are still being verified");

/** An authenticator of these credentials, verifying at most once. */
export function authenticatorOf(verifyToken: TokenVerifier, credentials: Credentials): Authenticate {
  let outcome: { caller: Caller } | { error: unknown } | undefined;
  let pending: Promise<void> | undefined;
  const settle = (): Promise<void> | undefined => {
    if (outcome || pending) return pending;
    let answer: Caller | Promise<Caller>;
    try {
      answer = verifyToken(tokenOf(credentials));
    } catch (error) {
      outcome = { error };
      return undefined;
    }
    if (!(answer instanceof Promise)) {
      outcome = { caller: answer };
      return undefined;
    }
    pending = answer.then(
      (caller) => void (outcome = { caller }),
      (error: unknown) => void (outcome = { error }),
    );
    return pending;
  };
  const authenticate = (): Caller => {
    void settle();
    if (!outcome) throw PENDING;
    if ("error" in outcome) throw outcome.error;
    return outcome.caller;
  };
  return Object.assign(authenticate, {
    settle,
    verified: async (): Promise<Caller> => {
      await settle();
      return authenticate();
    },
  });
}

/**
 * A request's credentials: its header, and for a tRPC subscription (a GET of one of `subscriptions` below
 * `trpcPath`) without one, its `connectionParams`.
 */
function credentialsOf(req: IncomingMessage & { originalUrl?: string }, trpcPath: string, subscriptions: ReadonlySet<string>): Credentials {
  const url = req.originalUrl ?? req.url ?? "";
  const queryAt = url.indexOf("?");
  const query = new URLSearchParams(queryAt === -1 ? "" : url.slice(queryAt + 1));
  const inUrl = URL_TOKEN_PARAMETERS.find((name) => query.has(name));
  if (inUrl) return { refusal: `a token in the URL (${inUrl}) is refused: send it as Authorization: Bearer <token>` };
  const pathname = queryAt === -1 ? url : url.slice(0, queryAt);
  const procedure = pathname.startsWith(`${trpcPath}/`) ? safeDecode(pathname.slice(trpcPath.length + 1)) : undefined;
  const subscription = req.method === "GET" && procedure !== undefined && subscriptions.has(procedure);
  if (query.has("connectionParams") && !subscription) return { refusal: "connectionParams are read for subscriptions only" };
  const apiKey = req.headers["x-api-key"];
  // A repeated X-API-Key arrives joined by ", ": no key has a comma, so it is refused as malformed.
  const headers = { authorization: req.headers.authorization, ...(apiKey !== undefined && { apiKey: Array.isArray(apiKey) ? apiKey.join(", ") : apiKey }) };
  if (headers.authorization !== undefined || apiKey !== undefined || !subscription) return headers;
  return { connectionParams: query.get("connectionParams") };
}

const safeDecode = (text: string): string | undefined => {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
};

/**
 * Gives each request its one authenticator (made on first ask, kept with the request). `subscriptions`
 * are the paths of the router's subscription procedures: only those may carry their token in `connectionParams`.
 */
export function createRequestAuthenticator(
  verifyToken: TokenVerifier,
  options: { trpcPath: string; subscriptions: Iterable<string> },
): (req: IncomingMessage) => Authenticate {
  const subscriptions = new Set(options.subscriptions);
  const authenticators = new WeakMap<IncomingMessage, Authenticate>();
  return (req) => {
    let authenticate = authenticators.get(req);
    if (!authenticate) {
      authenticate = authenticatorOf(verifyToken, credentialsOf(req, options.trpcPath, subscriptions));
      authenticators.set(req, authenticate);
    }
    return authenticate;
  };
}

/** The caller admitted to its organization: the verified caller, as the actor of the kit's services (its role included). */
export interface Admitted extends Caller {
  actor: Actor;
}

/**
 * The caller of a request, admitted into its organization, whose row is created on its first use: what
 * `orgProcedure` and every REST route act as. The organization comes from the verified `organization_id`
 * claim and from nowhere else. Throws the authenticator's InvalidTokenError (or MissingCredentialsError)
 * when the request names no valid caller; a database fault while creating the row throws as it is.
 */
export async function admit(authenticate: Authenticate, organizations: Organizations): Promise<Admitted> {
  const caller = await authenticate.verified();
  await organizations.ensure(caller.me.organizationId);
  const { sub, organizationId, role, unknownRole } = caller.me;
  return { ...caller, actor: { sub, organizationId, role: role ?? null, ...(unknownRole !== undefined && { unknownRole }) } };
}
