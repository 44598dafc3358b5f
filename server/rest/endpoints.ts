/**
 * What the REST surface derives of each resource: its names, its contract's zod schemas and its service.
 * Routes, validation and OpenAPI entries are built from these alone, so every resource of the list,
 * generated ones included, gets `/api/v1/<rest path>` with no REST code of its own.
 */
import type { AccessPolicy } from "../kit/access.js";
import type { ResourceDefinition } from "../kit/define.js";
import type { AnyResourceServices, ResourceService } from "../kit/service.js";
import type { ResourceContract } from "../contract/common.js";
import type { ObjectSchema } from "./case.js";

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
    /** page, limit, search and equality filters. */
    listInput: ObjectSchema;
    /** A page of the list, as the service returns it (camelCase): REST checks its answers as tRPC's `.output()` does. */
    page: ResourceContract["page"];
  };
  /** Who may do what (server/kit/access.ts), as its service enforces it: the document's `x-required-role`; unset: the default policy. */
  access?: AccessPolicy | undefined;
  /** The resource's service among the app's resource services. */
  service(services: AnyResourceServices): ResourceService<ResourceContract>;
}

/** The REST endpoint of each definition of a list. */
export function restEndpointsOf(definitions: Record<string, ResourceDefinition>): RestEndpoint[] {
  return Object.values(definitions).map((definition) => ({
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
    service(services) {
      const service = services[definition.key];
      if (!service) throw new Error(`REST: no service for the resource ${definition.key}`);
      return service;
    },
  }));
}
