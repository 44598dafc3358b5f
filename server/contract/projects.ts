/** The projects contract. Written by `npm run generate -- resource Project key:string name:string --search name --unique key --sort name`; yours to edit. */
import { z } from "zod";
import { FieldInput, resourceContract } from "./common.js";

export const projectContract = resourceContract({
  key: "projects",
  name: "Project",
  create: {
    key: FieldInput.string(),
    name: FieldInput.string(),
  },
  output: {
    key: z.string(),
    name: z.string(),
  },
  filters: {},
  sortable: ["name"],
});

/** Project as it travels on the wire; timestamps are ISO-8601 strings. */
export type Project = z.infer<typeof projectContract.entity>;
