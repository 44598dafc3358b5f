/**
 * The HTTP server's deadlines and its connection cap, safe behind a load balancer and against slow clients.
 *
 * Keep-alive: a balancer reuses idle keep-alive connections for up to its own idle timeout (60 s on AWS
 * ALB and GCP; nginx's upstream keepalive is configurable); if this process closes such a connection
 * first, a request the balancer sends on it at that moment fails with a 502. So the service keeps idle
 * connections longer than the balancer does (`KEEP_ALIVE_TIMEOUT_MS`, 65 s) and the balancer closes first.
 *
 * Headers (`HEADERS_TIMEOUT_MS`, default 10 s above the keep-alive timeout): Node counts them from a
 * request's first byte and requires them above `keepAliveTimeout` (older releases counted the idle
 * period too and closed reused connections early, nodejs/node#27363).
 *
 * The body (`REQUEST_TIMEOUT_MS`, default 30 s): Node's own `requestTimeout` cannot be this deadline. It
 * covers the headers too, so a body deadline shorter than the headers deadline would cut slow headers at
 * the body's deadline: Node swaps the two when `headersTimeout` is the larger. So the body has a timer of
 * its own (`bodyDeadline`, armed only for a request that sends a body), answered 408 in the API's shape;
 * Node's `requestTimeout` stays as the backstop for the whole request (headers + body deadlines), which
 * also covers a body nobody reads (Node drains it after the response to reuse the connection).
 * Subscriptions are long responses, not long requests: a GET has no body, and neither timer limits it.
 *
 * Node checks these deadlines only every `connectionsCheckingInterval` (30 s by default), which let slow
 * headers live 70 to 96 s; the server is created with a check every second instead (a walk over the
 * connections that are mid-request, not over idle or streaming ones).
 * @see https://nodejs.org/api/http.html#serverheaderstimeout
 */
import { createServer } from "node:http";
import type { IncomingMessage, RequestListener, Server } from "node:http";
import type { NextFunction, Request, Response } from "express";
import type { Config } from "../config.js";
import type { Refuse } from "./refusal.js";

/** How often Node looks for connections past their headers or request deadline. */
export const CONNECTIONS_CHECKING_INTERVAL_MS = 1_000;

/** An HTTP server for `app` with the configured deadlines and connection cap; listen on it. */
export function createHttpServer(app: RequestListener, config: Pick<Config, "http">): Server {
  const server = createServer({ connectionsCheckingInterval: CONNECTIONS_CHECKING_INTERVAL_MS }, app);
  applyServerTimeouts(server, config);
  return server;
}

/** Applies the configured deadlines and connection cap to a server (`createHttpServer` does). */
export function applyServerTimeouts(server: Server, config: Pick<Config, "http">): void {
  const { keepAliveTimeoutMs, headersTimeoutMs, requestTimeoutMs, maxConnections } = config.http;
  server.keepAliveTimeout = keepAliveTimeoutMs;
  server.headersTimeout = headersTimeoutMs;
  server.requestTimeout = requestTimeoutMs > 0 ? headersTimeoutMs + requestTimeoutMs : 0;
  // Node closes a connection accepted beyond this at once (its "drop" event).
  if (maxConnections > 0) server.maxConnections = maxConnections;
}

/** Whether a request sends a body (declared length above 0, or chunked). */
export function sendsBody(req: IncomingMessage): boolean {
  return Number(req.headers["content-length"] ?? 0) > 0 || req.headers["transfer-encoding"] !== undefined;
}

export const bodyTimeoutMessage = (timeoutMs: number) => `Request body not received within ${timeoutMs} ms`;

/**
 * A request whose body has not fully arrived `timeoutMs` after its headers is answered 408 (in the shape
 * of the API it was for) and its connection closed: the rest of the body is never read. 0: no deadline.
 */
export function bodyDeadline(timeoutMs: number, refuse: Refuse) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (timeoutMs > 0 && !req.complete && sendsBody(req)) {
      const timer = setTimeout(() => {
        if (req.complete) return;
        if (res.headersSent) {
          req.socket.destroy();
          return;
        }
        // Node ends the connection once this answer is written (and so never reads the rest of the body).
        res.setHeader("connection", "close");
        refuse(req, res, "TIMEOUT", bodyTimeoutMessage(timeoutMs));
      }, timeoutMs);
      const clear = () => clearTimeout(timer);
      req.once("end", clear);
      req.once("close", clear);
    }
    next();
  };
}
