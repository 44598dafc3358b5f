/**
 * Walks the resource registry: for every registered resource, generated ones included, a row made by
 * organization A is invisible to organization B on every procedure, and B's attempts change nothing.
 * A resource cannot ship without passing this.
 */
import { describe, expect, it } from "vitest";
import { everyResource, rejection, resourceApi, useTestApp } from "../support/fixtures.js";

const t = useTestApp();

const codeOf = async (promise: Promise<unknown>) => (await rejection(promise)).code;

describe.each(everyResource)("%s", (key, resource) => {
  it("a row of organization A is invisible to organization B on every procedure", async () => {
    const a = t.newOrg("alice");
    const b = t.newOrg("mallory");
    const [row] = await t.seed(key, a, 1);
    if (!row) throw new Error("seed made no row");
    // B owns a row too, so its list and infinite are not trivially empty.
    const [own] = await t.seed(key, b, 1);
    const theirs = resourceApi(b.api, key);
    const searchText = String(resource.example[resource.storage.searchField as keyof typeof resource.example]);

    expect(await codeOf(theirs.byId({ id: row.id }))).toBe("NOT_FOUND");
    expect(await codeOf(theirs.update({ id: row.id, data: resource.example }))).toBe("NOT_FOUND");
    expect(await codeOf(theirs.update({ id: row.id, expectedUpdatedAt: row.updatedAt, data: resource.example }))).toBe("NOT_FOUND");
    expect(await codeOf(theirs.delete({ id: row.id }))).toBe("NOT_FOUND");
    for (const input of [undefined, { search: searchText }, { page: 1, limit: 100 }]) {
      const listed = await theirs.list(input);
      expect(listed.data.map((r) => r.id)).toEqual([own?.id]);
      expect(listed.pagination.total).toBe(1);
      expect((await theirs.infinite(input && "page" in input ? { limit: 100 } : input)).items.map((r) => r.id)).toEqual([own?.id]);
    }

    // A still sees its row exactly as it was made.
    expect(await resourceApi(a.api, key).byId({ id: row.id })).toEqual(row);
    expect((await resourceApi(a.api, key).list()).data.map((r) => r.id)).toEqual([row.id]);
  });
});
