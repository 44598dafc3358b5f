/** The flagStates contract. Written by `npm run generate -- resource FlagState featureId:ref(Feature) environmentId:ref(Environment, cascade) enabled:boolean rolloutPercent:int note:string --search note --sort rolloutPercent`; yours to edit. */
import { z } from "zod";
import { FieldInput, ReferenceId, resourceContract } from "./common.js";

export const flagStateContract = resourceContract({
  key: "flagStates",
  name: "FlagState",
  create: {
    featureId: ReferenceId(),
    environmentId: ReferenceId(),
    enabled: FieldInput.boolean(),
    rolloutPercent: FieldInput.int(),
    note: FieldInput.string(),
  },
  output: {
    featureId: z.uuid(),
    environmentId: z.uuid(),
    enabled: z.boolean(),
    rolloutPercent: z.number().int(),
    note: z.string(),
  },
  filters: { featureId: ReferenceId(), environmentId: ReferenceId(), enabled: z.boolean() },
  sortable: ["rolloutPercent"],
});

/** FlagState as it travels on the wire; timestamps are ISO-8601 strings. */
export type FlagState = z.infer<typeof flagStateContract.entity>;
