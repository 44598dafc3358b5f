/** The features contract: a feature's fields and rules; every procedure's schema comes from `resourceContract`. */
import { z } from "zod";
import { resourceContract, Text } from "./common.js";

export const FeatureStatus = z.enum(["ACTIVE", "INACTIVE"]);
export type FeatureStatus = z.infer<typeof FeatureStatus>;

export const featureContract = resourceContract({
  key: "features",
  name: "Feature",
  create: {
    name: Text().trim().min(2, "must be at least 2 characters").max(200, "must be at most 200 characters"),
    description: Text().max(2000, "must be at most 2000 characters").nullable().optional(),
    status: FeatureStatus.optional(),
  },
  output: { name: z.string(), description: z.string().nullable(), status: FeatureStatus },
  filters: { status: FeatureStatus },
  sortable: ["name"],
});

/** A feature as it travels on the wire. Timestamps are ISO-8601 strings (plain JSON, no transformer). */
export type Feature = z.infer<typeof featureContract.entity>;
/** Input of `features.infinite`. */
export type FeatureInfiniteInput = z.input<typeof featureContract.infiniteInput>;
