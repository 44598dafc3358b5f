/**
 * The OpenAPI document: valid for a maintained validator, describing every route with its parameters,
 * bodies, responses and the bearer scheme; on/off like the panel; and derived for any resource from its
 * descriptor alone (a second resource gets routes and entries with no REST code of its own).
 */
import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { featureContract } from "../../server/contract/features.js";
import { authenticatorOf } from "../../server/auth/authenticator.js";
import { buildOpenApiDocument } from "../../server/rest/openapi.js";
import type { RestEndpoint } from "../../server/rest/endpoints.js";
import { restEndpointsOf } from "../../server/rest/endpoints.js";
import { definitions } from "../../server/resources/definitions.js";
import { createRestRouter } from "../../server/rest/rest.router.js";
import type { AppDependencies } from "../../server/dependencies.js";
import { makeDependencies, startServer, testConfig, tokenFor } from "../support/app.js";
import type { RunningServer } from "../support/app.js";
import { createTestDatabase } from "../support/database.js";
import type { TestDatabase } from "../support/database.js";
import { DocumentedApi } from "./documented-api.js";
import type { OpenApiDocumentJson } from "./documented-api.js";
import { definitionOf, everyReference, everyRoute } from "./registry-routes.js";
import { everyResource } from "../support/fixtures.js";

let testDb: TestDatabase;
let deps: AppDependencies;
const servers: RunningServer[] = [];

beforeAll(async () => {
  testDb = await createTestDatabase();
  deps = makeDependencies(testDb.db);
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await testDb?.drop();
});

async function serve(env: NodeJS.ProcessEnv): Promise<RunningServer> {
  const server = await startServer(makeDependencies(testDb.db, { config: testConfig(env) }));
  servers.push(server);
  return server;
}

type Operation = {
  operationId: string;
  parameters?: { name: string; in: string; required: boolean; schema: Record<string, unknown> }[];
  requestBody?: { content: { "application/json": { schema: { $ref: string } } } };
  responses: Record<string, { content?: { "application/json": { schema: { $ref: string } } }; headers?: Record<string, unknown> }>;
  security: Record<string, string[]>[];
};

describe("GET /api/v1/openapi.json", () => {
  let document: OpenApiDocumentJson & { components: { securitySchemes: Record<string, unknown> } };

  beforeAll(async () => {
    const api = await DocumentedApi.load((await serve({})).url); // validated there
    document = api.document as typeof document;
  });

  it("is OpenAPI 3.1 with every route and method, each behind the bearer scheme", () => {
    expect(document.openapi).toBe("3.1.0");
    const documented = Object.fromEntries(Object.entries(document.paths).map(([path, methods]) => [path, Object.keys(methods).sort()]));
    expect(documented).toMatchObject({
      "/api/v1/features": ["get", "post"],
      "/api/v1/features/{id}": ["delete", "get", "patch", "put"],
    });
    // Every route of every registered resource (nested routes of its references included), and no other.
    expect(documented).toEqual(Object.fromEntries(Object.entries(everyRoute()).map(([path, methods]) => [path, methods.map((m) => m.toLowerCase()).sort()])));
    expect(document.components.securitySchemes).toEqual({ HTTPBearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } });
    for (const methods of Object.values(document.paths)) {
      for (const operation of Object.values(methods) as unknown as Operation[]) {
        expect(operation.security).toEqual([{ HTTPBearer: [] }]);
        expect(operation.responses["401"]?.headers).toHaveProperty("WWW-Authenticate");
        expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(["401", "429", "500", "503"]));
      }
    }
  });

  it("describes the list's query parameters with the contract's defaults and limits", () => {
    const list = document.paths["/api/v1/features"]!.get as unknown as Operation;
    const byName = Object.fromEntries((list.parameters ?? []).map((p) => [p.name, p]));
    expect(Object.keys(byName)).toEqual(["page", "limit", "search", "sort", "status"]);
    expect(Object.values(byName).every((p) => p.in === "query" && !p.required)).toBe(true);
    expect(byName.page!.schema).toMatchObject({ type: "integer", minimum: 1, default: 1 });
    expect(byName.limit!.schema).toMatchObject({ type: "integer", minimum: 1, maximum: 100, default: 20 });
    expect(byName.status!.schema).toMatchObject({ enum: ["ACTIVE", "INACTIVE"] });
    // The REST spelling of the contract's { field, direction }: a snake_case field, `-` for descending.
    expect(byName.sort!.schema).toMatchObject({ type: "string", enum: ["created_at", "-created_at", "updated_at", "-updated_at", "name", "-name"] });
  });

  it("has the snake_case schemas: entity, page with its pagination object, bodies, and FastAPI's errors", () => {
    const schemas = document.components.schemas as Record<string, { properties: Record<string, unknown>; required?: string[]; additionalProperties?: boolean }>;
    expect(schemas.Feature!.required).toEqual(
      expect.arrayContaining(["id", "name", "description", "status", "organization_id", "created_at", "updated_at", "created_by_id", "updated_by_id"]),
    );
    expect(schemas.Pagination!.required).toEqual(["page", "limit", "total", "total_pages", "total_is_estimate"]);
    expect(schemas.FeaturePage!.properties).toEqual({ data: { type: "array", items: { $ref: "#/components/schemas/Feature" } }, pagination: { $ref: "#/components/schemas/Pagination" } });
    expect(schemas.FeatureCreate).toMatchObject({ required: ["name"], additionalProperties: false });
    expect(schemas.FeatureCreate!.properties.name).toMatchObject({ minLength: 2, maxLength: 200 });
    expect(Object.keys(schemas.FeatureUpdate!.properties)).toEqual(["name", "description", "status", "expected_updated_at"]);
    expect(schemas.FeatureUpdate!.required).toBeUndefined();
    expect(schemas.HTTPValidationError!.properties.detail).toEqual({ type: "array", items: { $ref: "#/components/schemas/ValidationError" } });
    expect(schemas.ValidationError!.required).toEqual(["loc", "msg", "type"]);
    expect(schemas.HTTPError!.required).toEqual(["detail"]);

    const create = document.paths["/api/v1/features"]!.post as unknown as Operation;
    expect(create.requestBody?.content["application/json"].schema).toEqual({ $ref: "#/components/schemas/FeatureCreate" });
    expect(create.responses["201"]?.content?.["application/json"].schema).toEqual({ $ref: "#/components/schemas/Feature" });
    expect(create.responses["422"]?.content?.["application/json"].schema).toEqual({ $ref: "#/components/schemas/HTTPValidationError" });
    const remove = document.paths["/api/v1/features/{id}"]!.delete as unknown as Operation;
    expect(remove.responses["204"]?.content).toBeUndefined();
    expect(remove.responses["404"]?.content?.["application/json"].schema).toEqual({ $ref: "#/components/schemas/HTTPError" });
    const put = document.paths["/api/v1/features/{id}"]!.put as unknown as Operation;
    expect(Object.keys(put.responses)).toEqual(expect.arrayContaining(["200", "404", "409", "413", "422"]));
  });
});

describe("the document's conflicts and nested routes, for every registered resource", () => {
  let document: OpenApiDocumentJson;
  beforeAll(async () => {
    document = (await DocumentedApi.load((await serve({})).url)).document;
  });
  const operation = (path: string, method: string) => document.paths[path]![method] as unknown as Operation & { responses: Record<string, { description: string }> };

  it.each(everyResource)("%s: 409 on create when it has a unique key, on update always, on delete when a restrict reference names it", (_key, definition) => {
    const base = `/api/v1/${definition.restPath}`;
    const restricted = everyReference.some((reference) => reference.to === definition.key && reference.onDelete === "restrict");
    expect("409" in operation(base, "post").responses).toBe(definition.unique.length > 0);
    for (const method of ["put", "patch"]) expect(operation(`${base}/{id}`, method).responses["409"]?.description).toMatch(/expected_updated_at is stale/);
    expect("409" in operation(`${base}/{id}`, "delete").responses).toBe(restricted);
    if (restricted) expect(operation(`${base}/{id}`, "delete").responses["409"]?.description).toContain(`${definition.name} has live`);
  });

  if (everyReference.length === 0) it.skip("no registered resource has a reference: no nested route to describe", () => {});
  it.each(everyReference.map((reference) => [reference.template, reference] as const))("%s: GET and POST with the path's parent, 404 and 422", (template, reference) => {
    const parentName = definitionOf(reference.to).name;
    for (const method of ["get", "post"]) {
      const nested = operation(template, method);
      expect(nested.parameters?.find((parameter) => parameter.in === "path")).toMatchObject({ name: reference.param, required: true });
      expect(nested.responses["404"]?.description).toContain(`${parentName} not found`);
      expect(nested.responses["422"]?.content?.["application/json"].schema).toEqual({ $ref: "#/components/schemas/HTTPValidationError" });
    }
    // The nested list takes the flat list's query parameters; its parent is the path's.
    const flat = operation(`/api/v1/${definitionOf(reference.key).restPath}`, "get");
    const names = (op: Operation) => (op.parameters ?? []).filter((parameter) => parameter.in === "query").map((parameter) => parameter.name);
    expect(names(operation(template, "get"))).toEqual(names(flat).filter((name) => name !== reference.param));
    expect("409" in operation(template, "post").responses).toBe(definitionOf(reference.key).unique.length > 0);
    // The body may leave the parent out.
    const body = operation(template, "post").requestBody!.content["application/json"].schema.$ref.split("/").pop()!;
    expect((document.components.schemas[body] as { required?: string[] }).required ?? []).not.toContain(reference.param);
  });
});

describe("DOCS_ENABLED, like PANEL_ENABLED", () => {
  it.each([
    [{ NODE_ENV: "development" }, true],
    [{ NODE_ENV: "test" }, true],
    [{ NODE_ENV: "development", DOCS_ENABLED: "false" }, false],
    [{ NODE_ENV: "production" }, false],
    [{ NODE_ENV: "production", DOCS_ENABLED: "true" }, true],
  ] as const)("%o: document and /docs served: %s", async (env, on) => {
    const server = await serve(env);
    const documentRes = await fetch(`${server.url}/api/v1/openapi.json`);
    const docsRes = await fetch(`${server.url}/docs`);
    expect([documentRes.status, docsRes.status]).toEqual(on ? [200, 200] : [404, 404]);
    // The REST API itself is there either way.
    expect((await fetch(`${server.url}/api/v1/features`)).status).toBe(401);
  });

  it("refuses a DOCS_ENABLED that is not true or false", () => {
    expect(() => testConfig({ DOCS_ENABLED: "yes" })).toThrow(/DOCS_ENABLED/);
  });
});

describe("a resource gets routes and document entries from its descriptor alone", () => {
  // Another resource, as the resource kit registers them: here the features contract and service again
  // under another name and path, so everything it answers comes from real code.
  const apiKeys: RestEndpoint = {
    name: "ApiKey",
    path: "api-keys",
    schemas: {
      entity: featureContract.entity,
      createInput: featureContract.createInput,
      updateData: featureContract.updateData,
      listInput: featureContract.listObject,
      page: featureContract.page,
    },
    sortFields: featureContract.sortFields,
    references: [],
    unique: [],
    referrers: [],
    service: (s) => s.features!,
  };

  it("document: /api/v1/api-keys with ApiKey schemas and operation ids", () => {
    const document = buildOpenApiDocument([...restEndpointsOf(definitions), apiKeys], { basePath: "/api/v1" });
    const paths = Object.keys(document.paths);
    expect(paths.slice(0, 2)).toEqual(["/api/v1/features", "/api/v1/features/{id}"]);
    expect(paths.slice(-2)).toEqual(["/api/v1/api-keys", "/api/v1/api-keys/{id}"]);
    // Between them, every route of the registered resources.
    expect([...paths].sort()).toEqual([...Object.keys(everyRoute()), "/api/v1/api-keys", "/api/v1/api-keys/{id}"].sort());
    expect(Object.keys(document.components.schemas)).toEqual(expect.arrayContaining(["ApiKey", "ApiKeyPage", "ApiKeyCreate", "ApiKeyUpdate"]));
    expect((document.paths["/api/v1/api-keys"]!.get as { operationId: string }).operationId).toBe("listApiKeys");
  });

  it("routes: create, list, read, update and delete over HTTP, validated against that document", async () => {
    const document = buildOpenApiDocument([apiKeys], { basePath: "/api/v1" });
    const app = express().use(
      "/api/v1",
      createRestRouter({ dependencies: deps, endpoints: [apiKeys], authenticate: (req) => authenticatorOf(deps.verifyToken, { authorization: req.headers.authorization }), openApiDocument: document }),
    );
    const listener = app.listen(0, "127.0.0.1");
    await new Promise<void>((resolve) => listener.once("listening", resolve));
    servers.push({ url: "", state: { draining: false }, close: () => new Promise<void>((resolve) => listener.close(() => resolve())) });
    const { port } = listener.address() as { port: number };
    const api = await DocumentedApi.load(`http://127.0.0.1:${port}`);
    const token = tokenFor("kit", `kit-${process.pid}`);

    const created = await api.call<{ id: string; name: string }>("POST", "/api/v1/api-keys", { token, body: { name: "Mobile key" } });
    expect(created.status).toBe(201);
    expect((await api.call<{ data: unknown[] }>("GET", "/api/v1/api-keys", { token })).body.data).toHaveLength(1);
    expect((await api.call("PATCH", `/api/v1/api-keys/${created.body.id}`, { token, body: { name: "Renamed key" } })).status).toBe(200);
    expect((await api.call("DELETE", `/api/v1/api-keys/${created.body.id}`, { token })).status).toBe(204);
    const gone = await api.call<{ detail: string }>("GET", `/api/v1/api-keys/${created.body.id}`, { token });
    expect(gone.status).toBe(404);
    expect(gone.body).toEqual({ detail: "ApiKey not found" });
  });
});
