/** The environments contract. Written by `npm run generate -- resource Environment projectId:ref(Project, cascade) key:string name:string --search name --unique projectId,key --sort name`; yours to edit. */
import { z } from "zod";
import { FieldInput, ReferenceId, resourceContract } from "./common.js";

export const environmentContract = resourceContract({
  key: "environments",
  name: "Environment",
  create: {
    projectId: ReferenceId(),
    key: FieldInput.string(),
    name: FieldInput.string(),
  },
  output: {
    projectId: z.uuid(),
    key: z.string(),
    name: z.string(),
  },
  filters: { projectId: ReferenceId() },
  sortable: ["name"],
});

/** Environment as it travels on the wire; timestamps are ISO-8601 strings. */
export type Environment = z.infer<typeof environmentContract.entity>;
