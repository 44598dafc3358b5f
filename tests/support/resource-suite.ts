/**
 * The behaviour every resource of the kit must have, as one suite a resource's test file runs with its own
 * field values: CRUD with audit fields, each field's validation (over HTTP, `fieldErrors` naming the field),
 * soft delete, paging (numbered and keyset), literal search, equality filters, optimistic concurrency, change
 * history. `npm run generate` writes a test file that calls it. Isolation between organizations is
 * tests/kit/isolation.test.ts, which walks every registered resource.
 */
import type { TRPCError } from "@trpc/server";
import { describe, expect, it } from "vitest";
import { ZodError } from "zod";
import { definitions } from "../../server/resources/definitions.js";
import type { ResourceKey } from "../../server/resources/definitions.js";
import { sqlIdentifier } from "../../server/kit/scope.js";
import { Prisma } from "../../server/generated/prisma/client.js";
import { rejection, resourceApi, useTestApp } from "./fixtures.js";
import type { Entity } from "./fixtures.js";
import type { ChangeEvent } from "../../server/contract/common.js";

export interface ResourceSuiteSpec {
  /** A valid create input; `n` makes the search field's text unique to the call. */
  sample: (n: number) => Record<string, unknown>;
  /** How the entity returns a sample field (datetimes are normalized to UTC); defaults to the value itself. */
  returned?: Record<string, (value: unknown) => unknown>;
  /** Values each field refuses, with (part of) the message when it is the kit's own. */
  invalid: { field: string; value: unknown; message?: string }[];
  /** Fields a create must have. */
  required: string[];
  /** Fields that may be left out (null back). */
  optional: string[];
  /** A valid change of one or more fields, for update. */
  update: Record<string, unknown>;
  /** Equality filters of list and infinite, with the values to try. */
  filters: Record<string, unknown[]>;
}

export function describeResource(key: ResourceKey, spec: ResourceSuiteSpec): void {
  const resource = definitions[key];
  const searchField = resource.storage.searchField;
  const t = useTestApp({ server: true });
  const returnedValue = (field: string, value: unknown) => (spec.returned?.[field] ? spec.returned[field](value) : value);

  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  /** A create input from the resource's sample with `text` in its search field. */
  const sampleWith = (n: number, text: string, more: Record<string, unknown> = {}) => ({ ...spec.sample(n), [searchField]: text, ...more });

  /** The zod issues of a BAD_REQUEST through createCaller, each as its path and message. */
  async function issuesOf(promise: Promise<unknown>): Promise<{ path: string; message: string }[]> {
    const error = await rejection(promise);
    expect(error.code).toBe("BAD_REQUEST");
    expect(error.cause).toBeInstanceOf(ZodError);
    return (error.cause as ZodError).issues.map((i) => ({ path: i.path.join("."), message: i.message }));
  }

  /** Posts a mutation over HTTP and returns the error's `fieldErrors`. */
  async function fieldErrorsOver(token: string, procedure: string, input: unknown): Promise<Record<string, string[]>> {
    const res = await fetch(`${t.server.url}/trpc/${key}.${procedure}`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(input),
    });
    const body = (await res.json()) as { error?: { data?: { code?: string; fieldErrors?: Record<string, string[]> } } };
    expect(res.status).toBe(400);
    expect(body.error?.data?.code).toBe("BAD_REQUEST");
    return body.error?.data?.fieldErrors ?? {};
  }

  describe(`${key}: create and read`, () => {
    it("creates a row of the caller's organization with audit fields, and reads it back", async () => {
      const { org, api } = t.newOrg("alice");
      const input = spec.sample(1);
      const created = await resourceApi(api, key).create(input);
      expect(created).toMatchObject({ organizationId: org, createdById: "alice", updatedById: "alice" });
      for (const [field, value] of Object.entries(input)) expect(created[field], field).toEqual(returnedValue(field, value));
      expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(new Date(created.createdAt).toISOString()).toBe(created.createdAt);
      expect(created.updatedAt).toBe(created.createdAt);
      expect(created).not.toHaveProperty("deletedAt");
      expect(await resourceApi(api, key).byId({ id: created.id })).toEqual(created);
    });

    it("returns null for every optional field left out", async () => {
      const { api } = t.newOrg();
      const input = spec.sample(2);
      for (const field of spec.optional) delete input[field];
      const created = await resourceApi(api, key).create(input);
      for (const field of spec.optional) expect(created[field], field).toBeNull();
    });

    it.each(spec.required)("refuses a create without %s, naming the field", async (field) => {
      const { token } = t.newOrg();
      const input = spec.sample(3);
      delete input[field];
      expect(Object.keys(await fieldErrorsOver(token, "create", input))).toContain(field);
    });

    it.each(spec.invalid.map((c) => [c.field, JSON.stringify(c.value)?.slice(0, 40) ?? String(c.value), c] as const))(
      "refuses %s = %s on create and update, naming the field",
      async (_field, _shown, { field, value, message }) => {
        const { token, api } = t.newOrg();
        const onCreate = await fieldErrorsOver(token, "create", { ...spec.sample(4), [field]: value });
        expect(Object.keys(onCreate)).toEqual([field]);
        if (message) expect(onCreate[field]?.join(" ")).toContain(message);
        const existing = await resourceApi(api, key).create(spec.sample(5));
        const onUpdate = await fieldErrorsOver(token, "update", { id: existing.id, data: { [field]: value } });
        expect(Object.keys(onUpdate)).toEqual([`data.${field}`]);
      },
    );

    it("refuses an unknown field and an organizationId in the input", async () => {
      const { token } = t.newOrg();
      const errors = await fieldErrorsOver(token, "create", { ...spec.sample(6), organizationId: "other" });
      expect(errors[""]?.join(" ")).toContain("organizationId");
    });
  });

  describe(`${key}: byId`, () => {
    it("an unknown or malformed id", async () => {
      const { api } = t.newOrg();
      expect((await rejection(resourceApi(api, key).byId({ id: "00000000-0000-4000-8000-00000000dead" }))).code).toBe("NOT_FOUND");
      expect((await issuesOf(resourceApi(api, key).byId({ id: "not-a-uuid" }))).map((i) => i.path)).toEqual(["id"]);
    });
  });

  describe(`${key}: update`, () => {
    it("changes only the fields given, and stamps updatedById", async () => {
      const { api, as } = t.newOrg("alice");
      const created = await resourceApi(api, key).create(spec.sample(7));
      const updated = await resourceApi(as("bob"), key).update({ id: created.id, data: spec.update });
      for (const [field, value] of Object.entries(spec.update)) expect(updated[field], field).toEqual(returnedValue(field, value));
      for (const field of Object.keys(spec.sample(7)).filter((f) => !(f in spec.update))) expect(updated[field], field).toEqual(created[field]);
      expect(updated).toMatchObject({ createdById: "alice", updatedById: "bob", createdAt: created.createdAt });
      expect(new Date(updated.updatedAt).getTime()).toBeGreaterThanOrEqual(new Date(created.updatedAt).getTime());
    });

    it("refuses an empty change", async () => {
      const { api } = t.newOrg();
      const created = await resourceApi(api, key).create(spec.sample(8));
      expect((await rejection(resourceApi(api, key).update({ id: created.id, data: {} }))).code).toBe("BAD_REQUEST");
    });

    it("with a stale expectedUpdatedAt is a CONFLICT and changes nothing", async () => {
      const { api } = t.newOrg();
      const created = await resourceApi(api, key).create(spec.sample(9));
      await new Promise((resolve) => setTimeout(resolve, 5));
      const current = await resourceApi(api, key).update({ id: created.id, data: spec.update });
      const error = await rejection(resourceApi(api, key).update({ id: created.id, expectedUpdatedAt: created.updatedAt, data: spec.update }));
      expect(error.code).toBe("CONFLICT");
      expect(await resourceApi(api, key).byId({ id: created.id })).toEqual(current);
    });

    it.each([
      ["no field to change", { data: {} }, "data"],
      ["an audit field", { data: { createdById: "mallory" } }, "data"],
    ])("refuses %s", async (_label, patch, field) => {
      const { api } = t.newOrg();
      const created = await resourceApi(api, key).create(spec.sample(12));
      const issues = await issuesOf(resourceApi(api, key).update({ id: created.id, ...patch }));
      expect(issues.map((i) => i.path)).toContain(field);
    });
  });

  describe(`${key}: optimistic concurrency`, () => {
    it("an update with a fresh expectedUpdatedAt wins; a stale one is CONFLICT and changes nothing", async () => {
      const { api, as } = t.newOrg("alice");
      const created = await resourceApi(api, key).create(spec.sample(13));
      await sleep(5);
      const bobs = await resourceApi(as("bob"), key).update({ id: created.id, expectedUpdatedAt: created.updatedAt, data: { [searchField]: "Bob's" } });
      expect(bobs[searchField]).toBe("Bob's");

      const error = await rejection(resourceApi(api, key).update({ id: created.id, expectedUpdatedAt: created.updatedAt, data: { [searchField]: "Alice's" } }));
      expect(error.code).toBe("CONFLICT");
      expect(await resourceApi(api, key).byId({ id: created.id })).toEqual(bobs);

      const fresh = await resourceApi(api, key).update({ id: created.id, expectedUpdatedAt: bobs.updatedAt, data: { [searchField]: "Alice's" } });
      expect(fresh[searchField]).toBe("Alice's");
    });

    it("of two concurrent updates from the same version, exactly one wins", async () => {
      const { api } = t.newOrg();
      const created = await resourceApi(api, key).create(spec.sample(14));
      await sleep(5);
      const results = await Promise.allSettled(
        ["One", "Two", "Three"].map((text) => resourceApi(api, key).update({ id: created.id, expectedUpdatedAt: created.updatedAt, data: { [searchField]: text } })),
      );
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      for (const r of results.filter((r) => r.status === "rejected")) expect((r.reason as TRPCError).code).toBe("CONFLICT");
    });

    it("expectedUpdatedAt on a deleted row is still NOT_FOUND", async () => {
      const { api } = t.newOrg();
      const created = await resourceApi(api, key).create(spec.sample(15));
      await resourceApi(api, key).delete({ id: created.id });
      expect((await rejection(resourceApi(api, key).update({ id: created.id, expectedUpdatedAt: created.updatedAt, data: spec.update }))).code).toBe("NOT_FOUND");
    });

    it("refuses a malformed expectedUpdatedAt", async () => {
      const { api } = t.newOrg();
      const created = await resourceApi(api, key).create(spec.sample(16));
      const issues = await issuesOf(resourceApi(api, key).update({ id: created.id, expectedUpdatedAt: "yesterday", data: spec.update }));
      expect(issues.map((i) => i.path)).toEqual(["expectedUpdatedAt"]);
    });
  });

  describe(`${key}: soft delete`, () => {
    it("hides the row everywhere but keeps it in the table", async () => {
      const { api } = t.newOrg();
      const rows = resourceApi(api, key);
      const row = await rows.create(spec.sample(11));
      expect(await rows.delete({ id: row.id })).toEqual({ id: row.id });
      expect((await rejection(rows.byId({ id: row.id }))).code).toBe("NOT_FOUND");
      expect((await rejection(rows.update({ id: row.id, data: spec.update }))).code).toBe("NOT_FOUND");
      expect((await rejection(rows.delete({ id: row.id }))).code).toBe("NOT_FOUND");
      expect((await rows.list()).data).toEqual([]);
      expect((await rows.infinite()).items).toEqual([]);
      const prisma = t.deps.db.prisma;
      const stored = await prisma.$queryRaw<{ deleted_at: Date | null }[]>(
        Prisma.sql`SELECT deleted_at FROM ${sqlIdentifier(resource.storage.table)} WHERE id = ${row.id}::uuid`,
      );
      expect(stored[0]?.deleted_at).toBeInstanceOf(Date);
    });

    it("a delete by another user stamps updatedById, and the organization's other rows stay listed", async () => {
      const { api, as } = t.newOrg("alice");
      const rows = resourceApi(api, key);
      const doomed = await rows.create(sampleWith(17, "Doomed"));
      const kept = await rows.create(sampleWith(18, "Kept"));
      expect(await resourceApi(as("bob"), key).delete({ id: doomed.id })).toEqual({ id: doomed.id });

      const stored = await t.deps.db.prisma.$queryRaw<{ deleted_at: Date | null; updated_by_id: string }[]>(
        Prisma.sql`SELECT deleted_at, updated_by_id FROM ${sqlIdentifier(resource.storage.table)} WHERE id = ${doomed.id}::uuid`,
      );
      expect(stored[0]?.deleted_at).toBeInstanceOf(Date);
      expect(stored[0]?.updated_by_id).toBe("bob");

      const list = await rows.list();
      expect(list.data.map((r) => r.id)).toEqual([kept.id]);
      expect(list.pagination.total).toBe(1);
      expect((await rows.list({ search: "Doomed" })).pagination.total).toBe(0);
      for (const call of [
        () => rows.byId({ id: doomed.id }),
        () => rows.update({ id: doomed.id, data: { [searchField]: "Back" } }),
        () => rows.delete({ id: doomed.id }),
      ]) {
        expect((await rejection(call())).code).toBe("NOT_FOUND");
      }
    });
  });

  describe(`${key}: listing`, () => {
    it("pages newest first with totals, and infinite walks every row once", async () => {
      const owner = t.newOrg();
      const made = await t.seed(key, owner, 5, (i) => spec.sample(100 + i));
      const rows = resourceApi(owner.api, key);
      const first = await rows.list({ page: 1, limit: 2 });
      expect(first.pagination).toEqual({ page: 1, limit: 2, total: 5, totalPages: 3, totalIsEstimate: false });
      const all = [...first.data, ...(await rows.list({ page: 2, limit: 2 })).data, ...(await rows.list({ page: 3, limit: 2 })).data];
      expect(all.map((r) => r.id)).toEqual(
        [...made].sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id)).map((r) => r.id),
      );
      const walked: Entity[] = [];
      let cursor: string | null = null;
      do {
        const page: { items: Entity[]; nextCursor: string | null } = await rows.infinite({ limit: 2, cursor });
        walked.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor);
      expect(walked.map((r) => r.id)).toEqual(all.map((r) => r.id));
    });

    it(`searches ${searchField} case-insensitively, every character literal`, async () => {
      const owner = t.newOrg();
      const text = (value: string) => ({ ...spec.sample(200), [searchField]: value });
      const [plain, percent] = [
        await resourceApi(owner.api, key).create(text("Needle Alpha")),
        await resourceApi(owner.api, key).create(text("needle 100% beta")),
      ];
      await resourceApi(owner.api, key).create(text("Haystack"));
      const ids = async (search: string) => (await resourceApi(owner.api, key).list({ search })).data.map((r) => r.id).sort();
      expect(await ids("NEEDLE")).toEqual([plain.id, percent.id].sort());
      expect(await ids("100%")).toEqual([percent.id]);
      expect(await ids("%")).toEqual([percent.id]);
      expect(await ids("_")).toEqual([]);
      const infinite = await resourceApi(owner.api, key).infinite({ search: "alpha" });
      expect(infinite.items.map((r) => r.id)).toEqual([plain.id]);
    });

    it.each(Object.keys(spec.filters))("filters by %s on list and infinite", async (field) => {
      const owner = t.newOrg();
      const values = spec.filters[field] ?? [];
      const made = await t.seed(key, owner, values.length, (i) => ({ ...spec.sample(300 + i), [field]: values[i] }));
      for (const [i, value] of values.entries()) {
        const listed = await resourceApi(owner.api, key).list({ [field]: value });
        expect(listed.data.map((r) => r.id)).toEqual([made[i]?.id]);
        expect(listed.pagination.total).toBe(1);
        const infinite = await resourceApi(owner.api, key).infinite({ [field]: value });
        expect(infinite.items.map((r) => r.id)).toEqual([made[i]?.id]);
      }
    });

    it("pages newest first with true totals; past the last page, and with the defaults", async () => {
      const { api } = t.newOrg();
      const rows = resourceApi(api, key);
      const created: Entity[] = [];
      for (let i = 0; i < 7; i++) created.push(await rows.create(spec.sample(500 + i)));
      const newestFirst = [...created].reverse().map((r) => r.id);

      const page1 = await rows.list({ page: 1, limit: 3 });
      expect(page1.pagination).toEqual({ page: 1, limit: 3, total: 7, totalPages: 3, totalIsEstimate: false });
      expect(page1.data.map((r) => r.id)).toEqual(newestFirst.slice(0, 3));

      const page3 = await rows.list({ page: 3, limit: 3 });
      expect(page3.data.map((r) => r.id)).toEqual(newestFirst.slice(6));

      const past = await rows.list({ page: 9, limit: 3 });
      expect(past.data).toEqual([]);
      expect(past.pagination).toEqual({ page: 9, limit: 3, total: 7, totalPages: 3, totalIsEstimate: false });

      const defaults = await rows.list();
      expect(defaults.pagination).toMatchObject({ page: 1, limit: 20, total: 7, totalPages: 1 });
    });

    it("breaks createdAt ties by id, descending", async () => {
      const { api } = t.newOrg();
      const at = new Date("2026-01-01T00:00:00Z");
      const ids = ["00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000003", "00000000-0000-4000-8000-000000000002"];
      for (const [i, id] of ids.entries()) {
        const row = await resourceApi(api, key).create(spec.sample(600 + i));
        await t.deps.db.prisma.$executeRaw(
          Prisma.sql`UPDATE ${sqlIdentifier(resource.storage.table)} SET id = ${id}::uuid, created_at = ${at} WHERE id = ${row.id}::uuid`,
        );
      }
      const { data } = await resourceApi(api, key).list();
      expect(data.map((r) => r.id)).toEqual([...ids].sort().reverse());
    });

    it("an empty organization has zero pages", async () => {
      const { api } = t.newOrg();
      expect((await resourceApi(api, key).list({})).pagination).toEqual({ page: 1, limit: 20, total: 0, totalPages: 0, totalIsEstimate: false });
    });

    it(`searches ${searchField} case-insensitively, every character meaning itself`, async () => {
      const { api } = t.newOrg();
      const texts = ["Discount 100%", "Discount 1000", "snake_case flag", "snakeXcase flag", "back\\slash", "backslash", "DARK mode"];
      for (const [i, text] of texts.entries()) await resourceApi(api, key).create(sampleWith(700 + i, text));
      const found = async (search: string) => (await resourceApi(api, key).list({ search })).data.map((r) => r[searchField] as string).sort();
      expect(await found("100%")).toEqual(["Discount 100%"]);
      expect(await found("e_c")).toEqual(["snake_case flag"]);
      expect(await found("k\\s")).toEqual(["back\\slash"]);
      expect(await found("dark")).toEqual(["DARK mode"]);
      expect(await found("Mode")).toEqual(["DARK mode"]);
      expect(await found("%")).toEqual(["Discount 100%"]);
      expect((await resourceApi(api, key).list({ search: "discount" })).pagination.total).toBe(2);
    });

    // The first equality filter with two values or more (features: status), combined with search.
    const [filter, [on, off] = []] = Object.entries(spec.filters).find(([, values]) => values.length >= 2) ?? [undefined, []];
    if (filter) {
      it(`filters by ${filter}, combined with search`, async () => {
        const { api } = t.newOrg();
        await resourceApi(api, key).create(sampleWith(800, "On one", { [filter]: on }));
        await resourceApi(api, key).create(sampleWith(801, "Off one", { [filter]: off }));
        await resourceApi(api, key).create(sampleWith(802, "Off two", { [filter]: off }));
        const found = async (input: Record<string, unknown>) => (await resourceApi(api, key).list(input)).data.map((r) => r[searchField] as string);
        expect((await found({ [filter]: off })).sort()).toEqual(["Off one", "Off two"]);
        expect((await resourceApi(api, key).list({ [filter]: on })).pagination.total).toBe(1);
        expect(await found({ [filter]: off, search: "two" })).toEqual(["Off two"]);
      });
    }

    it.each([
      [{ page: 0 }, "page"],
      [{ page: 1.5 }, "page"],
      [{ limit: 0 }, "limit"],
      [{ limit: 101 }, "limit"],
      [{ search: 5 }, "search"],
      [{ sort: "name" }, ""],
      [{ search: "a\u0000" }, "search"],
    ])("list refuses %j", async (input, field) => {
      const { api } = t.newOrg();
      const issues = await issuesOf(resourceApi(api, key).list(input));
      expect(issues.map((i) => i.path)).toContain(field);
    });

    it("list accepts limit 1 and 100", async () => {
      const { api } = t.newOrg();
      await expect(resourceApi(api, key).list({ limit: 1 })).resolves.toBeTruthy();
      await expect(resourceApi(api, key).list({ limit: 100 })).resolves.toBeTruthy();
    });
  });

  describe(`${key}: change history`, () => {
    const history = (api: Parameters<typeof resourceApi>[0], input: unknown) => resourceApi(api, key).history(input);

    it("records created, updated and deleted with actors and before/after values, newest first", async () => {
      const owner = t.newOrg("alice");
      const input = spec.sample(400);
      const created = await resourceApi(owner.api, key).create(input);
      const updated = await resourceApi(owner.as("bob"), key).update({ id: created.id, data: spec.update });
      await resourceApi(owner.as("carol"), key).delete({ id: created.id });
      const { items, nextCursor } = await history(owner.api, { id: created.id });
      expect(nextCursor).toBeNull();
      expect(items.map((e) => [e.type, e.actorId])).toEqual([
        ["deleted", "carol"],
        ["updated", "bob"],
        ["created", "alice"],
      ]);
      const [deleted, update, create] = items;
      expect(BigInt(deleted?.id ?? 0)).toBeGreaterThan(BigInt(update?.id ?? 0));
      for (const event of items) expect(event).toMatchObject({ organizationId: owner.org, entityId: created.id });
      for (const [field, value] of Object.entries(input)) expect(create?.changes[field], field).toEqual({ before: null, after: returnedValue(field, value) });
      // Only the fields that changed, each with its value before and after.
      const changed = Object.keys(spec.update).filter((field) => JSON.stringify(created[field]) !== JSON.stringify(updated[field]));
      expect(Object.keys(update?.changes ?? {}).sort()).toEqual(changed.sort());
      for (const field of changed) expect(update?.changes[field], field).toEqual({ before: created[field], after: updated[field] });
      expect(deleted?.changes.deletedAt?.before).toBeNull();
      expect(new Date(deleted?.createdAt ?? 0).getTime()).toBeGreaterThanOrEqual(new Date(create?.createdAt ?? 0).getTime());
    });

    it("pages with a keyset cursor, without gaps or repeats", async () => {
      const owner = t.newOrg();
      const created = await resourceApi(owner.api, key).create(spec.sample(401));
      for (let i = 0; i < 4; i++) await resourceApi(owner.api, key).update({ id: created.id, data: spec.sample(410 + i) });
      const all = (await history(owner.api, { id: created.id, limit: 100 })).items.map((e) => e.id);
      expect(all).toHaveLength(5);
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { items: ChangeEvent[]; nextCursor: string | null } = await history(owner.api, { id: created.id, limit: 2, cursor });
        expect(page.items.length).toBeLessThanOrEqual(2);
        seen.push(...page.items.map((e) => e.id));
        cursor = page.nextCursor;
      } while (cursor);
      expect(seen).toEqual(all);
      expect((await rejection(history(owner.api, { id: created.id, cursor: "not-a-cursor" }))).code).toBe("BAD_REQUEST");
    });

    it("stays readable to its own organization after a delete; an unknown id is NOT_FOUND", async () => {
      const owner = t.newOrg();
      const created = await resourceApi(owner.api, key).create(spec.sample(402));
      await resourceApi(owner.api, key).delete({ id: created.id });
      expect((await history(owner.api, { id: created.id })).items.map((e) => e.type)).toEqual(["deleted", "created"]);
      expect((await rejection(history(owner.api, { id: "00000000-0000-4000-8000-000000000000" }))).code).toBe("NOT_FOUND");
    });

    it("writes no event for a change that fails", async () => {
      const owner = t.newOrg();
      const created = await resourceApi(owner.api, key).create(spec.sample(403));
      await resourceApi(owner.api, key).update({ id: created.id, data: spec.update });
      // A stale expectedUpdatedAt: refused, nothing changed, nothing recorded.
      const stale = await rejection(resourceApi(owner.api, key).update({ id: created.id, expectedUpdatedAt: created.updatedAt, data: spec.sample(404) }));
      expect(stale.code).toBe("CONFLICT");
      expect((await history(owner.api, { id: created.id })).items.map((e) => e.type)).toEqual(["updated", "created"]);
    });
  });
}

/** How the API returns a datetime it was given: the same instant, in UTC. */
export const isoUtc = (value: unknown): string => new Date(value as string).toISOString();
