/**
 * The REST routes the list of resources calls for, derived here from the definitions alone (not from
 * the REST code that builds them, so a test comparing the two can fail): for every resource its
 * collection and item routes, and for every reference field its nested list and create under the
 * resource it refers to. Tests that speak of "every route" use these.
 */
import type { ResourceDefinition } from "../../server/kit/define.js";
import { columnOf } from "../../server/kit/define.js";
import { everyResource } from "../support/fixtures.js";

const BASE = "/api/v1";

/** A resource's definition, by key, seen without its literal types. */
export function definitionOf(key: string): ResourceDefinition {
  const found = everyResource.find(([candidate]) => candidate === key);
  if (!found) throw new Error(`no resource ${key} in the list`);
  return found[1];
}

/** One reference of a registered resource: `environments.projectId` -> `projects`. */
export interface RegistryReference {
  /** The referring resource's key (`environments`). */
  key: string;
  /** Its field (`projectId`) and that field in snake_case (`project_id`). */
  field: string;
  param: string;
  /** The resource it refers to (`projects`). */
  to: string;
  onDelete: "restrict" | "cascade";
  /** The nested route: `/api/v1/projects/{project_id}/environments`. */
  template: string;
}

/** Every reference of every registered resource. */
export const everyReference: RegistryReference[] = everyResource.flatMap(([key, definition]) =>
  Object.entries((definition as ResourceDefinition).references).map(([field, reference]) => {
    const param = columnOf(field);
    return { key, field, param, to: reference.to, onDelete: reference.onDelete, template: `${BASE}/${definitionOf(reference.to).restPath}/{${param}}/${definition.restPath}` };
  }),
);

/** Every route template of the list, each with its methods (upper case, sorted). */
export function everyRoute(): Record<string, string[]> {
  const routes: Record<string, string[]> = {};
  for (const [, definition] of everyResource) {
    routes[`${BASE}/${definition.restPath}`] = ["GET", "POST"];
    routes[`${BASE}/${definition.restPath}/{id}`] = ["DELETE", "GET", "PATCH", "PUT"];
  }
  for (const reference of everyReference) routes[reference.template] = ["GET", "POST"];
  return routes;
}

/** Every operation of the list: `GET /api/v1/features/{id}`. */
export function everyOperation(): string[] {
  return Object.entries(everyRoute()).flatMap(([template, methods]) => methods.map((method) => `${method} ${template}`));
}
