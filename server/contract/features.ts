/** The features contract: a feature's fields and rules; every procedure's schema comes from `resourceContract`. */
import { z } from "zod";
import { resourceContract, Text } from "./common.js";
import type { KeysetCursor } from "./common.js";

export const FeatureStatus = z.enum(["ACTIVE", "INACTIVE"]);
export type FeatureStatus = z.infer<typeof FeatureStatus>;

export const featureContract = resourceContract({
  path: "features",
  name: "Feature",
  create: {
    name: Text().trim().min(2, "must be at least 2 characters").max(200, "must be at most 200 characters"),
    description: Text().max(2000, "must be at most 2000 characters").nullable().optional(),
    status: FeatureStatus.optional(),
  },
  output: { name: z.string(), description: z.string().nullable(), status: FeatureStatus },
  filters: { status: FeatureStatus },
});

/** A feature as it travels on the wire. Timestamps are ISO-8601 strings (plain JSON, no transformer). */
export const Feature = featureContract.entity;
export type Feature = z.infer<typeof Feature>;
export const FeatureCreateInput = featureContract.createInput;
export type FeatureCreateInput = z.input<typeof FeatureCreateInput>;
export const FeatureListInput = featureContract.listInput;
export type FeatureListInput = z.input<typeof FeatureListInput>;
export const FeaturePage = featureContract.page;
export type FeaturePage = z.infer<typeof FeaturePage>;
export const FeatureInfiniteInput = featureContract.infiniteInput;
export type FeatureInfiniteInput = z.input<typeof FeatureInfiniteInput>;
export const FeatureInfinitePage = featureContract.infinitePage;
export type FeatureInfinitePage = z.infer<typeof FeatureInfinitePage>;
export const FeatureByIdInput = featureContract.byIdInput;
export type FeatureByIdInput = z.input<typeof FeatureByIdInput>;
export const FeatureUpdateInput = featureContract.updateInput;
export type FeatureUpdateInput = z.input<typeof FeatureUpdateInput>;
export const FeatureDeleteInput = featureContract.deleteInput;
export type FeatureDeleteInput = z.input<typeof FeatureDeleteInput>;
export const FeatureDeleteOutput = featureContract.deleteOutput;
export type FeatureDeleteOutput = z.infer<typeof FeatureDeleteOutput>;
/** Where a page of `features.infinite` starts. */
export type FeatureCursor = KeysetCursor;
