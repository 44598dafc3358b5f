/** Flag states, one organization's each. Written by `npm run generate -- resource FlagState featureId:ref(Feature) environmentId:ref(Environment, cascade) enabled:boolean rolloutPercent:int note:string --search note --sort rolloutPercent`. */
import { flagStateContract } from "../../contract/flagStates.js";
import { defineResource } from "../../kit/define.js";

export const flagStates = defineResource({
  contract: flagStateContract,
  searchField: "note",
  references: { featureId: { to: "features", onDelete: "restrict" }, environmentId: { to: "environments", onDelete: "cascade" } },
  example: { enabled: true, rolloutPercent: 1, note: `Flag state 1` },
});
