/**
 * What the request's log line carries beyond pino-http's method, URL, status and duration: the caller
 * (organizationId, sub; an API key's is `apikey:<id>`) when the token is valid, the tRPC procedure path(s) and the trace id. Never a
 * token: only verified claims are read. pino-http calls this at the start and at the end of a request;
 * it returns the same both times, so the bindings are made once (and `req.log`, the procedures' logger,
 * carries them too).
 */
import type { IncomingMessage } from "node:http";
import type { Authenticate } from "../auth/authenticator.js";
import { traceIdOf } from "./trace-hooks.js";

const MAX_PROCEDURES = 25;

export interface RequestLogProps {
  organizationId?: string;
  sub?: string;
  procedures?: string[];
  traceId?: string;
}

export function requestLogProps(req: IncomingMessage, authenticate: Authenticate, trpcPrefix = "/trpc"): RequestLogProps {
  const props: RequestLogProps = {};
  if (req.headers.authorization || req.headers["x-api-key"]) {
    try {
      const { me } = authenticate(); // memoized per request: the token is verified once
      props.organizationId = me.organizationId;
      props.sub = me.sub;
    } catch {
      // no valid token: the response says 401, the line has no caller
    }
  }
  const path = ((req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? "").split("?")[0]!;
  if (path.startsWith(`${trpcPrefix}/`)) {
    props.procedures = path
      .slice(trpcPrefix.length + 1)
      .split(",")
      .slice(0, MAX_PROCEDURES)
      .map((name) => name.slice(0, 100));
  }
  const traceId = traceIdOf(req);
  if (traceId) props.traceId = traceId;
  return props;
}
