/** projects through the kit's conformance suite. Written by `npm run generate -- resource Project key:string name:string --search name --unique key --sort name`; add tests of your own below. */
import { describeResource } from "../../support/resource-suite.js";

describeResource("projects", {
  sample: (n) => ({ key: `Some key ${n}`, name: `Project ${n}` }),
  invalid: [
    { field: "key", value: "   ", message: "must not be empty" },
    { field: "key", value: "a".repeat(201), message: "at most 200" },
    { field: "key", value: 42 },
    { field: "key", value: "a\u0000b", message: "NUL" },
    { field: "name", value: "   ", message: "must not be empty" },
    { field: "name", value: "a".repeat(201), message: "at most 200" },
    { field: "name", value: 42 },
    { field: "name", value: "a\u0000b", message: "NUL" },
  ],
  required: ["key", "name"],
  optional: [],
  update: { name: "Renamed project" },
  filters: {},
});
