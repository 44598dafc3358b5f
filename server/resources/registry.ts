/**
 * Every resource the service serves, one registration each. The app router, `Services`, the panel and the
 * client's types are derived from this object; `npm run generate -- resource ...` adds its line here.
 */
import { features } from "./features/resource.js";

export const resources = {
  features,
} as const;

export type Resources = typeof resources;
export type ResourceKey = keyof Resources;
