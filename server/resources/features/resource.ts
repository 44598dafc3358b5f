/** Features: Kuark's feature flags, one organization's each. */
import { featureContract } from "../../contract/features.js";
import { defineResource } from "../../kit/resource.js";

export const features = defineResource({
  key: "features",
  name: "Feature",
  contract: featureContract,
  storage: { model: "Feature", table: "features", searchField: "name", enumTypes: { status: "FeatureStatus" } },
  example: { name: "Dark mode", description: "Night theme", status: "INACTIVE" },
});
