/**
 * The REST routes of the built-in API keys (server/resources/apiKeys/service.ts), in the resources' wire
 * (snake_case, FastAPI's `detail` errors): `POST /api/v1/api-keys` (201, the key and its `secret`, once),
 * `GET /api/v1/api-keys` (a page, newest first), `GET` and `DELETE /api/v1/api-keys/{id}` (200, 204). No
 * update: a key's name, role and expiry are what it was made with; make a new one and delete the old.
 */
import type { Request } from "express";
import { ApiKey, ApiKeyCreated, ApiKeyCreateInput, ApiKeyListObject, ApiKeyPage } from "../contract/apiKeys.js";
import { API_KEY_NAME } from "../resources/apiKeys/service.js";
import type { ApiKeyService } from "../resources/apiKeys/service.js";
import { toSnakeKeys } from "./case.js";
import type { ObjectSchema } from "./case.js";
import type { BuiltInRoutes } from "./rest.router.js";
import { parseSnake } from "./validation.js";

/** The URL segment under /api/v1. */
export const API_KEYS_PATH = "api-keys";

export function apiKeyRoutes(service: ApiKeyService): BuiltInRoutes {
  return (rest, { route, jsonBodyOf, allow, checked, idOf: pathIdOf }) => {
    const idOf = (req: Request) => pathIdOf(req, API_KEY_NAME);
    const collection = `/${API_KEYS_PATH}`;
    const item = `/${API_KEYS_PATH}/:id`;
    rest.post(
      collection,
      route(API_KEY_NAME, async (req, res, actor) => {
        const { data } = parseSnake(ApiKeyCreateInput as unknown as ObjectSchema, jsonBodyOf(req), { location: "body" });
        const created = await service.create(actor, data as { name: string; role: ApiKey["role"]; expiresAt?: string | null });
        res.status(201).json(toSnakeKeys(checked(ApiKeyCreated, created)));
      }),
    );
    rest.get(
      collection,
      route(API_KEY_NAME, async (req, res, actor) => {
        const { data } = parseSnake(ApiKeyListObject as unknown as ObjectSchema, req.query, { location: "query" });
        res.json(toSnakeKeys(checked(ApiKeyPage, await service.list(actor, data as { page: number; limit: number }))));
      }),
    );
    rest.get(
      item,
      route(API_KEY_NAME, async (req, res, actor) => {
        res.json(toSnakeKeys(checked(ApiKey, await service.byId(actor, idOf(req)))));
      }),
    );
    rest.delete(
      item,
      route(API_KEY_NAME, async (req, res, actor) => {
        await service.softDelete(actor, idOf(req));
        res.status(204).end();
      }),
    );
    allow(collection, "GET, POST");
    allow(item, "GET, DELETE");
  };
}
