/**
 * The request log: one JSON line per request when its response is finished (or the connection closed
 * first), the line pino-http writes (its format, kept byte for byte: `req` with the id, method and URL,
 * the caller, the procedures and trace id, `res` with the status, `responseTime`, "request completed",
 * "request aborted", or "request errored" with `err` for a 5xx), and the request's id (`X-Request-Id`) and
 * logger (`req.log`).
 *
 * Written here rather than taken from pino-http: pino-http makes two child loggers per request at its start
 * (each serializing its bindings) and asks for the custom properties twice, which in this service's hot path
 * measured as a few percent of a request's CPU (bench/results/levers.md); here the line is written once, at
 * the end, and `req.log` is made only when something logs through it.
 *
 * What the line carries beyond method, URL, status and duration: the caller (organizationId, sub; an API
 * key's is `apikey:<id>`) when the token is valid, the tRPC procedure path(s) and the trace id. Never a
 * token: only verified claims are read, and the URL's token parameters are redacted by `loggableUrl`.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Authenticate } from "../auth/authenticator.js";
import { lazyChild } from "../logger.js";
import type { Logger } from "../logger.js";
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

declare module "http" {
  interface IncomingMessage {
    /** The request's id (`requestLog`): the caller's `X-Request-Id` when sane, else a new UUID. */
    id: string;
    /** The request's logger (`requestLog`), bound to the request's id, method, URL and caller. */
    log: Logger;
  }
}

export interface RequestLogOptions {
  logger: Logger;
  /** The request's id: the caller's `X-Request-Id` when sane, else a new one; it is also answered as that header. */
  requestId: (req: IncomingMessage, res: ServerResponse) => string;
  /** The request's authenticator (memoized per request), for the caller's claims. */
  authenticate: (req: IncomingMessage) => Authenticate;
  /** The URL as it may be logged (token parameters redacted). */
  loggableUrl: (url: string) => string;
  /** Requests that get no line (health checks); they still get an id and a logger. */
  ignore: (req: IncomingMessage) => boolean;
}

type LoggedRequest = IncomingMessage & { originalUrl?: string };

/** The middleware: `req.id`, `req.log`, and the line when the response ends. */
export function requestLog(options: RequestLogOptions) {
  const { logger } = options;
  return (req: LoggedRequest, res: ServerResponse, next: () => void): void => {
    const start = Date.now();
    const id = options.requestId(req, res);
    req.id = id;
    // As pino-http serializes it: the URL as the request arrived (before a router strips its mount path).
    const request = { id, method: req.method, url: options.loggableUrl(req.originalUrl ?? req.url ?? "") };
    let props: RequestLogProps | undefined;
    const propsOf = () => (props ??= requestLogProps(req, options.authenticate(req)));
    req.log = lazyChild(logger, () => ({ req: request, ...propsOf() }));
    if (!options.ignore(req)) {
      const done = (error?: unknown) => {
        res.removeListener("close", done);
        res.removeListener("finish", done);
        res.removeListener("error", done);
        const line = { req: request, ...propsOf(), res: { statusCode: res.statusCode } };
        const responseTime = Date.now() - start;
        if (error || res.statusCode >= 500) {
          const err = error instanceof Error ? error : new Error(`failed with status code ${res.statusCode}`);
          logger.info({ ...line, err, responseTime }, "request errored");
        } else {
          logger.info({ ...line, responseTime }, !req.readableAborted && res.writableEnded ? "request completed" : "request aborted");
        }
      };
      res.on("close", done);
      res.on("finish", done);
      res.on("error", done);
    }
    next();
  };
}
