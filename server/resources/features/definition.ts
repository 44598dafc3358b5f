/** Features: Kuark's feature flags, one organization's each. */
import { featureContract } from "../../contract/features.js";
import { defineResource } from "../../kit/define.js";

export const features = defineResource({
  contract: featureContract,
  searchField: "name",
  example: { name: "Dark mode", description: "Night theme", status: "INACTIVE" },
});
