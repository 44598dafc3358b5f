/** The generator's plurals, by the `pluralize` package: irregular words, -f/-fe, -y, -is, compound names. */
import { describe, expect, it } from "vitest";
import { GeneratorError, parseResourceArgs } from "../../scripts/generator/spec.js";

const spec = (model: string) => parseResourceArgs(["resource", model, "title:string"], { models: new Set(["Feature"]), keys: new Set(["features"]) });

describe("resource names", () => {
  it.each([
    ["Shelf", "shelves", "shelves"],
    ["Wife", "wives", "wives"],
    ["Category", "categories", "categories"],
    ["Person", "people", "people"],
    ["Analysis", "analyses", "analyses"],
    ["Box", "boxes", "boxes"],
    ["ProjectPerson", "projectPeople", "project_people"],
    ["ApiKey", "apiKeys", "api_keys"],
    ["FlagState", "flagStates", "flag_states"],
  ])("%s: key %s, table %s", (model, key, table) => {
    expect(spec(model)).toMatchObject({ model, key, table });
  });

  it("refuses a name that is its own plural, saying why", () => {
    expect(() => spec("Series")).toThrow(GeneratorError);
    expect(() => spec("Series")).toThrow("Series is its own plural");
  });
});
