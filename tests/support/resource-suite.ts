/**
 * The behaviour every resource of the kit must have, as one suite a resource's test file runs with its own
 * field values: CRUD with audit fields, each field's validation (over HTTP, `fieldErrors` naming the field),
 * soft delete, paging (numbered and keyset) and the count strategy, literal search, equality filters,
 * optimistic concurrency, change history. `npm run generate` writes a test file that calls it. Isolation
 * between organizations is tests/kit/isolation.test.ts, which walks every registered resource.
 */
import { randomUUID } from "node:crypto";
import { TRPCError } from "@trpc/server";
import { describe, expect, it } from "vitest";
import { z, ZodError } from "zod";
import { definitions } from "../../server/resources/definitions.js";
import type { ResourceKey } from "../../server/resources/definitions.js";
import { sqlIdentifier } from "../../server/kit/scope.js";
import { columnOf } from "../../server/kit/define.js";
import { EXACT_COUNT_LIMIT } from "../../server/kit/listing.js";
import { Prisma } from "../../server/generated/prisma/client.js";
import { callerFor, tokenFor } from "./app.js";
import { everyResource, exampleOf, FULL_ACCESS_ROLE, rejection, resourceApi, useTestApp, withReferences } from "./fixtures.js";
import type { Caller, Entity, TestOrg } from "./fixtures.js";
import type { ChangeEvent } from "../../server/contract/common.js";
import type { DomainError } from "../../server/kit/errors.js";

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

  // The first equality filter with two values or more (features: status), and those two values.
  const [filter, [on, off] = []] = Object.entries(spec.filters).find(([, values]) => values.length >= 2) ?? [undefined, []];
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

  /**
   * Inserts `count` rows of `owner` in one statement, at sizes the API would take long to make: copies of a
   * row made through the API (then removed), each with a new id, `<prefix> <i>` in the search field,
   * created_at and updated_at at 2026-01-01 plus one second per `sameInstant` rows (ties that only the id
   * breaks), and the first filter's second value on every `offEvery`-th row, its first value on the others.
   */
  const uniqueColumns = new Set(resource.unique.flat().map(columnOf));
  let seedBatches = 0;
  async function seedMany(owner: TestOrg, count: number, options: { prefix?: string; sameInstant?: number; offEvery?: number } = {}) {
    // Numbers of unique keys: each batch of copies counts from its own million.
    const offset = ++seedBatches * 1_000_000;
    const { prefix = "Seeded", sameInstant = 1, offEvery = 0 } = options;
    const prisma = t.deps.db.prisma;
    const table = sqlIdentifier(resource.storage.table);
    const template = await resourceApi(owner.api, key).create(spec.sample(900));
    const columns = await prisma.$queryRaw<{ column_name: string; udt_name: string }[]>(
      Prisma.sql`SELECT column_name, udt_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ${resource.storage.table} ORDER BY ordinal_position`,
    );
    const valueOf = ({ column_name: column, udt_name: type }: { column_name: string; udt_name: string }): Prisma.Sql => {
      if (column === "id") return Prisma.sql`gen_random_uuid()`;
      if (column === columnOf(searchField)) return Prisma.sql`${prefix} || ' ' || s.i`;
      if (column === "created_at" || column === "updated_at") return Prisma.sql`t.ts`;
      // Every copy keeps the resource's unique keys: each of their fields that can vary does.
      if (uniqueColumns.has(column)) {
        if (type === "varchar" || type === "text") return Prisma.sql`template.${sqlIdentifier(column)} || ' ' || ${prefix} || s.i`;
        if (type === "int4" || type === "int8" || type === "float8" || type === "numeric") return Prisma.sql`s.i + ${offset}::int`;
        if (type === "timestamptz") return Prisma.sql`timestamptz '2026-01-01' + (s.i + ${offset}::int) * interval '1 millisecond'`;
      }
      if (filter && column === columnOf(filter)) {
        // The column's own type (an enum's is PascalCase: `FeatureStatus`), as information_schema names it.
        if (!/^\w+$/.test(type)) throw new Error(`unexpected column type ${type}`);
        const as = (value: unknown) => Prisma.sql`CAST(${String(value)}::text AS ${Prisma.raw(`"${type}"`)})`;
        return Prisma.sql`CASE WHEN ${offEvery}::int > 0 AND s.i % ${offEvery}::int = 0 THEN ${as(off)} ELSE ${as(on)} END`;
      }
      return Prisma.sql`template.${sqlIdentifier(column)}`;
    };
    await prisma.$executeRaw(Prisma.sql`
      INSERT INTO ${table} (${Prisma.join(columns.map((c) => sqlIdentifier(c.column_name)))})
      SELECT ${Prisma.join(columns.map(valueOf))}
      FROM ${table} AS template,
           generate_series(1, ${count}::int) AS s(i),
           LATERAL (SELECT timestamptz '2026-01-01' + ((s.i - 1) / ${sameInstant}::int) * interval '1 second' AS ts) AS t
      WHERE template.id = ${template.id}::uuid`);
    await prisma.$executeRaw(Prisma.sql`DELETE FROM ${table} WHERE id = ${template.id}::uuid`);
  }

  /** Every page `infinite` returns, from the first to the one whose nextCursor is null; `between` runs after each page. */
  async function walk(api: Caller, input: Record<string, unknown>, between?: () => Promise<void>): Promise<Entity[][]> {
    const pages: Entity[][] = [];
    let cursor: string | null = null;
    do {
      const page: { items: Entity[]; nextCursor: string | null } = await resourceApi(api, key).infinite({ ...input, cursor });
      pages.push(page.items);
      cursor = page.nextCursor;
      if (between) await between();
    } while (cursor !== null && pages.length < 1000);
    return pages;
  }

  /** The order list and infinite document: createdAt, then id, both descending. */
  const newestFirst = (a: Entity, b: Entity) => b.createdAt.localeCompare(a.createdAt) || (b.id < a.id ? -1 : b.id > a.id ? 1 : 0);

  /** Posts a mutation over HTTP and returns the error's `fieldErrors`. */
  async function fieldErrorsOver(token: string, procedure: string, input: Record<string, unknown>): Promise<Record<string, string[]>> {
    // A create's required references it leaves out are filled (`withReferences`), as `resourceApi` does.
    const sent = procedure === "create" ? await withReferences(callerFor(t.deps, token), key, input) : input;
    const res = await fetch(`${t.server.url}/trpc/${key}.${procedure}`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(sent),
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
      // Present but undefined: left out on the wire, and not filled in as a missing reference would be.
      input[field] = undefined;
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
      // Under the unknown key's own name (issue 18), never the input's "".
      expect(Object.keys(errors)).toEqual(["organizationId"]);
      expect(errors.organizationId?.join(" ")).toContain("organizationId");
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
      let n = 200;
      const text = (value: string) => ({ ...spec.sample(n++), [searchField]: value });
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
      // `sort` is an object ({ field, direction }) since lists sort (issue 18); a bare string is still refused.
      [{ sort: "name" }, "sort"],
      [{ sort: { field: "nope" } }, "sort.field"],
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

  describe(`${key}: infinite (keyset pages)`, () => {
    it("pages through everything newest first, ties broken by id, each row once", async () => {
      const owner = t.newOrg("alice");
      await seedMany(owner, 53, { sameInstant: 4 });
      const pages = await walk(owner.api, { limit: 10 });
      expect(pages.map((p) => p.length)).toEqual([10, 10, 10, 10, 10, 3]);
      const items = pages.flat();
      expect(new Set(items.map((r) => r.id)).size).toBe(53);
      expect(items).toEqual([...items].sort(newestFirst));
      // The same order as the numbered pages of list.
      const listed = await resourceApi(owner.api, key).list({ limit: 100 });
      expect(items.map((r) => r.id)).toEqual(listed.data.map((r) => r.id));
    });

    it("ends with nextCursor null, also when the last page is exactly full", async () => {
      const owner = t.newOrg("alice");
      await seedMany(owner, 6);
      const rows = resourceApi(owner.api, key);
      const first = await rows.infinite({ limit: 3 });
      expect(first.nextCursor).toEqual(expect.any(String));
      const second = await rows.infinite({ limit: 3, cursor: first.nextCursor });
      expect(second.items).toHaveLength(3);
      expect(second.nextCursor).toBeNull();
      await expect(resourceApi(t.newOrg("alice").api, key).infinite()).resolves.toEqual({ items: [], nextCursor: null });
    });

    it("has no duplicates and no gaps while rows are created between pages", async () => {
      const owner = t.newOrg("alice");
      await seedMany(owner, 40, { sameInstant: 3 });
      const rows = resourceApi(owner.api, key);
      const before = (await rows.list({ limit: 100 })).data.map((r) => r.id);
      let created = 0;
      const pages = await walk(owner.api, { limit: 7 }, async () => {
        // New rows are newer than every cursor: they belong before page 1, never in a later page.
        created++;
        await rows.create(sampleWith(910 + created, `Arrived while scrolling ${created}`));
      });
      const seen = pages.flat().map((r) => r.id);
      expect(seen).toEqual(before);
      expect(created).toBe(pages.length);
    });

    it("skips deleted rows, including the one a cursor points at", async () => {
      const owner = t.newOrg("alice");
      await seedMany(owner, 9);
      const rows = resourceApi(owner.api, key);
      const first = await rows.infinite({ limit: 3 });
      const last = first.items.at(-1);
      expect(last).toBeDefined();
      await rows.delete({ id: last!.id });
      const rest = await walk(owner.api, { limit: 3 });
      expect(rest.flat().map((r) => r.id)).not.toContain(last!.id);
      const next = await rows.infinite({ limit: 3, cursor: first.nextCursor });
      expect(next.items.map((r) => r[searchField])).toEqual(["Seeded 6", "Seeded 5", "Seeded 4"]);
    });

    if (filter) {
      it(`applies search and ${filter} to every page`, async () => {
        const owner = t.newOrg("alice");
        await seedMany(owner, 30, { prefix: "Alpha", offEvery: 3 });
        await seedMany(owner, 30, { prefix: "Beta", offEvery: 3 });
        await resourceApi(owner.api, key).create(sampleWith(920, "alpha_1%", { [filter]: on }));

        const offAlpha = (await walk(owner.api, { limit: 4, search: "ALPHA", [filter]: off })).flat();
        expect(offAlpha).toHaveLength(10);
        expect(offAlpha.every((r) => String(r[searchField]).startsWith("Alpha") && r[filter] === off)).toBe(true);
        expect(offAlpha).toEqual([...offAlpha].sort(newestFirst));

        const onRows = (await walk(owner.api, { limit: 9, [filter]: on })).flat();
        expect(onRows).toHaveLength(41);
        // Wildcards mean themselves, as in list.
        expect((await walk(owner.api, { search: "_1%" })).flat().map((r) => r[searchField])).toEqual(["alpha_1%"]);
      });
    }

    it.each([
      ["a made-up cursor", { cursor: "page-2" }, "cursor"],
      ["a cursor with an impossible date", { cursor: "2026-13-45T00:00:00.000Z_1b4e28ba-2fa1-11d2-883f-0016d3cca427" }, "cursor"],
      ["a limit of 0", { limit: 0 }, "limit"],
      ["a limit of 101", { limit: 101 }, "limit"],
      ["backward paging", { direction: "backward" }, "direction"],
      ["an organizationId in the input", { organizationId: "other" }, ""],
    ])("refuses %s", async (_label, input, field) => {
      const error = await resourceApi(t.newOrg("alice").api, key)
        .infinite(input)
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).toBeInstanceOf(TRPCError);
      expect((error as TRPCError).code).toBe("BAD_REQUEST");
      const issues = ((error as TRPCError).cause as ZodError).issues;
      expect(issues.map((i) => i.path.join("."))).toContain(field);
    });

    it("accepts what useInfiniteQuery sends: direction forward and a null cursor", async () => {
      const owner = t.newOrg("alice");
      await seedMany(owner, 3);
      const page = await resourceApi(owner.api, key).infinite({ limit: 2, cursor: null, direction: "forward" });
      expect(page.items).toHaveLength(2);
    });

    it("requires a valid token", async () => {
      const error = await resourceApi(callerFor(t.deps, undefined), key)
        .infinite()
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect((error as TRPCError).code).toBe("UNAUTHORIZED");
    });
  });

  describe(`${key}: list count strategy`, () => {
    it(`counts exactly up to ${EXACT_COUNT_LIMIT} matches and flags an estimate past that`, async () => {
      const owner = t.newOrg("alice");
      const rows = resourceApi(owner.api, key);
      await seedMany(owner, EXACT_COUNT_LIMIT, { offEvery: 100 });
      const exact = await rows.list({ limit: 20 });
      expect(exact.pagination).toEqual({ page: 1, limit: 20, total: EXACT_COUNT_LIMIT, totalPages: EXACT_COUNT_LIMIT / 20, totalIsEstimate: false });

      await seedMany(owner, 500, { prefix: "More" });
      await t.deps.db.prisma.$executeRaw(Prisma.sql`ANALYZE ${sqlIdentifier(resource.storage.table)}`);
      const estimated = await rows.list({ limit: 20 });
      expect(estimated.pagination.totalIsEstimate).toBe(true);
      // Never fewer than the rows counted before the count stopped; the planner's figure is near the truth.
      expect(estimated.pagination.total).toBeGreaterThan(EXACT_COUNT_LIMIT);
      expect(estimated.pagination.total).toBeLessThan(3 * (EXACT_COUNT_LIMIT + 500));
      expect(estimated.pagination.totalPages).toBe(Math.ceil(estimated.pagination.total / 20));
      expect(estimated.data).toHaveLength(20);

      // A filter that matches fewer rows is counted exactly again, in the same big organization.
      if (filter) {
        const filtered = await rows.list({ [filter]: off });
        expect(filtered.pagination).toMatchObject({ total: EXACT_COUNT_LIMIT / 100, totalIsEstimate: false });
      }
      const searched = await rows.list({ search: "more 49" });
      expect(searched.pagination).toMatchObject({ total: 11, totalIsEstimate: false });
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

    it("concurrent updates of one row each record the value they replaced: the history is one chain", async () => {
      const owner = t.newOrg();
      const rows = resourceApi(owner.api, key);
      const created = await rows.create(spec.sample(420));
      const texts = Array.from({ length: 24 }, (_, i) => `Concurrent ${i}`);
      await Promise.all(texts.map((text) => rows.update({ id: created.id, data: { [searchField]: text } })));
      const oldestFirst = (await history(owner.api, { id: created.id, limit: 100 })).items.reverse();
      expect(oldestFirst.map((event) => event.type)).toEqual(["created", ...texts.map(() => "updated")]);
      let value: unknown = created[searchField];
      for (const event of oldestFirst.slice(1)) {
        expect(event.changes[searchField]?.before, `event ${event.id}`).toEqual(value);
        value = event.changes[searchField]?.after;
      }
      expect(new Set(oldestFirst.slice(1).map((event) => event.changes[searchField]?.after))).toEqual(new Set(texts));
      expect(value).toEqual((await rows.byId({ id: created.id }))[searchField]);
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

  /** The error of a call over HTTP: its tRPC code, message and data. */
  async function errorOver(token: string, procedure: string, input: Record<string, unknown>) {
    const res = await fetch(`${t.server.url}/trpc/${key}.${procedure}`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(input),
    });
    const body = (await res.json()) as { error?: { message: string; data: { code: string; reason?: string; fields?: string[] } } };
    return { status: res.status, ...body.error };
  }

  const references = Object.entries(resource.references);
  const referenceCases = references.map(([field, reference]) => [field, reference.to as ResourceKey, reference.onDelete] as const);
  /**
   * How many live rows of this resource name a deleted row of `target` through `field` (only those naming
   * one of `parents`, when given): what every race of creates, updates and deletes must leave at 0.
   */
  const danglingChildren = async (field: string, target: ResourceKey, parents?: string[]) => {
    const table = sqlIdentifier(resource.storage.table);
    const parentTable = sqlIdentifier(definitions[target].storage.table);
    const among = parents ? Prisma.sql` AND parent.id IN (${Prisma.join(parents.map((id) => Prisma.sql`${id}::uuid`))})` : Prisma.empty;
    const [row] = await t.deps.db.prisma.$queryRaw<{ n: number }[]>(Prisma.sql`
      SELECT count(*)::int AS n FROM ${table} AS child JOIN ${parentTable} AS parent ON parent.id = child.${sqlIdentifier(columnOf(field))}
      WHERE child.deleted_at IS NULL AND parent.deleted_at IS NOT NULL${among}`);
    return row?.n;
  };

  describe.skipIf(references.length === 0)(`${key}: references`, () => {
    it.each(referenceCases)("%s: another organization's, an unknown and a deleted %s row are one refusal, on create and update", async (field, target) => {
      const owner = t.newOrg("alice");
      const other = t.newOrg("mallory");
      const theirs = await resourceApi(other.api, target).create(exampleOf(target));
      const mine = await resourceApi(owner.api, target).create(exampleOf(target));
      const gone = await resourceApi(owner.api, target).create(exampleOf(target));
      await resourceApi(owner.api, target).delete({ id: gone.id });
      const row = await resourceApi(owner.api, key).create({ ...spec.sample(1000), [field]: mine.id });
      expect(row[field]).toBe(mine.id);
      const answers = new Set<string>();
      for (const [n, named] of [theirs.id, "00000000-0000-4000-8000-000000000000", gone.id].entries()) {
        const onCreate = await fieldErrorsOver(owner.token, "create", { ...spec.sample(1001 + n), [field]: named });
        expect(Object.keys(onCreate)).toEqual([field]);
        const onUpdate = await fieldErrorsOver(owner.token, "update", { id: row.id, data: { [field]: named } });
        expect(Object.keys(onUpdate)).toEqual([`data.${field}`]);
        answers.add(JSON.stringify(onCreate[field])).add(JSON.stringify(onUpdate[`data.${field}`]));
      }
      // One answer for the three: no way to learn whether another organization's row exists.
      expect(answers.size).toBe(1);
      expect(await resourceApi(owner.api, key).byId({ id: row.id })).toEqual(row);
      expect((await resourceApi(owner.api, key).list({ limit: 100 })).data.map((r) => r.id)).toEqual([row.id]);
    });

    it.each(referenceCases)("%s filters list and infinite to the rows of one %s row", async (field, target) => {
      const owner = t.newOrg();
      const [one, two] = [await resourceApi(owner.api, target).create(exampleOf(target)), await resourceApi(owner.api, target).create(exampleOf(target))];
      const ofOne = [
        await resourceApi(owner.api, key).create({ ...spec.sample(1010), [field]: one.id }),
        await resourceApi(owner.api, key).create({ ...spec.sample(1011), [field]: one.id }),
      ];
      await resourceApi(owner.api, key).create({ ...spec.sample(1012), [field]: two.id });
      const expected = ofOne.map((r) => r.id).sort();
      expect((await resourceApi(owner.api, key).list({ [field]: one.id })).data.map((r) => r.id).sort()).toEqual(expected);
      expect((await resourceApi(owner.api, key).infinite({ [field]: one.id })).items.map((r) => r.id).sort()).toEqual(expected);
      expect((await resourceApi(owner.api, key).list({ [field]: "00000000-0000-4000-8000-000000000000" })).data).toEqual([]);
    });

    it.each(referenceCases)("%s: deleting the %s row it names is %s", async (field, target, onDelete) => {
      const owner = t.newOrg("alice");
      const parent = await resourceApi(owner.api, target).create(exampleOf(target));
      const child = await resourceApi(owner.api, key).create({ ...spec.sample(1020), [field]: parent.id });
      if (onDelete === "restrict") {
        const refused = await rejection(resourceApi(owner.api, target).delete({ id: parent.id }));
        expect(refused.code).toBe("CONFLICT");
        expect(refused.message).toBe(`${definitions[target].name} has live ${key.replace(/[A-Z]/g, (c) => ` ${c.toLowerCase()}`)}`);
        // Nothing was deleted; once the child is gone, so can the parent be.
        expect((await resourceApi(owner.api, target).byId({ id: parent.id })).id).toBe(parent.id);
        expect((await resourceApi(owner.api, key).byId({ id: child.id })).id).toBe(child.id);
        await resourceApi(owner.api, key).delete({ id: child.id });
        await expect(resourceApi(owner.api, target).delete({ id: parent.id })).resolves.toEqual({ id: parent.id });
      } else {
        await resourceApi(owner.as("bob"), target).delete({ id: parent.id });
        expect((await rejection(resourceApi(owner.api, key).byId({ id: child.id }))).code).toBe("NOT_FOUND");
        const [deleted] = (await resourceApi(owner.api, key).history({ id: child.id })).items;
        expect(deleted).toMatchObject({ type: "deleted", actorId: "bob", entityId: child.id });
      }
    });

    it.each(referenceCases)("%s: 20 creates racing the delete of their %s row leave no live row naming a deleted one (%s)", async (field, target, onDelete) => {
      const owner = t.newOrg();
      const parent = await resourceApi(owner.api, target).create(exampleOf(target));
      const creates = Array.from({ length: 20 }, (_, i) => resourceApi(owner.api, key).create({ ...spec.sample(1100 + i), [field]: parent.id }));
      const removal = sleep(5).then(() => resourceApi(owner.api, target).delete({ id: parent.id }));
      const outcomes = await Promise.allSettled([...creates, removal]);
      const removed = outcomes.at(-1)?.status === "fulfilled";
      for (const outcome of outcomes) {
        if (outcome.status === "fulfilled") continue;
        const error = outcome.reason as TRPCError;
        expect(error).toBeInstanceOf(TRPCError);
        // A create after the delete: bad input on the reference; a restricted delete after a create: CONFLICT.
        expect(["BAD_REQUEST", "CONFLICT"]).toContain(error.code);
      }
      if (onDelete === "restrict" && !removed) expect(outcomes.slice(0, 20).some((o) => o.status === "fulfilled")).toBe(true);
      expect(await danglingChildren(field, target)).toBe(0);
      const live = (await resourceApi(owner.api, key).list({ [field]: parent.id, limit: 100 })).pagination.total;
      expect(live).toBe(removed ? 0 : outcomes.slice(0, 20).filter((o) => o.status === "fulfilled").length);
    });
    it.each(referenceCases)("%s: 10 rounds of creates racing the delete of their %s row, the delete sent among them at another moment each time, leave no live row naming a deleted one (%s)", async (field, target) => {
      const owner = t.newOrg();
      const parents: string[] = [];
      for (let round = 0; round < 10; round++) {
        const parent = await resourceApi(owner.api, target).create(exampleOf(target));
        parents.push(parent.id);
        // The creates spread over 20 ms, the delete sent 2 ms later each round: it lands among them.
        const creates = Array.from({ length: 10 }, (_, i) => sleep(2 * i).then(() => resourceApi(owner.api, key).create({ ...spec.sample(1300 + 10 * round + i), [field]: parent.id })));
        const removal = sleep(2 * round).then(() => resourceApi(owner.api, target).delete({ id: parent.id }));
        for (const outcome of await Promise.allSettled([...creates, removal])) {
          if (outcome.status === "rejected") expect(["BAD_REQUEST", "CONFLICT"], (outcome.reason as Error).message).toContain((outcome.reason as TRPCError).code);
        }
      }
      expect(await danglingChildren(field, target, parents)).toBe(0);
    });

    it.each(referenceCases)("%s: updates of its %s row racing creates naming it and its delete: each answers, with no deadlock (%s)", async (field, target) => {
      const owner = t.newOrg();
      const parent = await resourceApi(owner.api, target).create(exampleOf(target));
      const text = definitions[target].storage.searchField;
      const writes = Array.from({ length: 10 }, (_, i) => [
        resourceApi(owner.api, target).update({ id: parent.id, data: { [text]: `Renamed ${i}` } }),
        resourceApi(owner.api, key).create({ ...spec.sample(1150 + i), [field]: parent.id }),
      ]).flat();
      const removal = sleep(5).then(() => resourceApi(owner.api, target).delete({ id: parent.id }));
      const outcomes = await Promise.allSettled([...writes, removal]);
      for (const outcome of outcomes) {
        if (outcome.status === "fulfilled") continue;
        const error = outcome.reason as TRPCError;
        expect(error).toBeInstanceOf(TRPCError);
        // An update or a create after the delete: NOT_FOUND or bad input on the reference; a restricted delete after a create: CONFLICT.
        expect(["NOT_FOUND", "BAD_REQUEST", "CONFLICT"], error.message).toContain(error.code);
      }
      expect(await danglingChildren(field, target)).toBe(0);
    });
  });

  const uniqueCases = resource.unique.map((fields) => [fields.join(", "), fields] as const);
  /** The values of `fields` of `row`, to give another row the same key. */
  const keyOf = (row: Entity, fields: readonly string[]) => Object.fromEntries(fields.map((field) => [field, row[field]]));

  describe.skipIf(uniqueCases.length === 0)(`${key}: unique keys`, () => {
    it.each(uniqueCases)("(%s): a second live row with the same key is CONFLICT naming its fields; a deleted row frees it", async (_label, fields) => {
      const owner = t.newOrg();
      const rows = resourceApi(owner.api, key);
      const first = await rows.create(spec.sample(1200));
      const refused = await errorOver(owner.token, "create", { ...(await withReferences(owner.api, key, spec.sample(1201))), ...keyOf(first, fields) });
      expect(refused).toMatchObject({ status: 409, data: { code: "CONFLICT", reason: "UNIQUE_VIOLATION", fields: [...fields] } });
      for (const field of fields) expect(refused.message).toContain(field);
      // An update onto the key is refused the same way, and changes nothing.
      const second = await rows.create(spec.sample(1202));
      const onUpdate = await errorOver(owner.token, "update", { id: second.id, data: keyOf(first, fields) });
      expect(onUpdate).toMatchObject({ status: 409, data: { code: "CONFLICT", fields: [...fields] } });
      expect(await rows.byId({ id: second.id })).toEqual(second);
      await rows.delete({ id: first.id });
      const again = await rows.create({ ...spec.sample(1203), ...keyOf(first, fields) });
      expect(keyOf(again, fields)).toEqual(keyOf(first, fields));
    });

    it.each(uniqueCases)("(%s): of concurrent creates of one key exactly one succeeds", async (_label, fields) => {
      const owner = t.newOrg();
      const rows = resourceApi(owner.api, key);
      const template = await rows.create(spec.sample(1210));
      await rows.delete({ id: template.id });
      const outcomes = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => rows.create({ ...spec.sample(1211 + i), ...keyOf(template, fields) })));
      expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
      for (const outcome of outcomes) if (outcome.status === "rejected") expect((outcome.reason as TRPCError).code).toBe("CONFLICT");
    });
  });

  describe(`${key}: sorting`, () => {
    const sortFields = resource.contract.sortFields;
    /** The order the API documents: the field's value in the direction, then id in the same direction. */
    const ordered = (rows: Entity[], field: string, direction: "asc" | "desc") => {
      let schema = (resource.contract.entity.shape as Record<string, z.ZodType>)[field];
      while (schema instanceof z.ZodOptional || schema instanceof z.ZodNullable) schema = schema.unwrap() as z.ZodType;
      const options = schema instanceof z.ZodEnum ? (schema.options as string[]) : undefined;
      const rank = (value: unknown) => (options ? options.indexOf(String(value)) : value);
      const compare = (a: Entity, b: Entity) => {
        const [x, y] = [rank(a[field]), rank(b[field])] as [string | number, string | number];
        const byValue = x < y ? -1 : x > y ? 1 : 0;
        return byValue || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
      };
      return [...rows].sort((a, b) => (direction === "asc" ? compare(a, b) : compare(b, a)));
    };

    it.each(sortFields)("by %s, both directions, on list and in keyset pages", async (field) => {
      const owner = t.newOrg();
      const rows = resourceApi(owner.api, key);
      const made: Entity[] = [];
      for (let i = 0; i < 6; i++) {
        made.push(await rows.create(spec.sample(1300 + ((i * 5) % 6))));
        await sleep(2);
      }
      // Updated in another order than created, so updatedAt and createdAt sort differently.
      for (const [i, row] of [...made.entries()].reverse()) {
        if (i % 2 === 0) made[i] = await rows.update({ id: row.id, data: { [searchField]: spec.sample(1350 + i)[searchField] } });
      }
      for (const direction of ["asc", "desc"] as const) {
        const expected = ordered(made, field, direction).map((r) => r.id);
        const sort = { field, direction };
        expect((await rows.list({ sort, limit: 100 })).data.map((r) => r.id)).toEqual(expected);
        expect((await rows.list({ sort, page: 2, limit: 4 })).data.map((r) => r.id)).toEqual(expected.slice(4));
        expect((await walk(owner.api, { sort, limit: 2 })).flat().map((r) => r.id)).toEqual(expected);
      }
    });

    it("a cursor continues the sort it was made in, and only that one", async () => {
      const owner = t.newOrg();
      await t.seed(key, owner, 3, (i) => spec.sample(1400 + i));
      const field = sortFields.at(-1) ?? "updatedAt";
      const { nextCursor } = await resourceApi(owner.api, key).infinite({ sort: { field, direction: "asc" }, limit: 1 });
      expect(nextCursor).not.toBeNull();
      const elsewhere = [{}, { sort: { field, direction: "desc" } }, { sort: { field: field === "createdAt" ? "updatedAt" : "createdAt", direction: "asc" } }];
      for (const input of elsewhere) {
        const issues = await issuesOf(resourceApi(owner.api, key).infinite({ ...input, cursor: nextCursor }));
        expect(issues.map((i) => i.path)).toEqual(["cursor"]);
      }
    });
  });

  describe(`${key}: idempotent create (idempotencyKey)`, () => {
    const rows = (api: Caller) => resourceApi(api, key);
    const table = sqlIdentifier(resource.storage.table);
    const HOUR = 3_600_000;
    /** What the organization has of this resource: its rows (deleted ones included) and their change events. */
    async function written(org: string): Promise<{ rows: number; events: number }> {
      const [counted] = await t.deps.db.prisma.$queryRaw<{ rows: number; events: number }[]>(Prisma.sql`
        SELECT (SELECT count(*)::int FROM ${table} WHERE organization_id = ${org}) AS rows,
               (SELECT count(*)::int FROM change_events WHERE organization_id = ${org} AND resource = ${key}) AS events`);
      return counted!;
    }
    /** A sample with its references filled once: sent again, it is the same input. */
    const inputOf = (owner: TestOrg, n: number) => withReferences(owner.api, key, spec.sample(n));
    /** The tRPC error of a create over HTTP, with its fieldErrors. */
    const refusalOver = async (token: string, input: Record<string, unknown>) =>
      (await errorOver(token, "create", input)) as { status: number; data: { code: string; reason?: string; fieldErrors?: Record<string, string[]> } };

    it("the same key and input answer the first create again: the same row, nothing written", async () => {
      const owner = t.newOrg();
      const input = await inputOf(owner, 1500);
      const idempotencyKey = randomUUID();
      const first = await rows(owner.api).create({ ...input, idempotencyKey });
      expect(first).not.toHaveProperty("idempotencyKey");
      expect(await written(owner.org)).toEqual({ rows: 1, events: 1 });
      expect(await rows(owner.api).create({ ...input, idempotencyKey })).toEqual(first);
      // The same fields in another order are the same input.
      expect(await rows(owner.api).create(Object.fromEntries(Object.entries({ ...input, idempotencyKey }).reverse()))).toEqual(first);
      // The answer is the first create's, even once the row has changed.
      await rows(owner.api).update({ id: first.id, data: spec.update });
      expect(await rows(owner.api).create({ ...input, idempotencyKey })).toEqual(first);
      expect(await written(owner.org)).toEqual({ rows: 1, events: 2 });
    });

    it("the same key with another input, or from another user of the organization, is BAD_REQUEST on idempotencyKey and writes nothing", async () => {
      const owner = t.newOrg("alice");
      const input = await inputOf(owner, 1510);
      const idempotencyKey = randomUUID();
      await rows(owner.api).create({ ...input, idempotencyKey });
      const changed = await refusalOver(owner.token, { ...input, [searchField]: spec.sample(1511)[searchField], idempotencyKey });
      expect(changed).toMatchObject({ status: 400, data: { code: "BAD_REQUEST", reason: "IDEMPOTENCY_KEY_REUSED" } });
      expect(changed.data.fieldErrors).toEqual({ idempotencyKey: [expect.stringContaining("another input")] });
      const bob = await refusalOver(tokenFor("bob", owner.org, { role: FULL_ACCESS_ROLE }), { ...input, idempotencyKey });
      expect(bob).toMatchObject({ status: 400, data: { code: "BAD_REQUEST", reason: "IDEMPOTENCY_KEY_REUSED" } });
      expect(bob.data.fieldErrors).toEqual({ idempotencyKey: [expect.stringContaining("another caller")] });
      expect(await written(owner.org)).toEqual({ rows: 1, events: 1 });
    });

    it("a key is the organization's and the resource's: another organization or resource with the same key makes its own row", async () => {
      const [a, b] = [t.newOrg(), t.newOrg()];
      const idempotencyKey = randomUUID();
      const input = await inputOf(a, 1520);
      const ofA = await rows(a.api).create({ ...input, idempotencyKey });
      const ofB = await rows(b.api).create({ ...(await inputOf(b, 1520)), idempotencyKey });
      expect(ofB.id).not.toBe(ofA.id);
      expect(ofB.organizationId).toBe(b.org);
      const [otherKey] = everyResource.find(([candidate]) => candidate !== key)!;
      const other = await resourceApi(a.api, otherKey).create({ ...exampleOf(otherKey), idempotencyKey });
      expect(await resourceApi(a.api, otherKey).byId({ id: other.id })).toEqual(other);
      expect(await rows(a.api).create({ ...input, idempotencyKey })).toEqual(ofA);
      expect((await written(a.org)).rows).toBe(1);
      expect((await written(b.org)).rows).toBe(1);
    });

    it("a key is 1 to 255 printable ASCII characters without spaces: any other is BAD_REQUEST on idempotencyKey", async () => {
      const owner = t.newOrg();
      const input = await inputOf(owner, 1530);
      for (const bad of ["", "k".repeat(256), "two words", "tab\tkey", "clé", 42, null]) {
        const refused = await refusalOver(owner.token, { ...input, idempotencyKey: bad });
        expect(refused.status, JSON.stringify(bad)).toBe(400);
        expect(Object.keys(refused.data.fieldErrors ?? {}), JSON.stringify(bad)).toEqual(["idempotencyKey"]);
      }
      expect(await written(owner.org)).toEqual({ rows: 0, events: 0 });
      const longest = `!${"k".repeat(253)}~`;
      const made = await rows(owner.api).create({ ...input, idempotencyKey: longest });
      expect(await rows(owner.api).create({ ...input, idempotencyKey: longest })).toEqual(made);
    });

    it("a create that fails keeps no key: its retry with the key can succeed", async () => {
      const owner = t.newOrg("alice");
      const input = await inputOf(owner, 1540);
      const idempotencyKey = randomUUID();
      let failedRows = 0;
      if (resource.access.create.role !== "viewer") {
        const viewer = callerFor(t.deps, tokenFor("alice", owner.org, { role: "viewer" }));
        expect((await rejection(rows(viewer).create({ ...input, idempotencyKey }))).code).toBe("FORBIDDEN");
      }
      if (resource.unique.length > 0) {
        // A live row with the same unique key: the create is refused in its transaction, then the row goes.
        const taken = await rows(owner.api).create(input);
        expect((await rejection(rows(owner.api).create({ ...input, idempotencyKey }))).code).toBe("CONFLICT");
        await rows(owner.api).delete({ id: taken.id });
        failedRows = 1;
      }
      for (const [field, reference] of Object.entries(resource.references)) {
        const target = reference.to as ResourceKey;
        const gone = await resourceApi(owner.api, target).create(exampleOf(target));
        await resourceApi(owner.api, target).delete({ id: gone.id });
        expect((await rejection(rows(owner.api).create({ ...input, [field]: gone.id, idempotencyKey }))).code, field).toBe("BAD_REQUEST");
      }
      const made = await rows(owner.api).create({ ...input, idempotencyKey });
      expect(await rows(owner.api).create({ ...input, idempotencyKey })).toEqual(made);
      expect((await written(owner.org)).rows).toBe(failedRows + 1);
    });

    it("concurrent creates with one key make one row: each answers it, or CONFLICT while the first runs", async () => {
      const owner = t.newOrg();
      const input = await inputOf(owner, 1550);
      const idempotencyKey = randomUUID();
      const results = await Promise.allSettled(Array.from({ length: 6 }, () => rows(owner.api).create({ ...input, idempotencyKey })));
      const made = results.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
      expect(made.length).toBeGreaterThan(0);
      expect(new Set(made.map((row) => row.id)).size).toBe(1);
      for (const result of results) {
        if (result.status === "fulfilled") continue;
        expect(result.reason).toBeInstanceOf(TRPCError);
        expect((result.reason as TRPCError).code).toBe("CONFLICT");
        expect(((result.reason as TRPCError).cause as DomainError).reason).toBe("IDEMPOTENCY_KEY_IN_USE");
      }
      expect(await written(owner.org)).toEqual({ rows: 1, events: 1 });
      expect(await rows(owner.api).create({ ...input, idempotencyKey })).toEqual(made[0]);
    });

    it("a key answers for 24 hours; past that it makes a new row, and expired keys are deleted", async () => {
      const owner = t.newOrg();
      const input = await inputOf(owner, 1560);
      const [idempotencyKey, another] = [randomUUID(), randomUUID()];
      const first = await rows(owner.api).create({ ...input, idempotencyKey });
      await rows(owner.api).create({ ...(await inputOf(owner, 1561)), idempotencyKey: another });
      t.clock.advance(24 * HOUR - 60_000);
      expect(await rows(owner.api).create({ ...input, idempotencyKey })).toEqual(first);
      t.clock.advance(120_000);
      // Its unique keys freed, the same input with the same key, a day later, is a new create.
      await rows(owner.api).delete({ id: first.id });
      const second = await rows(owner.api).create({ ...input, idempotencyKey });
      expect(second.id).not.toBe(first.id);
      expect(await rows(owner.api).create({ ...input, idempotencyKey })).toEqual(second);
      expect((await written(owner.org)).rows).toBe(3);
      // That create deleted the organization's expired keys; its own key's row is the new one.
      const kept = await t.deps.db.prisma.$queryRaw<{ key: string }[]>(
        Prisma.sql`SELECT key FROM idempotency_keys WHERE organization_id = ${owner.org} AND resource = ${key}`,
      );
      expect(kept.map((row) => row.key)).toEqual([idempotencyKey]);
    });
  });
}

/** How the API returns a datetime it was given: the same instant, in UTC. */
export const isoUtc = (value: unknown): string => new Date(value as string).toISOString();
