/**
 * The resources served under /api/v1: every resource of the registry, generated ones included, at
 * `/api/v1/<kebab-plural>`. The REST router and the OpenAPI document are derived from this list.
 */
import { registeredResources } from "../kit/registry.js";
import { snakeCase } from "./case.js";
import type { RestResource } from "./resource.js";

export const restResources: RestResource[] = registeredResources.map(([key, resource]) => ({
  name: resource.name,
  path: snakeCase(key).replace(/_/g, "-"),
  schemas: {
    entity: resource.contract.entity,
    createInput: resource.contract.createInput,
    updateData: resource.contract.updateData,
    listInput: resource.contract.listObject,
  },
  service: (services) => services.resources[key],
}));
