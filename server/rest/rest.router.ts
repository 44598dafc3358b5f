/**
 * The REST API under /api/v1: the FastAPI service's routes and wire (snake_case, `detail` errors) for
 * every endpoint of `restEndpointsOf(definitions)`, on the same services the tRPC procedures call.
 *
 * Why not trpc-to-openapi (3.x, peer zod-openapi 5): it exposes each procedure with the procedure's own
 * camelCase schemas and tRPC's error shape, while the clients of the old service need snake_case and
 * FastAPI's `detail`; mapping both ways around it would be more code than these routes, which are
 * derived from the same zod contract (see case.ts, validation.ts, openapi.ts).
 */
import express from "express";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import type { z } from "zod";
import { admit, MissingCredentialsError } from "../auth/authenticator.js";
import type { Authenticate } from "../auth/authenticator.js";
import { InvalidTokenError } from "../auth/token.js";
import type { Config } from "../config.js";
import { ExpectedUpdatedAt } from "../contract/index.js";
import { ResourceId } from "../contract/common.js";
import type { ResourceContract } from "../contract/common.js";
import { NotFoundError } from "../kit/errors.js";
import type { Actor } from "../kit/scope.js";
import type { AnyResourceServices, ResourceService } from "../kit/service.js";
import { bodyTooLargeMessage } from "../http/refusal.js";
import { sendsBody } from "../http/server-timeouts.js";
import type { Organizations } from "../organizations.js";
import { toSnakeKeys } from "./case.js";
import type { RestEndpoint } from "./endpoints.js";
import { invalidCredentials, notAuthenticated, notFound, RestError, restErrorOf } from "./errors.js";
import { IDEMPOTENT_REPLAYED_HEADER, idempotencyKeyOf } from "./idempotency.js";
import { parseSnake } from "./validation.js";

export interface RestRouterOptions {
  /** What the routes use of the app's dependencies. */
  dependencies: { config: Config; resourceServices: AnyResourceServices; organizations: Organizations };
  endpoints: RestEndpoint[];
  /** The request's one authenticator (server/auth/authenticator.ts, shared with tRPC and the rate limit). */
  authenticate: (req: Request) => Authenticate;
  /** Set: `GET /openapi.json` answers this document. */
  openApiDocument?: object | undefined;
  /** Routes mounted beside the resources' (the built-in API keys: ./api-keys.routes.ts), with the same authentication and errors. */
  builtIns?: readonly BuiltInRoutes[] | undefined;
}

/** What a built-in's routes are made with: the resources' own authentication, body reading and error answers. */
export interface RestTools {
  /** A handler that admits the caller, runs `handle`, and answers anything it throws in the REST shape (404 "`resourceName` not found"). */
  route: (resourceName: string, handle: (req: Request, res: Response, actor: Actor) => Promise<void>) => RequestHandler;
  /** The request's JSON body (422 when a body was sent as something else). */
  jsonBodyOf: (req: Request) => unknown;
  /** Answers anything but the listed methods of `path` with 405 and `Allow`. */
  allow: (path: string, methods: string) => void;
  /** An answer checked against its schema, as the resources' answers are. */
  checked: typeof checked;
  /** The path's `id` as the resources read it: NUL is 422, anything else not an id is "`what` not found". */
  idOf: (req: Request, what: string) => string;
}

export type BuiltInRoutes = (rest: express.Router, tools: RestTools) => void;

/** Writes a RestError as the old service did: its status, its headers, `{ "detail": ... }`. */
export function sendRestError(res: Response, error: RestError): void {
  res.set(error.headers).status(error.status).json({ detail: error.detail });
}

const UPDATE_EXTRA = { expectedUpdatedAt: ExpectedUpdatedAt.optional() };

/**
 * An answer checked against its schema before it is sent, as tRPC's `.output()` checks every procedure's:
 * a service that returned something else is a bug (500, logged), never a malformed answer on the wire.
 */
function checked<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new Error(`REST: the answer does not match its schema: ${result.error.message}`);
  return result.data;
}

/**
 * The path's id (`param`: `id`, or a nested route's parent, `project_id`). Text with a NUL character is bad
 * input everywhere (422, as on tRPC); any other string that cannot be an id (not a UUID) is a 404 in the
 * name of `what` it would be the id of, as the old service answered it.
 */
function pathIdOf(idSchema: z.ZodType, req: Request, param: string, what: string): string {
  const raw = req.params[param];
  if (typeof raw === "string" && raw.includes("\u0000")) {
    throw new RestError(422, [{ loc: ["path", param], msg: "must not contain NUL characters", type: "custom" }]);
  }
  const parsed = idSchema.safeParse(raw);
  if (!parsed.success) throw notFound(what);
  return parsed.data as string;
}

/**
 * The request's JSON body. express.json() reads only bodies sent as `application/json`: a body sent as
 * anything else (or with no Content-Type) is refused with a 422 that says so, rather than "Field required".
 */
function jsonBodyOf(req: Request): unknown {
  if (req.body === undefined && sendsBody(req)) {
    throw new RestError(422, [{ loc: ["body"], msg: "The body must be JSON, sent with Content-Type: application/json", type: "model_attributes_type" }]);
  }
  return req.body;
}

export function createRestRouter(options: RestRouterOptions): express.Router {
  const { dependencies, endpoints, authenticate } = options;
  const { config, resourceServices, organizations } = dependencies;
  const production = config.nodeEnv === "production";
  const rest = express.Router();
  rest.use(express.json({ limit: config.maxBodyBytes }));

  if (options.openApiDocument) {
    const document = options.openApiDocument;
    rest.get("/openapi.json", (_req, res) => {
      res.json(document);
    });
  }

  /** A handler that admits the caller, runs `handle`, and answers anything it throws in the REST shape. */
  const routeOf: RestTools["route"] = (resourceName, handle) => async (req, res) => {
    try {
      await handle(req, res, await actorOf(req));
    } catch (cause) {
      const { error, expected } = restErrorOf(cause, { resourceName, production });
      if (!expected) req.log.error({ err: cause, requestId: req.id }, "unexpected error");
      sendRestError(res, error);
    }
  };

  for (const resource of endpoints) {
    const service = resource.service(resourceServices);
    const entity = (value: unknown) => checked(resource.schemas.entity, value);
    const idSchema = resource.schemas.entity.shape.id;
    if (!idSchema) throw new Error(`REST resource ${resource.name}: its entity has no id`);

    /** Authenticates, then runs `handle`; anything it throws is answered in the REST shape. */
    const route = (handle: (req: Request, res: Response, actor: Actor, service: ResourceService<ResourceContract>) => Promise<void>): RequestHandler =>
      routeOf(resource.name, (req, res, actor) => handle(req, res, actor, service));
    const idOf = (req: Request): string => pathIdOf(idSchema, req, "id", resource.name);
    const { sortFields } = resource;

    const collection = `/${resource.path}`;
    const item = `/${resource.path}/:id`;

    /** A create's body and Idempotency-Key, every bad field of both in one 422 (as FastAPI answers headers and body). */
    const createOf = (req: Request, fromPath?: Record<string, string>) => {
      const { key, errors } = idempotencyKeyOf(req);
      let data: Record<string, unknown>;
      try {
        data = parseSnake(resource.schemas.createInput, jsonBodyOf(req), { location: "body", fromPath }).data;
      } catch (cause) {
        if (errors.length > 0 && cause instanceof RestError && Array.isArray(cause.detail)) throw new RestError(422, [...errors, ...cause.detail]);
        throw cause;
      }
      if (errors.length > 0) throw new RestError(422, errors);
      return { data, idempotencyKey: key };
    };
    /** 201 and the entity; with a key, a replay of its first create says so in `Idempotent-Replayed: true`. */
    const created = async (res: Response, actor: Actor, svc: ResourceService<ResourceContract>, { data, idempotencyKey }: ReturnType<typeof createOf>) => {
      if (idempotencyKey === undefined) {
        res.status(201).json(toSnakeKeys(entity(await svc.create(actor, data))));
        return;
      }
      const answer = await svc.createWithKey(actor, data, idempotencyKey);
      if (answer.replayed) res.setHeader(IDEMPOTENT_REPLAYED_HEADER, "true");
      res.status(201).json(toSnakeKeys(entity(answer.entity)));
    };

    rest.post(
      collection,
      route(async (req, res, actor, svc) => {
        await created(res, actor, svc, createOf(req));
      }),
    );

    rest.get(
      collection,
      route(async (req, res, actor, svc) => {
        const { data } = parseSnake(resource.schemas.listInput, req.query, { location: "query", sortFields });
        res.json(toSnakeKeys(checked(resource.schemas.page, await svc.list(actor, data as { page: number; limit: number }))));
      }),
    );

    rest.get(
      item,
      route(async (req, res, actor, svc) => {
        const id = idOf(req);
        res.json(toSnakeKeys(entity(await svc.byId(actor, id))));
      }),
    );

    // The old service's PUT was a partial update; PATCH is the same call.
    const update = route(async (req, res, actor, svc) => {
      const id = idOf(req);
      const { data, extra } = parseSnake(resource.schemas.updateData, jsonBodyOf(req), { location: "body", extra: UPDATE_EXTRA });
      res.json(toSnakeKeys(entity(await svc.update(actor, id, data, extra.expectedUpdatedAt))));
    });
    rest.put(item, update);
    rest.patch(item, update);

    rest.delete(
      item,
      route(async (req, res, actor, svc) => {
        await svc.softDelete(actor, idOf(req));
        res.status(204).end();
      }),
    );

    const allowed: [string, string][] = [
      [collection, "GET, POST"],
      [item, "GET, PUT, PATCH, DELETE"],
    ];

    // Each reference's nested routes: the list and the create under one parent (`/projects/{project_id}/environments`).
    for (const reference of resource.references) {
      const { parent } = reference;
      const parentService = parent.service(resourceServices);
      const nested = `/${parent.path}/:${reference.param}/${resource.path}`;
      const parentIdOf = (req: Request): string => pathIdOf(idSchema, req, reference.param, parent.name);
      /**
       * The path's parent must be a live row of the caller's organization, else 404 "Project not found".
       * Checked after the input (every bad field at once, as on the flat routes), before the call.
       */
      const ensureParent = async (actor: Actor, parentId: string): Promise<void> => {
        try {
          await parentService.byId(actor, parentId);
        } catch (cause) {
          throw cause instanceof NotFoundError ? notFound(parent.name) : cause;
        }
      };

      rest.get(
        nested,
        route(async (req, res, actor, svc) => {
          const parentId = parentIdOf(req);
          const { data } = parseSnake(resource.schemas.listInput, req.query, { location: "query", sortFields, fromPath: { [reference.field]: parentId } });
          await ensureParent(actor, parentId);
          res.json(toSnakeKeys(checked(resource.schemas.page, await svc.list(actor, data as { page: number; limit: number }))));
        }),
      );

      rest.post(
        nested,
        route(async (req, res, actor, svc) => {
          const parentId = parentIdOf(req);
          const create = createOf(req, { [reference.field]: parentId });
          await ensureParent(actor, parentId);
          await created(res, actor, svc, create);
        }),
      );
      allowed.push([nested, "GET, POST"]);
    }

    for (const [path, methods] of allowed) {
      rest.all(path, (_req, res) => {
        res.setHeader("Allow", methods);
        sendRestError(res, new RestError(405, "Method Not Allowed"));
      });
    }
  }

  /** The caller, admitted as tRPC's orgProcedure admits it (`admit`); its refusal in the old service's words. */
  async function actorOf(req: Request): Promise<Actor> {
    try {
      return (await admit(authenticate(req), organizations)).actor;
    } catch (error) {
      if (error instanceof MissingCredentialsError) throw notAuthenticated();
      if (error instanceof InvalidTokenError) throw invalidCredentials();
      throw error;
    }
  }

  const tools: RestTools = {
    route: routeOf,
    jsonBodyOf,
    checked,
    idOf: (req, what) => pathIdOf(ResourceId(), req, "id", what),
    allow: (path, methods) => {
      rest.all(path, (_req, res) => {
        res.setHeader("Allow", methods);
        sendRestError(res, new RestError(405, "Method Not Allowed"));
      });
    },
  };
  for (const mount of options.builtIns ?? []) mount(rest, tools);

  rest.use((_req, res) => {
    sendRestError(res, new RestError(404, "Not Found"));
  });

  // Bodies express.json() refuses: malformed JSON is bad input (422, as FastAPI answers it), never a 500.
  rest.use((error: { status?: number; type?: string; message?: string }, req: Request, res: Response, _next: NextFunction) => {
    if (error.type === "entity.parse.failed") {
      sendRestError(res, new RestError(422, [{ loc: ["body"], msg: "JSON decode error", type: "json_invalid" }]));
    } else if (error.type === "entity.too.large") {
      res.setHeader("connection", "close");
      sendRestError(res, new RestError(413, bodyTooLargeMessage(config.maxBodyBytes)));
    } else if (error.status && error.status >= 400 && error.status < 500) {
      sendRestError(res, new RestError(error.status, error.message ?? "Bad request"));
    } else {
      req.log.error({ err: error, requestId: req.id }, "unexpected error");
      sendRestError(res, new RestError(500, production ? "Internal server error" : (error.message ?? "Internal server error")));
    }
  });

  return rest;
}
