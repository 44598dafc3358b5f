/**
 * Organizations are created on first use, by the first request whose token names an unseen organization,
 * also when many first requests race; through `createCaller`, against a real database of the test's own.
 */
import { describe, expect, it } from "vitest";
import { createOrganizations } from "../../server/organizations.js";
import { callerFor, makeDependencies, tokenFor } from "../support/app.js";
import { useTestApp } from "../support/fixtures.js";

const t = useTestApp();

/** A caller for a brand-new organization, so tests never see each other's rows. */
const newOrg = (sub = "alice") => t.newOrg(sub);

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
