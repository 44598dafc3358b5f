/**
 * The HTTP surface: health checks, CORS, the tRPC API under /trpc, the REST API under /api/v1 (with its
 * OpenAPI document and /docs), and the developer panel under /panel.
 */
import { randomUUID } from "node:crypto";
import type { TRPCError } from "@trpc/server";
import * as trpcExpress from "@trpc/server/adapters/express";
import cors from "cors";
import express from "express";
import type { Express, Request } from "express";
import helmet from "helmet";
import { pinoHttp } from "pino-http";
import { expiryOf, headerAuthenticator } from "./auth/token.js";
import type { Me } from "./contract/index.js";
import { requestLogProps } from "./observability/request-log.js";
import { createRateLimiters } from "./http/rate-limit.js";
import { createSseSubscriptionHandler } from "./http/sse-subscriptions.js";
import { declaredBodyLimit, refusalFor } from "./http/refusal.js";
import { createPanelRouter } from "./panel/panel.router.js";
import { createDocsRouter } from "./rest/docs.router.js";
import { buildOpenApiDocument } from "./rest/openapi.js";
import { restResources } from "./rest/resources.js";
import { createRestRouter } from "./rest/rest.router.js";
import { createContext } from "./trpc/context.js";
import type { Context, Services } from "./trpc/context.js";
import { createJsonAdapter } from "./trpc/json-adapter.js";
import { appRouter } from "./trpc/router.js";

const REQUEST_ID = /^[\w.:-]{1,100}$/;
/** Where the REST API is mounted; /trpc and it share the body limit, the rate limits and the authenticator. */
const REST_BASE = "/api/v1";
const API_PATHS = ["/trpc", REST_BASE];
/** tRPC's `httpSubscriptionLink` sends `connectionParams` (here `{ token }`) as this query parameter. */
const CONNECTION_PARAMS = /([?&]connectionParams=)[^&]*/g;

/** A URL fit for logs: a token in `connectionParams` is never written anywhere. */
export const loggableUrl = (url: string) => url.replace(CONNECTION_PARAMS, "$1[redacted]");

/**
 * The request's `Authorization` header; for a tRPC GET without one (a subscription from a browser's
 * EventSource, which cannot send headers), the `token` of its `connectionParams`, as a bearer header.
 */
function authorizationOf(req: Request): string | undefined {
  if (req.headers.authorization !== undefined) return req.headers.authorization;
  const params = req.method === "GET" && req.originalUrl.startsWith("/trpc/") ? req.query.connectionParams : undefined;
  if (typeof params !== "string") return undefined;
  try {
    const token = (JSON.parse(params) as { token?: unknown } | null)?.token;
    return typeof token === "string" ? `Bearer ${token}` : undefined;
  } catch {
    return undefined;
  }
}

/** TRUST_PROXY: "true"/"false", a hop count, or Express's names and address lists ("loopback", "10.0.0.0/8"). */
function trustProxyValue(value: string): boolean | number | string {
  if (value === "true" || value === "false") return value === "true";
  return /^\d+$/.test(value) ? Number(value) : value;
}

export interface AppState {
  /** Set when the process is shutting down: readiness answers 503 so load balancers drain it. */
  draining: boolean;
}

export function createApp(services: Services, state: AppState = { draining: false }): Express {
  const { config, db, log } = services;
  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", trustProxyValue(config.trustProxy));
  if (services.metrics) app.use(services.metrics.httpMiddleware);
  // While draining, every response closes its connection: keep-alive clients reconnect (to another
  // instance) instead of holding this one open past its shutdown.
  app.use((_req, res, next) => {
    if (state.draining) res.setHeader("connection", "close");
    next();
  });
  // Security headers; the panel's page loads only its own script and stylesheet, so the default CSP fits.
  app.use(helmet());

  app.use(
    pinoHttp({
      logger: log,
      // A caller's (or load balancer's) x-request-id is kept when it is sane, so logs correlate.
      genReqId(req, res) {
        const given = req.headers["x-request-id"];
        const id = typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
        res.setHeader("x-request-id", id);
        return id;
      },
      autoLogging: { ignore: (req) => req.url?.startsWith("/health") ?? false },
      customProps: (req) => requestLogProps(req, authenticatorOf(req as Request)),
      serializers: {
        req: (req: { id: string; method: string; url: string }) => ({ id: req.id, method: req.method, url: loggableUrl(req.url) }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    }),
  );

  app.get("/health", (_req, res) => {
    res.json({ status: "healthy" });
  });

  app.get("/health/ready", async (_req, res) => {
    if (state.draining) {
      res.status(503).json({ status: "unavailable", reason: "shutting down" });
      return;
    }
    try {
      await db.ping();
      res.json({ status: "ready", database: db.kind });
    } catch (error) {
      // The details stay in the log: readiness is public, and driver messages name databases and hosts.
      log.warn({ err: error }, "readiness: database did not answer");
      res.status(503).json({ status: "unavailable", reason: "database unavailable" });
    }
  });

  app.use(cors({ origin: config.allowedOrigins, maxAge: 600 }));

  // 413 and 429 are answered in the shape of the API the request was for.
  const refuse = refusalFor(REST_BASE);
  app.use(API_PATHS, declaredBodyLimit(config.maxBodyBytes, refuse));
  // One authenticator per request, shared by the per-organization rate limit and orgProcedure.
  const authenticators = new WeakMap<object, () => Me>();
  const authenticatorOf = (req: Request): (() => Me) => {
    let authenticate = authenticators.get(req);
    if (!authenticate) {
      authenticate = headerAuthenticator(services.verifyToken, authorizationOf(req));
      authenticators.set(req, authenticate);
    }
    return authenticate;
  };
  const organizationOf = (req: Request): string | undefined => {
    try {
      return authenticatorOf(req)().organizationId;
    } catch {
      return undefined; // no valid token: only the IP limit applies, and the procedure answers 401
    }
  };
  const rateLimiters = createRateLimiters({ config, organizationOf, redis: services.redis, log, refuse, onRefusal: services.metrics?.countRateLimitRefusal });
  if (rateLimiters.length > 0) app.use(API_PATHS, rateLimiters);

  const contextOf = (req: Request): Context =>
    // pino-http has set both id and log (its genReqId above returns a string).
    createContext(services, {
      requestId: req.id as string,
      log: req.log,
      authenticate: authenticatorOf(req),
      credentialsExpireAt: () => expiryOf(authorizationOf(req)),
      ip: req.ip,
    });
  const onTrpcError = ({ error, path, ctx }: { error: TRPCError; path: string | undefined; ctx?: Context | undefined }) => {
    services.metrics?.countTrpcError(path, error.code);
    if (error.code === "INTERNAL_SERVER_ERROR") {
      (ctx?.log ?? log).error({ err: error.cause ?? error, path, requestId: ctx?.requestId }, "unexpected error");
    }
  };
  // The fast paths (TRPC_FAST_PATHS): plain JSON queries and mutations, then plain subscriptions (SSE, a
  // fraction of the adapter's memory per open stream); whatever neither takes goes on to tRPC's adapter.
  if (config.trpcFastPaths) {
    app.use(
      "/trpc",
      createJsonAdapter({ router: appRouter, maxBodySize: config.maxBodyBytes, maxBatchSize: config.maxBatchSize, createContext: contextOf, onError: onTrpcError }),
      createSseSubscriptionHandler({ router: appRouter, createContext: ({ req }) => contextOf(req), onError: onTrpcError }),
    );
  }
  app.use(
    "/trpc",
    trpcExpress.createExpressMiddleware({
      router: appRouter,
      maxBodySize: config.maxBodyBytes,
      maxBatchSize: config.maxBatchSize,
      createContext: ({ req }): Context => contextOf(req),
      onError: onTrpcError,
    }),
  );

  const openApiDocument = config.docsEnabled ? buildOpenApiDocument(restResources, { basePath: REST_BASE }) : undefined;
  app.use(REST_BASE, createRestRouter({ services, resources: restResources, authenticatorOf, openApiDocument }));
  app.use("/docs", createDocsRouter({ config, openApiUrl: `${REST_BASE}/openapi.json` }));

  app.use("/panel", createPanelRouter({ router: appRouter, config, trpcPath: "/trpc", log }));

  app.use((_req, res) => {
    res.status(404).json({ error: "Not found" });
  });

  return app;
}

export { createServices } from "./services.js";
