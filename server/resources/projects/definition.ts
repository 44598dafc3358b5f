/** Projects, one organization's each. Written by `npm run generate -- resource Project key:string name:string --search name --unique key --sort name`. */
import { projectContract } from "../../contract/projects.js";
import { defineResource } from "../../kit/define.js";

export const projects = defineResource({
  contract: projectContract,
  searchField: "name",
  unique: [["key"]],
  example: { key: `Some key 1`, name: `Project 1` },
});
