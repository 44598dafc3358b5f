/**
 * The HTTP surface, mounted in order by the small functions below: the common middleware (metrics,
 * draining, security headers, request log), the health checks, the API guards shared by both APIs (CORS,
 * body limit, rate limits), the tRPC API under /trpc, the REST API under /api/v1 with its OpenAPI document
 * and /docs, and the developer panel under /panel. docs/architecture.md follows one request through them.
 */
import { randomUUID } from "node:crypto";
import type { TRPCError } from "@trpc/server";
import * as trpcExpress from "@trpc/server/adapters/express";
import cors from "cors";
import express from "express";
import type { Express, Request } from "express";
import helmet from "helmet";
import { createRequestAuthenticator } from "./auth/authenticator.js";
import type { Authenticate } from "./auth/authenticator.js";
import type { AppDependencies } from "./dependencies.js";
import { createRateLimiters } from "./http/rate-limit.js";
import { rateLimitStoreOf } from "./http/redis.js";
import { declaredBodyLimit, refusalFor } from "./http/refusal.js";
import { bodyDeadline } from "./http/server-timeouts.js";
import { requestLog } from "./observability/request-log.js";
import { createPanelRouter } from "./panel/panel.router.js";
import { definitions } from "./resources/definitions.js";
import { createDocsRouter } from "./rest/docs.router.js";
import { API_KEYS_PATH, apiKeyRoutes } from "./rest/api-keys.routes.js";
import { restEndpointsOf } from "./rest/endpoints.js";
import { IDEMPOTENT_REPLAYED_HEADER } from "./rest/idempotency.js";
import { buildOpenApiDocument } from "./rest/openapi.js";
import { createRestRouter } from "./rest/rest.router.js";
import { appRouter, subscriptionPaths } from "./trpc/app-router.js";
import { createContext } from "./trpc/context.js";
import type { Context } from "./trpc/context.js";
import { createJsonAdapter } from "./trpc/fast-path/json.js";
import { createSseSubscriptionHandler } from "./trpc/fast-path/sse.js";

const REQUEST_ID = /^[\w.:-]{1,100}$/;
const TRPC_BASE = "/trpc";
/** Where the REST API is mounted; /trpc and it share the body limit, the rate limits and the authenticator. */
const REST_BASE = "/api/v1";
const API_PATHS = [TRPC_BASE, REST_BASE];
/**
 * Headers that carry credentials are never logged: the request log below writes the id, the
 * method and the URL alone (no `Authorization`, no `X-API-Key`), and the URL's token parameters are redacted.
 *
 * Query parameters that may carry a token: tRPC's `httpSubscriptionLink` sends `connectionParams` (here
 * `{ token }`); `access_token`, `token` and `api_key` are other APIs' conventions (refused, but sent by some).
 */
const TOKEN_PARAMETERS = /([?&](?:connectionParams|access_token|token|api_key)=)[^&]*/gi;

/** A URL fit for logs: a token in its query is never written anywhere. */
export const loggableUrl = (url: string) => url.replace(TOKEN_PARAMETERS, "$1[redacted]");


/** TRUST_PROXY: "true"/"false", a hop count, or Express's names and address lists ("loopback", "10.0.0.0/8"). */
function trustProxyValue(value: string): boolean | number | string {
  if (value === "true" || value === "false") return value === "true";
  return /^\d+$/.test(value) ? Number(value) : value;
}

export interface AppState {
  /** Set when the process is shutting down: readiness answers 503 so load balancers drain it. */
  draining: boolean;
}

/** Gives each request its one authenticator: asked by the request log, the rate limit, tRPC and REST. */
type RequestAuthenticator = (req: Request) => Authenticate;

/** Metrics, connection draining, security headers and the request log: what every request passes first. */
function mountCommon(app: Express, deps: AppDependencies, state: AppState, authenticate: RequestAuthenticator): void {
  if (deps.metrics) app.use(deps.metrics.httpMiddleware);
  // First, so the deadline counts from the headers' arrival (server/http/server-timeouts.ts).
  app.use(bodyDeadline(deps.config.http.requestTimeoutMs, refusalFor(REST_BASE)));
  // While draining, every response closes its connection: keep-alive clients reconnect (to another
  // instance) instead of holding this one open past its shutdown.
  app.use((_req, res, next) => {
    if (state.draining) res.setHeader("connection", "close");
    next();
  });
  // Security headers; the panel's page loads only its own script and stylesheet, so the default CSP fits.
  app.use(helmet());
  // The request's credentials are verified before anything asks who calls (the log's caller, the
  // organization's rate limit): a verifier that has to wait (a published key to fetch, a key to look up)
  // is awaited here, once; one that knows at once costs no await.
  app.use(API_PATHS, (req, _res, next) => {
    const waiting = authenticate(req).settle();
    if (waiting) void waiting.then(() => next());
    else next();
  });
  app.use(
    requestLog({
      logger: deps.log,
      // A caller's (or load balancer's) x-request-id is kept when it is sane, so logs correlate.
      requestId(req, res) {
        const given = req.headers["x-request-id"];
        const id = typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
        res.setHeader("x-request-id", id);
        return id;
      },
      ignore: (req) => req.url?.startsWith("/health") ?? false,
      authenticate: (req) => authenticate(req as Request),
      loggableUrl,
    }) as express.RequestHandler,
  );
}

/**
 * `GET /health` (the process answers) and `GET /health/ready` (the database answers, not draining). Readiness
 * also says where the rate limits count (`rateLimits`: "redis", or "local" without Redis or while it is
 * away); Redis never makes it fail, since the service serves without it.
 */
function mountHealth(app: Express, deps: AppDependencies, state: AppState): void {
  app.get("/health", (_req, res) => {
    res.json({ status: "healthy" });
  });
  app.get("/health/ready", async (_req, res) => {
    if (state.draining) {
      res.status(503).json({ status: "unavailable", reason: "shutting down" });
      return;
    }
    try {
      await deps.db.ping();
      res.json({ status: "ready", database: deps.db.kind, rateLimits: rateLimitStoreOf(deps.redis) });
    } catch (error) {
      // The details stay in the log: readiness is public, and driver messages name databases and hosts.
      deps.log.warn({ err: error }, "readiness: database did not answer");
      res.status(503).json({ status: "unavailable", reason: "database unavailable" });
    }
  });
}

/** CORS, then for both APIs the declared body limit and the rate limits (per IP, and per organization of a valid token). */
function mountApiGuards(app: Express, deps: AppDependencies, authenticate: RequestAuthenticator): void {
  const { config, log } = deps;
  // A browser may read a replayed create's `Idempotent-Replayed` (a preflight allows any request header asked for, Idempotency-Key included).
  app.use(cors({ origin: config.allowedOrigins, maxAge: 600, exposedHeaders: [IDEMPOTENT_REPLAYED_HEADER] }));
  // 413 and 429 are answered in the shape of the API the request was for.
  const refuse = refusalFor(REST_BASE);
  app.use(API_PATHS, declaredBodyLimit(config.maxBodyBytes, refuse));
  const organizationOf = (req: Request): string | undefined => {
    try {
      return authenticate(req)().me.organizationId;
    } catch {
      return undefined; // no valid token: only the IP limit applies, and the API answers 401
    }
  };
  const rateLimiters = createRateLimiters({ config, organizationOf, redis: deps.redis, log, refuse, onRefusal: deps.metrics?.countRateLimitRefusal, trpcPath: TRPC_BASE });
  if (rateLimiters.length > 0) app.use(API_PATHS, rateLimiters);
}

/**
 * The tRPC API: with TRPC_FAST_PATHS, plain JSON queries and mutations, then plain subscriptions (SSE, a
 * fraction of the adapter's memory per open stream); whatever neither takes goes on to tRPC's adapter.
 */
function mountTrpc(app: Express, deps: AppDependencies, authenticate: RequestAuthenticator): void {
  const { config, log } = deps;
  const contextOf = (req: Request): Context =>
    // The request log has set both id and log (mountCommon).
    createContext(deps, { requestId: req.id, log: req.log, authenticate: authenticate(req), ip: req.ip });
  const onError = ({ error, path, ctx }: { error: TRPCError; path: string | undefined; ctx?: Context | undefined }) => {
    deps.metrics?.countTrpcError(path, error.code);
    if (error.code === "INTERNAL_SERVER_ERROR") {
      (ctx?.log ?? log).error({ err: error.cause ?? error, path, requestId: ctx?.requestId }, "unexpected error");
    }
  };
  // tRPC serves GET (queries, subscriptions) and POST (mutations) and answers PUT, PATCH and DELETE with its
  // own 405; a method it has no case for (TRACE, PROPFIND, ...) it answers with a 500, so those get a 405 in
  // its error shape here.
  const passedOn = new Set(["GET", "POST", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"]);
  app.use(TRPC_BASE, (req, res, next) => {
    if (passedOn.has(req.method)) return next();
    res.setHeader("Allow", "GET, POST");
    res.status(405).json({
      error: {
        message: `${req.method} is not supported: queries and subscriptions are GET, mutations POST`,
        code: -32005,
        data: { code: "METHOD_NOT_SUPPORTED", httpStatus: 405, ...(typeof req.id === "string" && { requestId: req.id }) },
      },
    });
  });
  if (config.trpcFastPaths) {
    app.use(
      TRPC_BASE,
      createJsonAdapter({ router: appRouter, maxBodySize: config.maxBodyBytes, maxBatchSize: config.maxBatchSize, createContext: contextOf, onError }),
      createSseSubscriptionHandler({ router: appRouter, createContext: ({ req }) => contextOf(req), onError }),
    );
  }
  app.use(
    TRPC_BASE,
    trpcExpress.createExpressMiddleware({
      router: appRouter,
      maxBodySize: config.maxBodyBytes,
      maxBatchSize: config.maxBatchSize,
      createContext: ({ req }): Context => contextOf(req),
      onError,
    }),
  );
}

/**
 * The REST API under /api/v1 (every resource of the list, and the built-in API keys when they are on), its
 * OpenAPI document, and /docs.
 */
function mountRest(app: Express, deps: AppDependencies, authenticate: RequestAuthenticator): void {
  const endpoints = restEndpointsOf(definitions);
  const apiKeys = deps.apiKeys && { path: API_KEYS_PATH };
  const openApiDocument = deps.config.docsEnabled ? buildOpenApiDocument(endpoints, { basePath: REST_BASE, apiKeys }) : undefined;
  const builtIns = deps.apiKeys ? [apiKeyRoutes(deps.apiKeys)] : [];
  app.use(REST_BASE, createRestRouter({ dependencies: deps, endpoints, authenticate, openApiDocument, builtIns }));
  app.use("/docs", createDocsRouter({ config: deps.config, openApiUrl: `${REST_BASE}/openapi.json` }));
}

export function createApp(deps: AppDependencies, state: AppState = { draining: false }): Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", trustProxyValue(deps.config.trustProxy));
  const authenticate: RequestAuthenticator = createRequestAuthenticator(deps.verifyToken, { trpcPath: TRPC_BASE, subscriptions: subscriptionPaths });

  mountCommon(app, deps, state, authenticate);
  mountHealth(app, deps, state);
  mountApiGuards(app, deps, authenticate);
  mountTrpc(app, deps, authenticate);
  mountRest(app, deps, authenticate);
  app.use("/panel", createPanelRouter({ router: appRouter, config: deps.config, trpcPath: TRPC_BASE, log: deps.log }));
  app.use((_req, res) => {
    res.status(404).json({ error: "Not found" });
  });
  return app;
}

export { createDependencies } from "./dependencies.js";
