/**
 * What the REST surface derives of each resource: its names, its contract's zod schemas and its service.
 * Routes, validation and OpenAPI entries are built from these alone, so every resource of the list,
 * generated ones included, gets `/api/v1/<rest path>` with no REST code of its own.
 */
import type { AccessPolicy } from "../kit/access.js";
import type { ResourceDefinition } from "../kit/define.js";
import type { AnyResourceServices, ResourceService } from "../kit/service.js";
import type { ResourceContract } from "../contract/common.js";
import { snakeCase } from "./case.js";
import type { ObjectSchema } from "./case.js";

/** Finds one resource's service among the app's resource services. */
export type ServiceOf = (services: AnyResourceServices) => ResourceService<ResourceContract>;

/**
 * A reference field of the resource (`projectId`) and the resource it names: the field is a filter of
 * the list, and gives the nested routes `/api/v1/<parent path>/{<param>}/<path>` (list and create).
 */
export interface RestReference {
  /** The contract's field: `projectId`. */
  field: string;
  /** Its snake_case spelling, on the wire and as the nested routes' path parameter: `project_id`. */
  param: string;
  /** The resource it refers to: its name (`Project`: "Project not found"), its REST path and its service. */
  parent: { name: string; path: string; service: ServiceOf };
}

/** A reference of another resource (or its own) to this one: what deleting a row of this one meets. */
export interface RestReferrer {
  /** The referring resource's REST path: `environments`. */
  path: string;
  /** Its reference field, snake_case: `project_id`. */
  param: string;
  /** `restrict`: a delete is 409 while live rows refer to the row; `cascade`: they are deleted with it. */
  onDelete: "restrict" | "cascade";
}

export interface RestEndpoint {
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
    /** page, limit, search, sort and equality filters. */
    listInput: ObjectSchema;
    /** A page of the list, as the service returns it (camelCase): REST checks its answers as tRPC's `.output()` does. */
    page: ResourceContract["page"];
  };
  /** Who may do what (server/kit/access.ts), as its service enforces it: the document's `x-required-role`; unset: the default policy. */
  access?: AccessPolicy | undefined;
  /** What the list may be sorted by (contract fields: createdAt, updatedAt and the sortable ones). */
  sortFields: readonly string[];
  /** Its reference fields, each with the resource it names. */
  references: RestReference[];
  /** Its unique keys among the organization's live rows (contract fields): a write that breaks one is 409. */
  unique: readonly (readonly string[])[];
  /** The references to it, from every resource of the list. */
  referrers: RestReferrer[];
  /** The resource's service among the app's resource services. */
  service: ServiceOf;
}

function serviceOf(definition: ResourceDefinition): ServiceOf {
  return (services) => {
    const service = services[definition.key];
    if (!service) throw new Error(`REST: no service for the resource ${definition.key}`);
    return service;
  };
}

/** The REST endpoint of each definition of a list; a reference to a resource the list lacks throws. */
export function restEndpointsOf(definitions: Record<string, ResourceDefinition>): RestEndpoint[] {
  const all = Object.values(definitions);
  const byKey = new Map(all.map((definition) => [definition.key, definition]));
  return all.map((definition) => ({
    name: definition.name,
    path: definition.restPath,
    schemas: {
      entity: definition.contract.entity,
      createInput: definition.contract.createInput as ObjectSchema,
      updateData: definition.contract.updateData,
      listInput: definition.contract.listObject,
      page: definition.contract.page,
    },
    access: definition.access,
    sortFields: definition.contract.sortFields,
    references: Object.entries(definition.references).map(([field, reference]) => {
      const parent = byKey.get(reference.to);
      if (!parent) throw new Error(`REST resource ${definition.key}: its reference ${field} refers to ${reference.to}, which is not in the list of resources`);
      // The nested routes hand the path's parent to the list as a filter and to the create as the field.
      for (const [what, schema] of [
        ["filters", definition.contract.listObject],
        ["create input", definition.contract.createInput as ObjectSchema],
      ] as const) {
        if (!(field in schema.shape)) throw new Error(`REST resource ${definition.key}: its reference ${field} must be a field of its contract's ${what}`);
      }
      return { field, param: snakeCase(field), parent: { name: parent.name, path: parent.restPath, service: serviceOf(parent) } };
    }),
    unique: definition.unique,
    referrers: all.flatMap((other) =>
      Object.entries(other.references)
        .filter(([, reference]) => reference.to === definition.key)
        .map(([field, reference]) => ({ path: other.restPath, param: snakeCase(field), onDelete: reference.onDelete })),
    ),
    service: serviceOf(definition),
  }));
}
