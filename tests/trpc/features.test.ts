/** Every feature procedure through `createCaller`, against a real database of the test's own. */
import { TRPCError } from "@trpc/server";
import { describe, expect, it } from "vitest";
import { createOrganizations } from "../../server/organizations.js";
import { callerFor, makeDependencies, tokenFor } from "../support/app.js";
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
  it("creates a feature with audit fields from the token", async () => {
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
    expect(feature.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Date(feature.createdAt).toISOString()).toBe(feature.createdAt);
    expect(feature.updatedAt).toBe(feature.createdAt);
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

describe("organizations", () => {
  it("are created on first use, also when many first requests race", async () => {
    const org = `race-${process.pid}`;
    // Separate registries: nothing remembered, so every call really reaches the database at once.
    await Promise.all(Array.from({ length: 25 }, () => createOrganizations(t.deps.db.prisma).ensure(org)));
    const api = callerFor(makeDependencies(t.deps.db), tokenFor("alice", org));
    const created = await Promise.all(Array.from({ length: 10 }, (_, i) => api.features.create({ name: `F${i}x` })));
    expect(created).toHaveLength(10);
    expect(await t.deps.db.prisma.organization.count({ where: { id: org } })).toBe(1);
  });

  it("a first request of an unseen organization succeeds for every procedure", async () => {
    const { api, org } = newOrg();
    await expect(api.features.list()).resolves.toMatchObject({ data: [], pagination: { total: 0 } });
    expect(await t.deps.db.prisma.organization.findUnique({ where: { id: org } })).not.toBeNull();
  });
});

describe("features.list", () => {
  it("pages newest first with true totals", async () => {
    const { api } = newOrg();
    const created = [];
    for (let i = 0; i < 7; i++) created.push(await api.features.create({ name: `Feature ${i}` }));
    const newestFirst = [...created].reverse().map((f) => f.id);

    const page1 = await api.features.list({ page: 1, limit: 3 });
    expect(page1.pagination).toEqual({ page: 1, limit: 3, total: 7, totalPages: 3, totalIsEstimate: false });
    expect(page1.data.map((f) => f.id)).toEqual(newestFirst.slice(0, 3));

    const page3 = await api.features.list({ page: 3, limit: 3 });
    expect(page3.data.map((f) => f.id)).toEqual(newestFirst.slice(6));

    const past = await api.features.list({ page: 9, limit: 3 });
    expect(past.data).toEqual([]);
    expect(past.pagination).toEqual({ page: 9, limit: 3, total: 7, totalPages: 3, totalIsEstimate: false });

    const defaults = await api.features.list();
    expect(defaults.pagination).toMatchObject({ page: 1, limit: 20, total: 7, totalPages: 1 });
  });

  it("breaks createdAt ties by id, descending", async () => {
    const { api, org } = newOrg();
    await api.features.list(); // the organization's row now exists
    const at = new Date("2026-01-01T00:00:00Z");
    const ids = ["00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000003", "00000000-0000-4000-8000-000000000002"];
    await t.deps.db.prisma.feature.createMany({
      data: ids.map((id) => ({ id, organizationId: org, name: `tie ${id.slice(-1)}`, createdById: "a", updatedById: "a", createdAt: at })),
    });
    const { data } = await api.features.list();
    expect(data.map((f) => f.id)).toEqual([...ids].sort().reverse());
  });

  it("an empty organization has zero pages", async () => {
    const { api } = newOrg();
    expect((await api.features.list({})).pagination).toEqual({ page: 1, limit: 20, total: 0, totalPages: 0, totalIsEstimate: false });
  });

  it("searches case-insensitively, every character meaning itself", async () => {
    const { api } = newOrg();
    for (const name of ["Discount 100%", "Discount 1000", "snake_case flag", "snakeXcase flag", "back\\slash", "backslash", "DARK mode"]) {
      await api.features.create({ name });
    }
    const names = async (search: string) => (await api.features.list({ search })).data.map((f) => f.name).sort();
    expect(await names("100%")).toEqual(["Discount 100%"]);
    expect(await names("e_c")).toEqual(["snake_case flag"]);
    expect(await names("k\\s")).toEqual(["back\\slash"]);
    expect(await names("dark")).toEqual(["DARK mode"]);
    expect(await names("Mode")).toEqual(["DARK mode"]);
    expect(await names("%")).toEqual(["Discount 100%"]);
    expect((await api.features.list({ search: "discount" })).pagination.total).toBe(2);
  });

  it("filters by status, combined with search", async () => {
    const { api } = newOrg();
    await api.features.create({ name: "On one", status: "ACTIVE" });
    await api.features.create({ name: "Off one", status: "INACTIVE" });
    await api.features.create({ name: "Off two", status: "INACTIVE" });
    expect((await api.features.list({ status: "INACTIVE" })).data.map((f) => f.name).sort()).toEqual(["Off one", "Off two"]);
    expect((await api.features.list({ status: "ACTIVE" })).pagination.total).toBe(1);
    expect((await api.features.list({ status: "INACTIVE", search: "two" })).data.map((f) => f.name)).toEqual(["Off two"]);
  });

  it.each([
    [{ page: 0 }, "page"],
    [{ page: 1.5 }, "page"],
    [{ limit: 0 }, "limit"],
    [{ limit: 101 }, "limit"],
    [{ status: "GONE" }, "status"],
    [{ search: 5 }, "search"],
    [{ sort: "name" }, ""],
    [{ search: "a\u0000" }, "search"],
  ])("refuses %j", async (input, field) => {
    const { api } = newOrg();
    const issues = await fieldErrorsOf(api.features.list(input as never));
    expect(issues.map((i) => i.path)).toContain(field);
  });

  it("accepts limit 1 and 100", async () => {
    const { api } = newOrg();
    await expect(api.features.list({ limit: 1 })).resolves.toBeTruthy();
    await expect(api.features.list({ limit: 100 })).resolves.toBeTruthy();
  });
});

describe("features.byId, update, delete", () => {
  it("reads a feature by id", async () => {
    const { api } = newOrg();
    const feature = await api.features.create({ name: "Readable" });
    expect(await api.features.byId({ id: feature.id })).toEqual(feature);
  });

  it("an unknown or malformed id", async () => {
    const { api } = newOrg();
    expect((await rejection(api.features.byId({ id: "00000000-0000-4000-8000-00000000dead" }))).code).toBe("NOT_FOUND");
    expect((await fieldErrorsOf(api.features.byId({ id: "not-a-uuid" }))).map((i) => i.path)).toEqual(["id"]);
  });

  it("update changes only the given fields and records who and when", async () => {
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
    ["no field to change", { data: {} }, "data"],
    ["a one-character name", { data: { name: "x" } }, "data.name"],
    ["a 2001-character description", { data: { description: "d".repeat(2001) } }, "data.description"],
    ["an unknown status", { data: { status: "nope" } }, "data.status"],
    ["an audit field", { data: { createdById: "mallory" } }, "data"],
  ])("update refuses %s", async (_label, patch, field) => {
    const { api } = newOrg();
    const feature = await api.features.create({ name: "Valid" });
    const issues = await fieldErrorsOf(api.features.update({ id: feature.id, ...patch } as never));
    expect(issues.map((i) => i.path)).toContain(field);
  });

  it("delete is soft: the row stays, with deletedAt, and is gone from every procedure", async () => {
    const { api, as } = newOrg("alice");
    const feature = await api.features.create({ name: "Doomed" });
    const kept = await api.features.create({ name: "Kept" });
    expect(await as("bob").features.delete({ id: feature.id })).toEqual({ id: feature.id });

    const row = await t.deps.db.prisma.feature.findUnique({ where: { id: feature.id } });
    expect(row?.deletedAt).toBeInstanceOf(Date);
    expect(row?.updatedById).toBe("bob");

    const list = await api.features.list();
    expect(list.data.map((f) => f.id)).toEqual([kept.id]);
    expect(list.pagination.total).toBe(1);
    expect((await api.features.list({ search: "Doomed" })).pagination.total).toBe(0);
    for (const call of [
      () => api.features.byId({ id: feature.id }),
      () => api.features.update({ id: feature.id, data: { name: "Back" } }),
      () => api.features.delete({ id: feature.id }),
    ]) {
      expect((await rejection(call())).code).toBe("NOT_FOUND");
    }
  });
});

describe("optimistic concurrency", () => {
  it("an update with a stale expectedUpdatedAt is CONFLICT and changes nothing", async () => {
    const { api, as } = newOrg("alice");
    const feature = await api.features.create({ name: "Contended" });
    await new Promise((r) => setTimeout(r, 5));
    const bobs = await as("bob").features.update({ id: feature.id, expectedUpdatedAt: feature.updatedAt, data: { name: "Bob's" } });
    expect(bobs.name).toBe("Bob's");

    const error = await rejection(api.features.update({ id: feature.id, expectedUpdatedAt: feature.updatedAt, data: { name: "Alice's" } }));
    expect(error.code).toBe("CONFLICT");
    expect(await api.features.byId({ id: feature.id })).toEqual(bobs);

    const fresh = await api.features.update({ id: feature.id, expectedUpdatedAt: bobs.updatedAt, data: { name: "Alice's" } });
    expect(fresh.name).toBe("Alice's");
  });

  it("of two concurrent updates from the same version, exactly one wins", async () => {
    const { api } = newOrg();
    const feature = await api.features.create({ name: "Race" });
    await new Promise((r) => setTimeout(r, 5));
    const results = await Promise.allSettled(
      ["One", "Two", "Three"].map((name) => api.features.update({ id: feature.id, expectedUpdatedAt: feature.updatedAt, data: { name } })),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    for (const r of results.filter((r) => r.status === "rejected")) expect((r.reason as TRPCError).code).toBe("CONFLICT");
  });

  it("expectedUpdatedAt on a deleted feature is still NOT_FOUND", async () => {
    const b = newOrg();
    const feature = await b.api.features.create({ name: "B's" });
    await b.api.features.delete({ id: feature.id });
    expect((await rejection(b.api.features.update({ id: feature.id, expectedUpdatedAt: feature.updatedAt, data: { name: "B2" } }))).code).toBe("NOT_FOUND");
  });

  it("refuses a malformed expectedUpdatedAt", async () => {
    const { api } = newOrg();
    const feature = await api.features.create({ name: "Valid" });
    const issues = await fieldErrorsOf(api.features.update({ id: feature.id, expectedUpdatedAt: "yesterday", data: { name: "New" } }));
    expect(issues.map((i) => i.path)).toEqual(["expectedUpdatedAt"]);
  });
});
