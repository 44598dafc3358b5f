/** Features through the kit's conformance suite (the same one every generated resource runs). */
import { describeResource } from "../../support/resource-suite.js";

describeResource("features", {
  sample: (n) => ({ name: `Feature ${n}`, description: "Night theme", status: "INACTIVE" }),
  invalid: [
    { field: "name", value: "x", message: "at least 2" },
    { field: "name", value: "a".repeat(201), message: "at most 200" },
    { field: "name", value: 42 },
    { field: "name", value: "bad\u0000name", message: "NUL" },
    { field: "description", value: "d".repeat(2001), message: "at most 2000" },
    { field: "status", value: "ARCHIVED" },
  ],
  required: ["name"],
  optional: ["description"],
  update: { name: "Renamed feature", status: "ACTIVE" },
  filters: { status: ["ACTIVE", "INACTIVE"] },
});
