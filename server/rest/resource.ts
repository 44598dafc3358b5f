/**
 * What the REST surface needs to know of a resource: its names, its contract's zod schemas and its
 * service. Routes, validation and OpenAPI entries are derived from this alone, so a resource gets
 * `/api/v1/<path>` with no REST code of its own.
 */
import type { Pagination } from "../contract/index.js";
import type { Actor } from "../kit/scope.js";
import type { Services } from "../trpc/context.js";
import type { ObjectSchema } from "./case.js";

/**
 * The service API every resource keeps (the same methods the tRPC procedures call). Method syntax on
 * purpose: each resource's service takes its own, narrower input types, and the REST layer only hands
 * it what that resource's contract schemas have parsed.
 */
export interface RestService {
  create(actor: Actor, input: Record<string, unknown>): Promise<object>;
  list(actor: Actor, params: { page: number; limit: number }): Promise<{ data: object[]; pagination: Pagination }>;
  byId(actor: Actor, id: string): Promise<object>;
  update(actor: Actor, id: string, data: Record<string, unknown>, expectedUpdatedAt?: string): Promise<object>;
  softDelete(actor: Actor, id: string): Promise<{ id: string }>;
}

export interface RestResource {
  /** Singular display name: "Feature" (404 detail "Feature not found", schema names in the document). */
  name: string;
  /** Kebab-case plural URL segment: "features" -> /api/v1/features. */
  path: string;
  schemas: {
    /** The wire entity (camelCase), e.g. `Feature`; it must have an `id`. */
    entity: ObjectSchema;
    createInput: ObjectSchema;
    /** The fields a partial update may change (the `data` of the update input). */
    updateData: ObjectSchema;
    /** page, limit, search and equality filters. */
    listInput: ObjectSchema;
  };
  service(services: Services): RestService;
}
