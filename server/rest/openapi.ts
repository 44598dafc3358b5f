/**
 * The OpenAPI 3.1 document of the REST API, generated from the same zod contract the routes validate
 * with: each resource's schemas renamed to snake_case (case.ts) and turned into JSON Schema by zod's own
 * `z.toJSONSchema` (draft 2020-12, the dialect of OpenAPI 3.1).
 *
 * Why no OpenAPI library: zod-openapi / trpc-to-openapi describe the camelCase procedures, and zod 4
 * already emits the JSON Schema; the document is only the paths around it (the panel does the same).
 * @see https://zod.dev/json-schema
 */
import { z } from "zod";
import { ApiKey, ApiKeyCreated, ApiKeyCreateInput } from "../contract/apiKeys.js";
import { ExpectedUpdatedAt, IdempotencyKey, Pagination } from "../contract/index.js";
import { API_KEY_NAME, API_KEYS_POLICY } from "../resources/apiKeys/service.js";
import type { ObjectSchema } from "./case.js";
import { IdempotencyKeyInUseError, UniqueViolationError } from "../kit/errors.js";
import { snakeCase, snakeSchema } from "./case.js";
import { HTTPError, HTTPValidationError, ValidationError } from "./errors.js";
import { IDEMPOTENT_REPLAYED_HEADER } from "./idempotency.js";
import type { RestEndpoint } from "./endpoints.js";
import { DEFAULT_POLICY } from "../kit/access.js";
import { documentAccess } from "./openapi-access.js";
import { sortValuesOf } from "./validation.js";

type JsonSchema = Record<string, unknown>;

const REF = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** `features` -> `Features`, `api-keys` -> `ApiKeys`. */
function pascalOfPath(path: string): string {
  return path
    .split("-")
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join("");
}

/** A REST path in words: `flag-states` -> `flag states` (as the kit words a key in its messages). */
const wordsOfPath = (path: string) => path.replace(/-/g, " ");

/**
 * The 409s a write of `resource` may answer: a broken unique key (each named as the wire spells its
 * fields), and `more` (the update's stale expected_updated_at). None: the write has no 409 to document.
 */
function conflictOf(resource: RestEndpoint, more: string[] = []): Record<string, unknown> {
  const reasons = [...more, ...resource.unique.map((fields) => `"${UniqueViolationError.messageOf(resource.name, fields, snakeCase)}"`)];
  return reasons.length === 0 ? {} : { "409": problem(reasons.join("; or ")) };
}

/** The delete's 409: live rows of a `restrict` reference still name the row. */
function deleteConflictOf(resource: RestEndpoint): Record<string, unknown> {
  const restricting = resource.referrers.filter((referrer) => referrer.onDelete === "restrict");
  if (restricting.length === 0) return {};
  const reasons = restricting.map((referrer) => `"${resource.name} has live ${wordsOfPath(referrer.path)}" (their ${referrer.param} names it)`);
  return { "409": problem(`Refused while live rows refer to it: ${reasons.join("; or ")}; delete or move them first`) };
}

/** zod's registry output, without what only makes sense in a standalone JSON Schema document. */
function componentsOf(registry: z.core.$ZodRegistry<{ id: string }>, io: "input" | "output"): Record<string, JsonSchema> {
  const { schemas } = z.toJSONSchema(registry, { io, uri: (id) => `#/components/schemas/${id}` });
  return Object.fromEntries(
    Object.entries(schemas).map(([id, schema]) => {
      const { $schema: _schema, $id: _id, ...rest } = schema as JsonSchema;
      return [id, rest];
    }),
  );
}

function standalone(schema: z.ZodType, io: "input" | "output"): JsonSchema {
  const { $schema: _schema, ...rest } = z.toJSONSchema(schema, { io }) as JsonSchema;
  return rest;
}

const json = (schema: JsonSchema) => ({ "application/json": { schema } });
const problem = (description: string) => ({ description, content: json(REF("HTTPError")) });

/** The error answers every authenticated route may give. */
const COMMON_ERRORS = {
  "401": {
    description: 'No token ("Not authenticated") or an invalid, expired or wrongly signed one ("Invalid authentication credentials")',
    headers: { "WWW-Authenticate": { description: "Bearer", schema: { type: "string" } } },
    content: json(REF("HTTPError")),
  },
  "429": {
    description: "Over a rate limit",
    headers: { "Retry-After": { description: "Seconds until the limit resets", schema: { type: "integer" } } },
    content: json(REF("HTTPError")),
  },
  "500": problem("Unexpected error (its details are hidden in production)"),
  "503": problem("The database is unavailable; retry later"),
};
/** A role below the operation's (`x-required-role`), or a role the service does not know. */
const FORBIDDEN = problem('"Not enough permissions": the token\'s role is below the one this operation requires, or not a role of this service');
const BODY_ERRORS = {
  "413": problem("Request body larger than MAX_BODY_BYTES"),
  "422": { description: "Invalid input: every bad field, with its location", content: json(REF("HTTPValidationError")) },
};

/**
 * Every POST's optional `Idempotency-Key` (server/kit/idempotency.ts). Its rule is the contract's (the
 * tRPC create's `idempotencyKey`), so the document and the check cannot differ.
 */
const IDEMPOTENCY_KEY_PARAMETER = {
  name: "Idempotency-Key",
  in: "header",
  required: false,
  description:
    "Makes the create safe to retry. The same key with the same body within 24 hours answers the first create again " +
    "(201, the same row, `Idempotent-Replayed: true`) and writes nothing; the same key with another body, or from another " +
    "user of the organization, is 422 on this header; while the first request with the key is still running, 409 (retry " +
    "shortly). A create that fails keeps no key. Keys are per organization and resource; a UUID per create is a good key.",
  schema: standalone(IdempotencyKey, "input"),
};
/** What a POST's 201 carries beside the entity. */
const CREATED_HEADERS = {
  [IDEMPOTENT_REPLAYED_HEADER]: {
    description: "`true`: this is the first create with the request's Idempotency-Key answered again; nothing was written. Absent otherwise.",
    schema: { type: "string", enum: ["true"] },
  },
};
/** The 409 of a create whose Idempotency-Key's first request is still running. */
const KEY_IN_USE = `"${new IdempotencyKeyInUseError().message}" (the Idempotency-Key's first request is still running)`;
/** A create's 422: its fields, and an Idempotency-Key used for another create. */
const CREATE_INVALID = "Invalid input: every bad field, with its location; or an Idempotency-Key that is malformed or was used for another create (`header`, `idempotency-key`)";

/**
 * A create's 409s: a broken unique key, and an Idempotency-Key still in use. Only a resource with a unique
 * key lists the 409 (tests/rest/openapi.test.ts holds the document to that); for the others the in-use
 * 409 is described on the Idempotency-Key parameter.
 */
function createConflictOf(resource: RestEndpoint): Record<string, unknown> {
  return resource.unique.length === 0 ? {} : conflictOf(resource, [KEY_IN_USE]);
}

export interface OpenApiOptions {
  /** Where the routes are mounted: "/api/v1". */
  basePath: string;
  /**
   * The built-in API keys are served (API_KEYS_ENABLED): the document adds `/api-keys` and its schemas, the
   * `X-API-Key` security scheme, and every operation accepts either scheme. Unset: bearer tokens only, as the
   * service without API keys is.
   */
  apiKeys?: { path: string } | undefined;
  title?: string;
  version?: string;
}

export function buildOpenApiDocument(resources: RestEndpoint[], options: OpenApiOptions) {
  const outputs = z.registry<{ id: string }>();
  const inputs = z.registry<{ id: string }>();
  outputs.add(HTTPError, { id: "HTTPError" });
  outputs.add(ValidationError, { id: "ValidationError" });
  outputs.add(HTTPValidationError, { id: "HTTPValidationError" });
  const pagination = snakeSchema(Pagination);
  outputs.add(pagination, { id: "Pagination" });

  const paths: Record<string, Record<string, unknown>> = {};
  // Either scheme (OpenAPI: alternatives are the entries of the list).
  const security: Record<string, never[]>[] = options.apiKeys ? [{ HTTPBearer: [] }, { APIKeyHeader: [] }] : [{ HTTPBearer: [] }];

  for (const resource of resources) {
    const { name, schemas } = resource;
    const plural = pascalOfPath(resource.path);
    const entity = snakeSchema(schemas.entity);
    outputs.add(entity, { id: name });
    outputs.add(z.object({ data: z.array(entity), pagination }), { id: `${name}Page` });
    inputs.add(snakeSchema(schemas.createInput), { id: `${name}Create` });
    inputs.add(snakeSchema(schemas.updateData).extend({ expected_updated_at: ExpectedUpdatedAt.optional().describe("Optimistic concurrency: the updated_at last read; a stale one is 409") }), {
      id: `${name}Update`,
    });

    const list = standalone(snakeSchema(schemas.listInput), "input") as { properties: Record<string, JsonSchema>; required?: string[] };
    const sortParameter = {
      type: "string",
      enum: sortValuesOf(resource.sortFields),
      description: "The order: a field, ascending, or `-` and the field, descending (ties broken by id). Left out: newest first (`-created_at`).",
    };
    const queryParameters = Object.entries(list.properties).map(([key, schema]) => ({
      name: key,
      in: "query",
      required: list.required?.includes(key) ?? false,
      schema: key === "sort" ? sortParameter : schema,
    }));
    const idSchema = standalone(schemas.entity.shape.id as z.ZodType, "output");
    const idParameter = { name: "id", in: "path", required: true, schema: idSchema };
    const tags = [resource.path];
    const notFound = { "404": { description: `${name} not found: unknown, deleted, another organization's, or not an id`, content: json(REF("HTTPError")) } };
    const updateOperation = (verb: string, summary: string) => ({
      operationId: `${verb}${name}`,
      summary,
      tags,
      security,
      parameters: [idParameter],
      requestBody: { required: true, content: json(REF(`${name}Update`)) },
      responses: {
        "200": { description: `The updated ${name.toLowerCase()}`, content: json(REF(name)) },
        ...conflictOf(resource, [`expected_updated_at is stale: the ${name.toLowerCase()} changed since it was read`]),
        ...notFound,
        ...BODY_ERRORS,
        ...COMMON_ERRORS,
      },
    });

    paths[`${options.basePath}/${resource.path}`] = {
      get: {
        operationId: `list${plural}`,
        summary: `List ${wordsOfPath(resource.path)}, newest first unless sorted`,
        tags,
        security,
        parameters: queryParameters,
        responses: {
          "200": { description: `A page of ${resource.path}`, content: json(REF(`${name}Page`)) },
          "422": BODY_ERRORS["422"],
          ...COMMON_ERRORS,
        },
      },
      post: {
        operationId: `create${name}`,
        summary: `Create a ${name.toLowerCase()}`,
        tags,
        security,
        parameters: [IDEMPOTENCY_KEY_PARAMETER],
        requestBody: { required: true, content: json(REF(`${name}Create`)) },
        responses: {
          "201": { description: `The created ${name.toLowerCase()}`, headers: CREATED_HEADERS, content: json(REF(name)) },
          ...createConflictOf(resource),
          "413": BODY_ERRORS["413"],
          "422": { description: CREATE_INVALID, content: json(REF("HTTPValidationError")) },
          ...COMMON_ERRORS,
        },
      },
    };
    paths[`${options.basePath}/${resource.path}/{id}`] = {
      get: {
        operationId: `read${name}`,
        summary: `Read a ${name.toLowerCase()}`,
        tags,
        security,
        parameters: [idParameter],
        responses: { "200": { description: `The ${name.toLowerCase()}`, content: json(REF(name)) }, ...notFound, "422": BODY_ERRORS["422"], ...COMMON_ERRORS },
      },
      put: updateOperation("update", "Change the fields given (a partial update)"),
      patch: updateOperation("patch", "Change the fields given (the same as PUT)"),
      delete: {
        operationId: `delete${name}`,
        summary: `Delete a ${name.toLowerCase()} (soft: it is gone from every route)`,
        tags,
        security,
        parameters: [idParameter],
        responses: { "204": { description: "Deleted; no body" }, ...notFound, ...deleteConflictOf(resource), "422": BODY_ERRORS["422"], ...COMMON_ERRORS },
      },
    };

    // Each reference's nested routes: the list and the create under one parent row.
    for (const reference of resource.references) {
      const { parent, param } = reference;
      const label = pascalOfPath(param.replace(/_id$/, "").replace(/_/g, "-"));
      const createSchema = snakeSchema(schemas.createInput);
      const referenceSchema = createSchema.shape[param];
      if (!referenceSchema) throw new Error(`REST resource ${name}: its create input has no ${param}`);
      inputs.add(createSchema.extend({ [param]: referenceSchema.optional().describe(`Optional here: the path names the ${parent.name.toLowerCase()}; another value is 422`) }), {
        id: `${name}CreateOf${label}`,
      });
      const parentParameter = { name: param, in: "path", required: true, description: `The id of the ${parent.name.toLowerCase()}`, schema: idSchema };
      const parentNotFound = {
        "404": { description: `${parent.name} not found: unknown, deleted, another organization's, or not an id`, content: json(REF("HTTPError")) },
      };
      paths[`${options.basePath}/${parent.path}/{${param}}/${resource.path}`] = {
        get: {
          operationId: `list${plural}Of${label}`,
          summary: `List the ${wordsOfPath(resource.path)} of the ${parent.name.toLowerCase()} the path names (the flat list filtered by ${param})`,
          tags,
          security,
          parameters: [parentParameter, ...queryParameters.filter((parameter) => parameter.name !== param)],
          responses: {
            "200": { description: `A page of the ${parent.name.toLowerCase()}'s ${wordsOfPath(resource.path)}`, content: json(REF(`${name}Page`)) },
            ...parentNotFound,
            "422": { description: `Invalid input (a query ${param} other than the path's included)`, content: json(REF("HTTPValidationError")) },
            ...COMMON_ERRORS,
          },
        },
        post: {
          operationId: `create${name}Of${label}`,
          summary: `Create one ${name.toLowerCase()} of the ${parent.name.toLowerCase()} the path names (its ${param} from the path)`,
          tags,
          security,
          parameters: [parentParameter, IDEMPOTENCY_KEY_PARAMETER],
          requestBody: { required: true, content: json(REF(`${name}CreateOf${label}`)) },
          responses: {
            "201": { description: `The created ${name.toLowerCase()}`, headers: CREATED_HEADERS, content: json(REF(name)) },
            ...parentNotFound,
            ...createConflictOf(resource),
            "413": BODY_ERRORS["413"],
            "422": { description: `${CREATE_INVALID} (a body ${param} other than the path's included)`, content: json(REF("HTTPValidationError")) },
            ...COMMON_ERRORS,
          },
        },
      };
    }

    // Who may call each operation (`x-required-role`, the 403), nested routes included: they are the list and the create.
    const nested = resource.references.map(({ parent, param }) => `${options.basePath}/${parent.path}/{${param}}/${resource.path}`);
    for (const path of [`${options.basePath}/${resource.path}`, `${options.basePath}/${resource.path}/{id}`, ...nested]) {
      documentAccess(paths[path] ?? {}, resource.access ?? DEFAULT_POLICY, FORBIDDEN);
    }
  }

  if (options.apiKeys) {
    const base = `${options.basePath}/${options.apiKeys.path}`;
    const entity = snakeSchema(ApiKey);
    outputs.add(entity, { id: API_KEY_NAME });
    outputs.add(snakeSchema(ApiKeyCreated), { id: `${API_KEY_NAME}Created` });
    outputs.add(z.object({ data: z.array(entity), pagination }), { id: `${API_KEY_NAME}Page` });
    inputs.add(snakeSchema(ApiKeyCreateInput as unknown as ObjectSchema), { id: `${API_KEY_NAME}Create` });
    Object.assign(paths, apiKeyPaths(base, security));
    for (const path of [base, `${base}/{id}`]) documentAccess(paths[path] ?? {}, API_KEYS_POLICY, FORBIDDEN);
  }

  return {
    openapi: "3.1.0",
    info: {
      title: options.title ?? "Kuark Features service",
      version: options.version ?? "1.0.0",
      description: options.apiKeys
        ? "The REST API of the FastAPI service, served beside tRPC. Every route needs `Authorization: Bearer <token>` (a JWT or an API key) or `X-API-Key: <API key>`; the organization comes from the credential."
        : "The REST API of the FastAPI service, served beside tRPC. Every route needs `Authorization: Bearer <token>`; the organization comes from the token.",
    },
    paths,
    components: {
      schemas: { ...componentsOf(outputs, "output"), ...componentsOf(inputs, "input") },
      securitySchemes: {
        HTTPBearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" },
        ...(options.apiKeys && {
          APIKeyHeader: { type: "apiKey", in: "header", name: "X-API-Key", description: "An API key (kuark_...); also accepted as Authorization: Bearer kuark_..." },
        }),
      },
    },
  };
}

/** The built-in API keys' routes: create (the secret, once), list, read and delete; no update. */
function apiKeyPaths(base: string, security: Record<string, never[]>[]): Record<string, Record<string, unknown>> {
  const tags = ["api-keys"];
  const idParameter = { name: "id", in: "path", required: true, schema: { type: "string", format: "uuid" } };
  const notFound = { "404": { description: `${API_KEY_NAME} not found: unknown, deleted, another organization's, or not an id`, content: json(REF("HTTPError")) } };
  const integer = (minimum: number, maximum: number, value: number) => ({ type: "integer", minimum, maximum, default: value });
  return {
    [base]: {
      get: {
        operationId: "listApiKeys",
        summary: "List the organization's API keys, newest first (never their secrets)",
        tags,
        security,
        parameters: [
          { name: "page", in: "query", required: false, schema: integer(1, 1_000_000, 1) },
          { name: "limit", in: "query", required: false, schema: integer(1, 100, 20) },
        ],
        responses: { "200": { description: "A page of API keys", content: json(REF(`${API_KEY_NAME}Page`)) }, "422": BODY_ERRORS["422"], ...COMMON_ERRORS },
      },
      post: {
        operationId: "createApiKey",
        summary: "Create an API key with a role no higher than the caller's; the answer holds its secret, the only time it is shown",
        tags,
        security,
        requestBody: { required: true, content: json(REF(`${API_KEY_NAME}Create`)) },
        responses: { "201": { description: "The created key, with its secret", content: json(REF(`${API_KEY_NAME}Created`)) }, ...BODY_ERRORS, ...COMMON_ERRORS },
      },
    },
    [`${base}/{id}`]: {
      get: {
        operationId: "readApiKey",
        summary: "Read an API key (never its secret)",
        tags,
        security,
        parameters: [idParameter],
        responses: { "200": { description: "The API key", content: json(REF(API_KEY_NAME)) }, ...notFound, "422": BODY_ERRORS["422"], ...COMMON_ERRORS },
      },
      delete: {
        operationId: "deleteApiKey",
        summary: "Revoke an API key: refused everywhere within a second",
        tags,
        security,
        parameters: [idParameter],
        responses: { "204": { description: "Revoked; no body" }, ...notFound, "422": BODY_ERRORS["422"], ...COMMON_ERRORS },
      },
    },
  };
}

export type OpenApiDocument = ReturnType<typeof buildOpenApiDocument>;
