/**
 * What a resource declares and what the kit derives and checks from it at start: names derived once
 * (key, name, entity key, model, table, REST path), the storage checked against Prisma's data model, the
 * list keyed by each definition's own key, and every use of the unscoped client recorded with its reason.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { resourceContract } from "../../server/contract/common.js";
import { featureContract } from "../../server/contract/features.js";
import { createChangeHub } from "../../server/kit/change-hub.js";
import { defineResource, liveReferrersFunction, liveReferrersFunctionName, resolveStorage } from "../../server/kit/define.js";
import { readMigrations } from "../../server/db/schema-engine.js";
import { Prisma } from "../../server/generated/prisma/client.js";
import { definitions } from "../../server/resources/definitions.js";
import { DEFAULT_POLICY } from "../../server/kit/access.js";
import type { AccessDeclaration } from "../../server/kit/access.js";
import type { ResourceDefinition } from "../../server/kit/define.js";
import type { ResourceContract } from "../../server/contract/common.js";
import { createOrgData } from "../../server/kit/scope.js";
import { createResourceServices } from "../../server/kit/service.js";
import { features } from "../../server/resources/features/definition.js";
import { memoryLogger } from "../support/app.js";
import { useTestApp } from "../support/fixtures.js";

const t = useTestApp();

/** A contract as the generator writes one, for a resource the schema does not have. */
const gadgetContract = resourceContract({
  key: "apiKeys",
  name: "ApiKey",
  create: { label: z.string() },
  output: { label: z.string() },
  filters: {},
});

/** The compiler refuses a resource whose name is no Prisma model (below); this goes past it to reach the start-time check. */
const defineUnchecked = defineResource as unknown as (declaration: { contract: ResourceContract; searchField: string; example: object }) => ResourceDefinition;

/** Never called: typecheck fails if `defineResource` accepted a name that is no model of prisma/schema.prisma. */
export function refusedAtCompileTime() {
  // @ts-expect-error -- ApiKey is no Prisma model
  return defineResource({ contract: gadgetContract, searchField: "label", example: { label: "ci" } });
}

describe("defineResource", () => {
  it("derives every name of a resource from the key and name its contract declares", () => {
    expect(features).toMatchObject({ key: "features", name: "Feature", entityKey: "feature", restPath: "features" });
    expect(features.storage).toMatchObject({ model: "Feature", table: "features", searchField: "name" });
    // A two-word resource: camelCase key, snake_case table, kebab-case path, camelCase event key.
    const apiKeys = defineUnchecked({ contract: gadgetContract, searchField: "label", example: { label: "ci" } });
    expect(apiKeys).toMatchObject({ key: "apiKeys", name: "ApiKey", entityKey: "apiKey", restPath: "api-keys" });
    expect(apiKeys.storage).toMatchObject({ model: "ApiKey", table: "api_keys" });
    expect(Object.keys(apiKeys.contract.changeNotice.shape)).toEqual(["type", "apiKey"]);
  });

  it("refuses a search field that is not a field of the entity, naming it", () => {
    expect(() => defineResource({ contract: featureContract, searchField: "title" as "name", example: { name: "x" } })).toThrow(/search field title/);
  });

  it("fills the default access policy in, and takes the rules declared over it", () => {
    expect(features.access).toEqual(DEFAULT_POLICY);
    const declared = defineResource({ contract: featureContract, searchField: "name", example: { name: "x" }, access: { update: "member:own", delete: "admin" } });
    expect(declared.access).toEqual({ ...DEFAULT_POLICY, update: { role: "member", own: true }, delete: { role: "admin", own: false } });
  });

  it.each([
    [{ delete: "boss" }, 'resource features: its access delete=boss: "boss" is not a role (viewer, member, admin, owner)'],
    [{ read: "viewer:own" }, "resource features: its access read=viewer:own: :own applies to update and delete only"],
    [{ write: "admin" }, 'resource features: its access "write" is not an operation (read, create, update, delete)'],
    [{ update: "Member" }, "resource features: its access update=Member: write a role (viewer, member, admin, owner), optionally followed by :own"],
  ])("refuses the access declaration %o, naming the resource and the rule", (access, message) => {
    expect(() => defineResource({ contract: featureContract, searchField: "name", example: { name: "x" }, access: access as AccessDeclaration })).toThrow(message);
  });
});

describe("resolveStorage, at start", () => {
  it("reads the enum types of the model from Prisma's data model", () => {
    const storage = resolveStorage(features, createOrgData(t.deps.db).dataModel);
    expect(storage).toEqual({ model: "Feature", table: "features", searchField: "name", enumTypes: { status: "FeatureStatus" } });
  });

  it("stops the start when the schema has no such model, or maps it elsewhere, or lacks a field", () => {
    const dataModel = createOrgData(t.deps.db).dataModel;
    const apiKeys = defineUnchecked({ contract: gadgetContract, searchField: "label", example: { label: "ci" } });
    expect(() => resolveStorage(apiKeys, dataModel)).toThrow("resource apiKeys: prisma/schema.prisma has no model ApiKey");

    const elsewhere = { ...features, storage: { ...features.storage, table: "feature_flags" } };
    expect(() => resolveStorage(elsewhere, dataModel)).toThrow('resource features: model Feature maps to table features; it must be @@map("feature_flags")');

    const extraField = resourceContract({ key: "features", name: "Feature", create: { name: z.string() }, output: { name: z.string(), color: z.string() }, filters: {} });
    const lacking = defineResource({ contract: extraField, searchField: "name", example: { name: "x" } });
    expect(() => resolveStorage(lacking, dataModel)).toThrow("resource features: model Feature has no field color");
  });

  it("refuses a list that files a definition under another key than its own", () => {
    const data = createOrgData(t.deps.db);
    const hub = t.deps.changeHub;
    expect(() => createResourceServices({ flags: features }, data, { hub, retentionHours: 1 })).toThrow("the list of resources has features under the key flags");
    expect(Object.keys(createResourceServices({ features }, data, { hub, retentionHours: 1 }))).toEqual(["features"]);
  });
});

describe("withoutOrganizationScope", () => {
  it("records each use with its reason, as the app's dependencies count it and log it at debug", () => {
    const reasons: string[] = [];
    const data = createOrgData(t.deps.db, { onUnscopedAccess: (reason) => reasons.push(reason) });
    data.withoutOrganizationScope("a test reads every organization's rows");
    // The change hub's own use: fetching each notified event once, for that organization's subscribers.
    createChangeHub({ db: t.deps.db, data, log: memoryLogger().log, limits: { perOrganization: 0, perIp: 0 }, retentionHours: 1 });
    expect(reasons).toEqual(["a test reads every organization's rows", expect.stringContaining("the change hub fetches each notified event once")]);
  });
});

describe("the function of each restrict reference", () => {
  it("exists in the migrated database for every restrict reference of the list of resources, as the generator writes it", async () => {
    const expected = Object.values(definitions).flatMap((definition) =>
      Object.entries(definition.references)
        .filter(([, reference]) => reference.onDelete === "restrict")
        .map(([field]) => ({ name: liveReferrersFunctionName(definition.storage.table, field), source: liveReferrersFunction(definition.storage.table, field) })),
    );
    expect(expected.length).toBeGreaterThan(0);
    const migrations = (await readMigrations()).migrationDirectories.map((dir) => (dir.migrationFile.content.tag === "ok" ? dir.migrationFile.content.value : ""));
    for (const { name, source } of expected) {
      const [row] = await t.deps.db.prisma.$queryRaw<{ found: boolean }[]>(Prisma.sql`SELECT to_regprocedure(${`"${name}"(text, uuid[])`}) IS NOT NULL AS found`);
      expect(row?.found, name).toBe(true);
      expect(migrations.some((sql) => sql.includes(source)), `a migration holds ${name} as liveReferrersFunction writes it`).toBe(true);
    }
  });
});
