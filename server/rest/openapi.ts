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
import { ExpectedUpdatedAt, Pagination } from "../contract/index.js";
import { snakeSchema } from "./case.js";
import { HTTPError, HTTPValidationError, ValidationError } from "./errors.js";
import type { RestEndpoint } from "./endpoints.js";
import { DEFAULT_POLICY } from "../kit/access.js";
import { documentAccess } from "./openapi-access.js";

type JsonSchema = Record<string, unknown>;

const REF = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** `features` -> `Features`, `api-keys` -> `ApiKeys`. */
function pascalOfPath(path: string): string {
  return path
    .split("-")
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join("");
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

export interface OpenApiOptions {
  /** Where the routes are mounted: "/api/v1". */
  basePath: string;
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
  const security = [{ HTTPBearer: [] }];

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
    const queryParameters = Object.entries(list.properties).map(([key, schema]) => ({
      name: key,
      in: "query",
      required: list.required?.includes(key) ?? false,
      schema,
    }));
    const idParameter = { name: "id", in: "path", required: true, schema: standalone(schemas.entity.shape.id as z.ZodType, "output") };
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
        "409": problem(`expected_updated_at is stale: the ${name.toLowerCase()} changed since it was read`),
        ...notFound,
        ...BODY_ERRORS,
        ...COMMON_ERRORS,
      },
    });

    paths[`${options.basePath}/${resource.path}`] = {
      get: {
        operationId: `list${plural}`,
        summary: `List ${resource.path}, newest first`,
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
        requestBody: { required: true, content: json(REF(`${name}Create`)) },
        responses: {
          "201": { description: `The created ${name.toLowerCase()}`, content: json(REF(name)) },
          ...BODY_ERRORS,
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
        responses: { "204": { description: "Deleted; no body" }, ...notFound, "422": BODY_ERRORS["422"], ...COMMON_ERRORS },
      },
    };
    for (const path of ["", "/{id}"]) documentAccess(paths[`${options.basePath}/${resource.path}${path}`] ?? {}, resource.access ?? DEFAULT_POLICY, FORBIDDEN);
  }

  return {
    openapi: "3.1.0",
    info: {
      title: options.title ?? "Kuark Features service",
      version: options.version ?? "1.0.0",
      description: "The REST API of the FastAPI service, served beside tRPC. Every route needs `Authorization: Bearer <token>`; the organization comes from the token.",
    },
    paths,
    components: {
      schemas: { ...componentsOf(outputs, "output"), ...componentsOf(inputs, "input") },
      securitySchemes: { HTTPBearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
    },
  };
}

export type OpenApiDocument = ReturnType<typeof buildOpenApiDocument>;
