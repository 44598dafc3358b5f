/**
 * The resources served under /api/v1. One entry per resource, built from its contract and its service;
 * the REST router and the OpenAPI document are derived from this list.
 */
import { Feature, FeatureCreateInput, FeatureListInput, FeatureUpdateInput } from "../contract/index.js";
import type { RestResource } from "./resource.js";

export const restResources: RestResource[] = [
  {
    name: "Feature",
    path: "features",
    schemas: {
      entity: Feature,
      createInput: FeatureCreateInput,
      updateData: FeatureUpdateInput.shape.data,
      listInput: FeatureListInput.unwrap(),
    },
    service: (services) => services.features,
  },
];
