/**
 * The list of resources: every resource the service serves, one definition each. The app router
 * (`server/trpc/app-router.ts`), the resource services (`server/dependencies.ts`), the REST endpoints and
 * OpenAPI document (`server/rest/endpoints.ts`), the panel and the client's types are derived from this
 * object; `npm run generate -- resource ...` adds its line here.
 */
import { features } from "./features/definition.js";
import { projects } from "./projects/definition.js";
import { environments } from "./environments/definition.js";
import { flagStates } from "./flagStates/definition.js";

export const definitions = {
  features,
  projects,
  environments,
  flagStates,
} as const;

export type Definitions = typeof definitions;
export type ResourceKey = keyof Definitions;
