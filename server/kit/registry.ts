/** What the app derives from the resource registry: one service and one router per resource. */
import type { AnyTRPCRouter } from "@trpc/server";
import { resources } from "../resources/registry.js";
import type { ResourceKey, Resources } from "../resources/registry.js";
import type { Resource } from "./resource.js";
import { resourceRouter } from "./router.js";
import type { OrgData } from "./scope.js";
import { createResourceService } from "./service.js";
import type { LiveOptions, ResourceService } from "./service.js";

export type ResourceServices = { [K in ResourceKey]: ResourceService<Resources[K]["contract"]> };

/** Every registered resource as a `[key, resource]` pair, for code that walks the registry. */
export const registeredResources = Object.entries(resources) as [ResourceKey, Resources[ResourceKey]][];

export function createResourceServices(data: OrgData, live: LiveOptions): ResourceServices {
  return Object.fromEntries(registeredResources.map(([key, resource]) => [key, createResourceService(resource as Resource, data, live)])) as ResourceServices;
}

type ResourceRouters = { [K in ResourceKey]: ReturnType<typeof resourceRouter<Resources[K]["contract"]>> };

/** Every resource's router under its key: spread into the app router. */
export function resourceRouters(): ResourceRouters {
  return Object.fromEntries(registeredResources.map(([key, resource]) => [key, resourceRouter(resource as Resource) as AnyTRPCRouter])) as ResourceRouters;
}
