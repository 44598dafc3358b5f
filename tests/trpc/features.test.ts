/**
 * Features' own fields through `createCaller`, against a real database of the test's own: the name trimmed
 * and 2 to 200 characters, the description nullable and at most 2000, the status ACTIVE or INACTIVE (ACTIVE
 * by default), no NUL characters. What every resource does (CRUD, paging, search, filters, soft delete,
 * optimistic concurrency, history) is the kit's conformance suite, run for features by
 * tests/kit/resources/features.test.ts; isolation between organizations is tests/kit/isolation.test.ts.
 */
import { describe, expect, it } from "vitest";
import { rejection, useTestApp } from "../support/fixtures.js";

const t = useTestApp();

/** A caller for a brand-new organization, so tests never see each other's rows. */
const newOrg = (sub = "alice") => t.newOrg(sub);

async function fieldErrorsOf(promise: Promise<unknown>) {
  const error = await rejection(promise);
  expect(error.code).toBe("BAD_REQUEST");
  const { ZodError } = await import("zod");
  expect(error.cause).toBeInstanceOf(ZodError);
  return (error.cause as InstanceType<typeof ZodError>).issues.map((i) => ({ path: i.path.join("."), message: i.message }));
}

describe("features.create", () => {
  it("trims the name and defaults the status to ACTIVE, with audit fields from the token", async () => {
    const { org, api } = newOrg("alice");
    const feature = await api.features.create({ name: "  Dark mode  ", description: "Night theme" });
    expect(feature).toMatchObject({
      organizationId: org,
      name: "Dark mode",
      description: "Night theme",
      status: "ACTIVE",
      createdById: "alice",
      updatedById: "alice",
    });
  });

  it("accepts a null description and an explicit status", async () => {
    const { api } = newOrg();
    const feature = await api.features.create({ name: "Beta", description: null, status: "INACTIVE" });
    expect(feature.description).toBeNull();
    expect(feature.status).toBe("INACTIVE");
  });

  it.each([
    ["a one-character name", { name: "x" }, "name", "at least 2"],
    ["a name that is one character once trimmed", { name: "   x   " }, "name", "at least 2"],
    ["a 201-character name", { name: "a".repeat(201) }, "name", "at most 200"],
    ["a numeric name", { name: 42 }, "name", ""],
    ["no name", {}, "name", ""],
    ["a 2001-character description", { name: "ok", description: "d".repeat(2001) }, "description", "at most 2000"],
    ["an unknown status", { name: "ok", status: "ARCHIVED" }, "status", ""],
    ["an organizationId in the input", { name: "ok", organizationId: "other" }, "", "organizationId"],
    ["a NUL character in the name", { name: "bad\u0000name" }, "name", "NUL"],
    ["a NUL character in the description", { name: "ok", description: "\u0000" }, "description", "NUL"],
  ])("refuses %s", async (_label, input, field, text) => {
    const { api } = newOrg();
    const issues = await fieldErrorsOf(api.features.create(input as never));
    const issue = issues.find((i) => i.path === field);
    expect(issue, JSON.stringify(issues)).toBeDefined();
    expect(issue!.message).toContain(text);
  });

  it("accepts the boundary lengths", async () => {
    const { api } = newOrg();
    await expect(api.features.create({ name: "ab", description: "d".repeat(2000) })).resolves.toBeTruthy();
    await expect(api.features.create({ name: "a".repeat(200) })).resolves.toBeTruthy();
  });
});

describe("features.list", () => {
  it.each([[{ status: "GONE" }, "status"]])("refuses %j", async (input, field) => {
    const { api } = newOrg();
    const issues = await fieldErrorsOf(api.features.list(input as never));
    expect(issues.map((i) => i.path)).toContain(field);
  });
});

describe("features.update", () => {
  it("trims the name, clears the description with null, and keeps the fields not given", async () => {
    const { api, as } = newOrg("alice");
    const feature = await api.features.create({ name: "Original", description: "keep me", status: "ACTIVE" });
    await new Promise((r) => setTimeout(r, 5));
    const updated = await as("bob").features.update({ id: feature.id, data: { status: "INACTIVE" } });
    expect(updated).toMatchObject({ name: "Original", description: "keep me", status: "INACTIVE", createdById: "alice", updatedById: "bob" });
    expect(updated.createdAt).toBe(feature.createdAt);
    expect(Date.parse(updated.updatedAt)).toBeGreaterThan(Date.parse(feature.updatedAt));

    const renamed = await api.features.update({ id: feature.id, data: { name: "  Renamed  ", description: null } });
    expect(renamed).toMatchObject({ name: "Renamed", description: null, status: "INACTIVE", updatedById: "alice" });
    expect(await api.features.byId({ id: feature.id })).toEqual(renamed);
  });

  it.each([
    ["a one-character name", { data: { name: "x" } }, "data.name"],
    ["a 2001-character description", { data: { description: "d".repeat(2001) } }, "data.description"],
    ["an unknown status", { data: { status: "nope" } }, "data.status"],
  ])("update refuses %s", async (_label, patch, field) => {
    const { api } = newOrg();
    const feature = await api.features.create({ name: "Valid" });
    const issues = await fieldErrorsOf(api.features.update({ id: feature.id, ...patch } as never));
    expect(issues.map((i) => i.path)).toContain(field);
  });
});
