/** flagStates through the kit's conformance suite. Written by `npm run generate -- resource FlagState featureId:ref(Feature) environmentId:ref(Environment, cascade) enabled:boolean rolloutPercent:int note:string --search note --sort rolloutPercent`; add tests of your own below. */
import { describeResource } from "../../support/resource-suite.js";

describeResource("flagStates", {
  sample: (n) => ({ enabled: true, rolloutPercent: n, note: `Flag state ${n}` }),
  invalid: [
    { field: "featureId", value: "not-a-uuid", message: "UUID" },
    { field: "featureId", value: 42 },
    { field: "environmentId", value: "not-a-uuid", message: "UUID" },
    { field: "environmentId", value: 42 },
    { field: "enabled", value: "yes" },
    { field: "enabled", value: 1 },
    { field: "rolloutPercent", value: 1.5, message: "integer" },
    { field: "rolloutPercent", value: 2_147_483_648, message: "at most 2147483647" },
    { field: "rolloutPercent", value: "42" },
    { field: "note", value: "   ", message: "must not be empty" },
    { field: "note", value: "a".repeat(201), message: "at most 200" },
    { field: "note", value: 42 },
    { field: "note", value: "a\u0000b", message: "NUL" },
  ],
  required: ["featureId", "environmentId", "enabled", "rolloutPercent", "note"],
  optional: [],
  update: { note: "Renamed flag state" },
  filters: { enabled: [true, false] },
});
