/** Environments, one organization's each. Written by `npm run generate -- resource Environment projectId:ref(Project, cascade) key:string name:string --search name --unique projectId,key --sort name`. */
import { environmentContract } from "../../contract/environments.js";
import { defineResource } from "../../kit/define.js";

export const environments = defineResource({
  contract: environmentContract,
  searchField: "name",
  references: { projectId: { to: "projects", onDelete: "cascade" } },
  unique: [["projectId", "key"]],
  example: { key: `Some key 1`, name: `Environment 1` },
});
