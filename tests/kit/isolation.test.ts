/**
 * Walks the resource registry: for every registered resource, generated ones included, a row made by
 * organization A is invisible to organization B on every procedure (byId, update, delete, list, infinite,
 * history), B's attempts change nothing (A's row and its history stay as they were), and B's `onChange`
 * subscription, live or resumed, receives B's changes and none of A's; and for every reference field, a
 * link to another organization's row is refused by the API and, with plain SQL, by the database itself.
 * The one home of cross-organization isolation: a resource cannot ship without passing this.
 */
import { describe, expect, it } from "vitest";
import { Prisma } from "../../server/generated/prisma/client.js";
import { columnOf } from "../../server/kit/define.js";
import { sqlIdentifier } from "../../server/kit/scope.js";
import type { ResourceKey } from "../../server/resources/definitions.js";
import { everyResource, exampleOf, rejection, resourceApi, useTestApp } from "../support/fixtures.js";
import type { Entity, LooseResourceApi } from "../support/fixtures.js";
import { subscribeToChanges, summaryOf } from "../support/live.js";

const t = useTestApp({ server: true });

const codeOf = async (promise: Promise<unknown>) => (await rejection(promise)).code;

/** Every row `infinite` pages through, first page to last. */
async function walk(api: LooseResourceApi, input: Record<string, unknown>): Promise<Entity[]> {
  const items: Entity[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page: { items: Entity[]; nextCursor: string | null } = await api.infinite({ ...input, cursor });
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== null && ++pages < 1000);
  return items;
}

describe.each(everyResource)("%s", (key, resource) => {
  const searchField = resource.storage.searchField;
  /** The resource's example with `text` in its search field. */
  const withText = (text: string) => ({ ...exampleOf(key), [searchField]: text });

  it("a row of organization A is invisible to organization B on every procedure", async () => {
    const a = t.newOrg("alice");
    const b = t.newOrg("mallory");
    const [row] = await t.seed(key, a, 1);
    if (!row) throw new Error("seed made no row");
    const theirs = resourceApi(b.api, key);
    const historyBefore = await resourceApi(a.api, key).history({ id: row.id });
    // Before B owns a row: its list and infinite are empty.
    expect((await theirs.list()).data).toEqual([]);
    expect((await theirs.infinite()).items).toEqual([]);
    // B owns a row too, so its list and infinite are not trivially empty.
    const [own] = await t.seed(key, b, 1);
    const searchText = String(resource.example[resource.storage.searchField]);

    expect(await codeOf(theirs.byId({ id: row.id }))).toBe("NOT_FOUND");
    expect(await codeOf(theirs.update({ id: row.id, data: resource.example }))).toBe("NOT_FOUND");
    expect(await codeOf(theirs.update({ id: row.id, expectedUpdatedAt: row.updatedAt, data: resource.example }))).toBe("NOT_FOUND");
    expect(await codeOf(theirs.delete({ id: row.id }))).toBe("NOT_FOUND");
    expect(await codeOf(theirs.history({ id: row.id }))).toBe("NOT_FOUND");
    for (const input of [undefined, { search: searchText }, { page: 1, limit: 100 }]) {
      const listed = await theirs.list(input);
      expect(listed.data.map((r) => r.id)).toEqual([own?.id]);
      expect(listed.pagination.total).toBe(1);
      expect((await theirs.infinite(input && "page" in input ? { limit: 100 } : input)).items.map((r) => r.id)).toEqual([own?.id]);
    }

    // A still sees its row exactly as it was made, and its history as it was: B's attempts wrote nothing.
    expect(await resourceApi(a.api, key).byId({ id: row.id })).toEqual(row);
    expect((await resourceApi(a.api, key).list()).data.map((r) => r.id)).toEqual([row.id]);
    expect(await resourceApi(a.api, key).history({ id: row.id })).toEqual(historyBefore);
    // Deleted by A, its history stays A's alone.
    await resourceApi(a.api, key).delete({ id: row.id });
    expect(await codeOf(theirs.history({ id: row.id }))).toBe("NOT_FOUND");
  });

  it("organization A's search for B's text finds nothing, and A's list holds its own rows only", async () => {
    const a = t.newOrg("alice");
    const b = t.newOrg("bob");
    const bRow = await resourceApi(b.api, key).create(withText("B secret"));
    await resourceApi(a.api, key).create(withText("A public"));
    for (const call of [
      () => resourceApi(a.api, key).byId({ id: bRow.id }),
      () => resourceApi(a.api, key).update({ id: bRow.id, data: { [searchField]: "Hijacked" } }),
      () => resourceApi(a.api, key).delete({ id: bRow.id }),
    ]) {
      const error = await rejection(call());
      expect(error.code).toBe("NOT_FOUND");
    }
    const aList = await resourceApi(a.api, key).list({ limit: 100 });
    expect(aList.data.map((r) => r[searchField])).toEqual(["A public"]);
    expect(aList.pagination.total).toBe(1);
    expect((await resourceApi(a.api, key).list({ search: "secret" })).pagination.total).toBe(0);

    // B's row is untouched.
    expect(await resourceApi(b.api, key).byId({ id: bRow.id })).toEqual(bRow);
  });

  it("the same user id in two organizations sees two separate worlds", async () => {
    const a = t.newOrg("same-user");
    const b = t.newOrg("same-user");
    await resourceApi(a.api, key).create(withText("In A"));
    expect((await resourceApi(b.api, key).list()).pagination.total).toBe(0);
  });

  it("infinite shows only the caller's organization, also with another organization's cursor", async () => {
    const a = t.newOrg();
    const b = t.newOrg();
    // B's rows first: older than A's cursor, so a foreign cursor would reach them.
    await t.seed(key, b, 4, (i) => withText(`Mine ${i + 1}`));
    await t.seed(key, a, 10, (i) => withText(`Secret ${i + 1}`));
    const aPage = await resourceApi(a.api, key).infinite({ limit: 2 });
    expect(aPage.items.every((r) => r.organizationId === a.org)).toBe(true);

    const bAll = await walk(resourceApi(b.api, key), { limit: 3 });
    expect(bAll.map((r) => r.organizationId)).toEqual(Array(4).fill(b.org));
    const withForeignCursor = await resourceApi(b.api, key).infinite({ cursor: aPage.nextCursor, limit: 100 });
    expect(withForeignCursor.items.every((r) => r.organizationId === b.org)).toBe(true);
    expect((await resourceApi(b.api, key).infinite({ search: "Secret" })).items).toEqual([]);
  });

  it("an onChange subscription of organization B receives B's changes and none of A's, live and resumed", async () => {
    const a = t.newOrg("alice");
    const b = t.newOrg("mallory");
    const ofA = subscribeToChanges(t.server.url, a.token, key);
    const ofB = subscribeToChanges(t.server.url, b.token, key);
    await Promise.all([ofA.waitStarted(), ofB.waitStarted()]);
    const ownFirst = await resourceApi(b.api, key).create(withText("B first"));
    const [afterOwnFirst] = await ofB.waitForChanges(1);
    // A's created, updated and deleted fall between B's two creates.
    const row = await resourceApi(a.api, key).create(withText("A secret"));
    await resourceApi(a.api, key).update({ id: row.id, data: { [searchField]: "A secret, changed" } });
    await resourceApi(a.api, key).delete({ id: row.id });
    const ownSecond = await resourceApi(b.api, key).create(withText("B second"));
    await ofA.waitForChanges(3);
    await ofB.waitForChanges(2);
    await new Promise((resolve) => setTimeout(resolve, 200)); // anything extra would arrive by now
    // A's subscriber saw A's changes: they were made and delivered, only not to B.
    expect(summaryOf(ofA.changes)).toEqual([
      ["created", row.id],
      ["updated", row.id],
      ["deleted", row.id],
    ]);
    expect(summaryOf(ofB.changes)).toEqual([
      ["created", ownFirst.id],
      ["created", ownSecond.id],
    ]);
    ofA.stop();
    ofB.stop();

    // Resumed after B's first event: the replay reads the change log, where A's events lie in between.
    const resumed = subscribeToChanges(t.server.url, b.token, key, { lastEventId: afterOwnFirst?.id ?? null });
    await resumed.waitForChanges(1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(summaryOf(resumed.changes)).toEqual([["created", ownSecond.id]]);
    resumed.stop();
  });

  // Every reference of the resource, whatever the order of the list: the rows it needs are made first.
  const references = Object.entries(resource.references).map(([field, reference]) => [field, reference.to as ResourceKey] as const);
  it.skipIf(references.length === 0).each(references)("reference %s: a link to a row of another organization's %s is refused, by the API and by the database", async (field, target) => {
    const a = t.newOrg("alice");
    const b = t.newOrg("mallory");
    const [theirs] = await t.seed(target, b, 1);
    const [mine] = await t.seed(key, a, 1);
    if (!theirs || !mine) throw new Error("seed made no row");
    expect(await codeOf(resourceApi(a.api, key).create({ ...withText("Linked"), [field]: theirs.id }))).toBe("BAD_REQUEST");
    expect(await codeOf(resourceApi(a.api, key).update({ id: mine.id, data: { [field]: theirs.id } }))).toBe("BAD_REQUEST");

    // Plain SQL, past every check of the kit: a copy of A's row that names B's row is refused by the composite foreign key.
    const prisma = t.deps.db.prisma;
    const table = sqlIdentifier(resource.storage.table);
    const columns = await prisma.$queryRaw<{ column_name: string }[]>(
      Prisma.sql`SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ${resource.storage.table} ORDER BY ordinal_position`,
    );
    const valueOf = (column: string) =>
      column === "id" ? Prisma.sql`gen_random_uuid()` : column === columnOf(field) ? Prisma.sql`${theirs.id}::uuid` : Prisma.sql`${sqlIdentifier(column)}`;
    const names = columns.map((c) => c.column_name);
    const insert = prisma.$executeRaw(Prisma.sql`
      INSERT INTO ${table} (${Prisma.join(names.map(sqlIdentifier))}) SELECT ${Prisma.join(names.map(valueOf))} FROM ${table} WHERE id = ${mine.id}::uuid`);
    await expect(insert).rejects.toThrow(/foreign key/i);
    const update = prisma.$executeRaw(Prisma.sql`UPDATE ${table} SET ${sqlIdentifier(columnOf(field))} = ${theirs.id}::uuid WHERE id = ${mine.id}::uuid`);
    await expect(update).rejects.toThrow(/foreign key/i);
    expect(await resourceApi(a.api, key).byId({ id: mine.id })).toEqual(mine);
  });
});
