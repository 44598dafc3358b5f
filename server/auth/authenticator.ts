/**
 * The one way a request is authenticated, for every surface: the tRPC procedures (`orgProcedure`), the
 * REST routes, the per-organization rate limit and the request log all ask the request's authenticator,
 * so a token is read, verified and its expiry known once per request, the same way everywhere.
 *
 * Where the token comes from: the `Authorization: Bearer <token>` header; for a tRPC GET without one (a
 * subscription from a browser's EventSource, which cannot send headers), the `token` of its
 * `connectionParams`, read with tRPC's own parser.
 */
import type { IncomingMessage } from "node:http";
import { parseConnectionParamsFromString } from "@trpc/server/http";
import type { Actor } from "../kit/scope.js";
import type { Organizations } from "../organizations.js";
import { InvalidTokenError } from "./token.js";
import type { Caller, TokenVerifier } from "./token.js";

export type { Caller } from "./token.js";

/** No credentials at all (REST answers "Not authenticated"; anything else wrong is "Invalid ..."). */
export class MissingCredentialsError extends InvalidTokenError {
  override name = "MissingCredentialsError";
}

/** The request's caller, verified on the first call; every later call returns it or throws the same error. */
export type Authenticate = () => Caller;

/** What a request carries that can name its caller. */
export interface Credentials {
  /** The `Authorization` header. */
  authorization?: string | undefined;
  /** tRPC's `connectionParams` query parameter (JSON), for a subscription without a header. */
  connectionParams?: string | null | undefined;
}

/** The token of an `Authorization: Bearer <token>` header, or of `connectionParams`' `token`. */
function tokenOf({ authorization, connectionParams }: Credentials): string {
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

/** An authenticator of these credentials, verifying at most once. */
export function authenticatorOf(verifyToken: TokenVerifier, credentials: Credentials): Authenticate {
  let outcome: { caller: Caller } | { error: unknown } | undefined;
  return () => {
    if (!outcome) {
      try {
        outcome = { caller: verifyToken(tokenOf(credentials)) };
      } catch (error) {
        outcome = { error };
      }
    }
    if ("error" in outcome) throw outcome.error;
    return outcome.caller;
  };
}

/** A request's credentials: its header, and for a tRPC GET below `trpcPath`, its `connectionParams`. */
function credentialsOf(req: IncomingMessage & { originalUrl?: string }, trpcPath: string): Credentials {
  const url = req.originalUrl ?? req.url ?? "";
  if (req.headers.authorization !== undefined || req.method !== "GET" || !url.startsWith(`${trpcPath}/`)) return { authorization: req.headers.authorization };
  const query = url.indexOf("?");
  return { connectionParams: query === -1 ? null : new URLSearchParams(url.slice(query + 1)).get("connectionParams") };
}

/** Gives each request its one authenticator (made on first ask, kept with the request). */
export function createRequestAuthenticator(verifyToken: TokenVerifier, options: { trpcPath: string }): (req: IncomingMessage) => Authenticate {
  const authenticators = new WeakMap<IncomingMessage, Authenticate>();
  return (req) => {
    let authenticate = authenticators.get(req);
    if (!authenticate) {
      authenticate = authenticatorOf(verifyToken, credentialsOf(req, options.trpcPath));
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
  const caller = authenticate();
  await organizations.ensure(caller.me.organizationId);
  const { sub, organizationId, role, unknownRole } = caller.me;
  return { ...caller, actor: { sub, organizationId, role: role ?? null, ...(unknownRole !== undefined && { unknownRole }) } };
}
