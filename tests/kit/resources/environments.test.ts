/** environments through the kit's conformance suite. Written by `npm run generate -- resource Environment projectId:ref(Project, cascade) key:string name:string --search name --unique projectId,key --sort name`; add tests of your own below. */
import { describeResource } from "../../support/resource-suite.js";

describeResource("environments", {
  sample: (n) => ({ key: `Some key ${n}`, name: `Environment ${n}` }),
  invalid: [
    { field: "projectId", value: "not-a-uuid", message: "UUID" },
    { field: "projectId", value: 42 },
    { field: "key", value: "   ", message: "must not be empty" },
    { field: "key", value: "a".repeat(201), message: "at most 200" },
    { field: "key", value: 42 },
    { field: "key", value: "a\u0000b", message: "NUL" },
    { field: "name", value: "   ", message: "must not be empty" },
    { field: "name", value: "a".repeat(201), message: "at most 200" },
    { field: "name", value: 42 },
    { field: "name", value: "a\u0000b", message: "NUL" },
  ],
  required: ["projectId", "key", "name"],
  optional: [],
  update: { name: "Renamed environment" },
  filters: {},
});
