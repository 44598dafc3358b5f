/**
 * Every REST route of every registered resource over real HTTP, each answer checked against the served
 * document (documented-api.ts): the collection and item routes; `?sort` over each sort field in both
 * directions; each unique key (409 naming its fields); and for every reference its filter, its nested
 * routes (list and create under the parent: 404 for a parent that is not a live row of the caller's
 * organization, 422 for another parent in the query or the body), the flat writes' 422 for a reference
 * to no such row, and what deleting the parent does (restrict: 409; cascade: its rows go with it).
 *
 * Written over the list of resources: a generated resource is covered with no test of its own. A case
 * the list has nothing for (no unique key, no reference) is reported as skipped, saying why.
 */
import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { columnOf } from "../../server/kit/define.js";
import type { ResourceDefinition } from "../../server/kit/define.js";
import { testConfig, tokenFor } from "../support/app.js";
import { everyResource, FULL_ACCESS_ROLE, useTestApp } from "../support/fixtures.js";
import { DocumentedApi } from "./documented-api.js";
import { definitionOf, everyOperation, everyReference } from "./registry-routes.js";
import type { RegistryReference } from "./registry-routes.js";

type Row = { id: string; created_at: string; updated_at: string } & Record<string, unknown>;
interface Page {
  data: Row[];
}
interface Detail {
  detail: string;
}
interface Validation {
  detail: { loc: (string | number)[]; msg: string; type: string }[];
}

const BASE = "/api/v1";
const UNKNOWN_ID = "6f1c1d1e-8a1b-4c2d-9e3f-0123456789ab";

const t = useTestApp({ server: true, config: testConfig({ RATE_LIMIT_PER_IP: "0", RATE_LIMIT_PER_ORG: "0" }) });
let api: DocumentedApi;
beforeAll(async () => {
  api = await DocumentedApi.load(t.server.url);
});

let orgCount = 0;
/** A token of a brand-new organization, so no test sees another's rows (nor its unique keys). */
// Callers hold the least role that may do everything on every registered resource, whatever their policies.
const newOrg = () => tokenFor("alice", `every-route-${process.pid}-${++orgCount}-${randomUUID().slice(0, 8)}`, { role: FULL_ACCESS_ROLE });
/** A value as the API returns it: a timestamp with an offset comes back as the same instant in UTC. */
const asReturned = (value: unknown) =>
  typeof value === "string" && /^\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:\d{2})$/.test(value) ? new Date(value).toISOString() : value;

const pathOf = (key: string) => `${BASE}/${definitionOf(key).restPath}`;
const nestedPathOf = (reference: RegistryReference, parentId: string) => reference.template.replace(`{${reference.param}}`, parentId);

/**
 * Resource `key`'s example as a REST body (snake_case), each text field ending in `variant` where the
 * contract takes it: rows of different variants differ in their unique keys and sort in variant order.
 */
function exampleOf(key: string, variant: number): Record<string, unknown> {
  const definition = definitionOf(key);
  const fields = (definition.contract.createInput as unknown as { shape: Record<string, { safeParse(value: unknown): { success: boolean } }> }).shape;
  return Object.fromEntries(
    Object.entries(definition.example).map(([field, value]) => {
      const varied = typeof value === "string" ? `${value}${variant}` : value;
      return [columnOf(field), varied !== value && fields[field]?.safeParse(varied).success ? varied : value];
    }),
  );
}

/** The REST body fields of references: `{ project_id: "<uuid>" }`. */
const idsOf = (parents: Record<string, Row>) => Object.fromEntries(Object.entries(parents).map(([field, row]) => [columnOf(field), row.id]));

/**
 * The rows resource `key`'s references name, created first (each with its own references) in the
 * organization of `token`. The rows of one call share `chain`: two references to one resource name one row.
 */
async function parentsOf(token: string, key: string, variant: number, chain = new Map<string, Row>(), making: string[] = []): Promise<Record<string, Row>> {
  const parents: Record<string, Row> = {};
  for (const [field, reference] of Object.entries(definitionOf(key).references)) {
    if (making.includes(reference.to)) throw new Error(`${key}.${field}: a cycle of references (${[...making, reference.to].join(" -> ")}) needs a row of its own to start from`);
    let parent = chain.get(reference.to);
    if (!parent) {
      parent = await create(token, reference.to, variant, chain, [...making, key]);
      chain.set(reference.to, parent);
    }
    parents[field] = parent;
  }
  return parents;
}

/** A row of `key` made with POST /api/v1/<path>, its references filled with rows made first. */
async function create(token: string, key: string, variant = 1, chain = new Map<string, Row>(), making: string[] = []): Promise<Row> {
  const body = { ...exampleOf(key, variant), ...idsOf(await parentsOf(token, key, variant, chain, making)) };
  const res = await api.call<Row>("POST", pathOf(key), { token, body });
  expect(res.status, `POST ${pathOf(key)} ${JSON.stringify(body)}: ${res.text}`).toBe(201);
  return res.body;
}

const compare = (a: unknown, b: unknown): number => (a === b ? 0 : (a as string) < (b as string) ? -1 : 1);

/** The ids of `rows` in the order of `field` (snake_case) then id, both in `direction`. */
function idsSortedBy(rows: Row[], column: string, direction: "asc" | "desc"): string[] {
  const ids = [...rows].sort((a, b) => compare(a[column], b[column]) || compare(a.id, b.id)).map((row) => row.id);
  return direction === "asc" ? ids : ids.reverse();
}

describe.each(everyResource)("%s", (key, resource) => {
  const definition = resource as ResourceDefinition;
  const path = pathOf(key);
  const notFound = { detail: `${definition.name} not found` };

  it("create, list, read, PUT, PATCH and delete, each answer as the document says", async () => {
    const token = newOrg();
    const row = await create(token, key);
    const list = await api.call<Page>("GET", path, { token });
    expect(list.status).toBe(200);
    expect(list.body.data.map((r) => r.id)).toEqual([row.id]);
    const read = await api.call<Row>("GET", `${path}/${row.id}`, { token });
    expect(read.status).toBe(200);
    expect(read.body).toEqual(row);
    // The example again, its text fields changed where they can be (or, with none, the references as they are).
    const references = Object.keys(definition.references).map(columnOf);
    const example = exampleOf(key, 2);
    const change = Object.keys(example).length > 0 ? example : Object.fromEntries(references.map((param) => [param, row[param]]));
    for (const method of ["PUT", "PATCH"]) {
      const updated = await api.call<Row>(method, `${path}/${row.id}`, { token, body: change });
      expect(updated.status, `${method}: ${updated.text}`).toBe(200);
      expect(updated.body).toMatchObject({ id: row.id, ...Object.fromEntries(Object.entries(change).map(([field, value]) => [field, asReturned(value)])) });
    }
    expect((await api.call("DELETE", `${path}/${row.id}`, { token })).status).toBe(204);
    const gone = await api.call<Detail>("GET", `${path}/${row.id}`, { token });
    expect(gone.status).toBe(404);
    expect(gone.body).toEqual(notFound);
  });

  describe("?sort", () => {
    const values = definition.contract.sortFields.flatMap((field) => [
      [columnOf(field), columnOf(field), "asc"],
      [`-${columnOf(field)}`, columnOf(field), "desc"],
    ]) as [string, string, "asc" | "desc"][];
    const token = newOrg();
    let rows: Row[];

    beforeAll(async () => {
      rows = [];
      // Created out of variant order, so an order by a text field differs from the order of creation.
      for (const variant of [2, 3, 1]) rows.push(await create(token, key, variant));
    });

    it.each(values)("?sort=%s orders by %s, %s, ties by id", async (value, column, direction) => {
      const res = await api.call<Page>("GET", `${path}?sort=${encodeURIComponent(value)}`, { token });
      expect(res.status, res.text).toBe(200);
      expect(res.body.data.map((row) => row.id)).toEqual(idsSortedBy(rows, column, direction));
    });

    it("without sort: newest first, as before", async () => {
      const res = await api.call<Page>("GET", path, { token });
      expect(res.body.data.map((row) => row.id)).toEqual(idsSortedBy(rows, "created_at", "desc"));
    });

    it("a sort that is not one of them is 422 on query.sort, listing every value; the document lists the same", async () => {
      for (const bad of ["nope", "--created_at", "createdAt", "+created_at"]) {
        const res = await api.call<Validation>("GET", `${path}?sort=${encodeURIComponent(bad)}`, { token });
        expect(res.status, bad).toBe(422);
        expect(res.body.detail).toHaveLength(1);
        expect(res.body.detail[0]!.loc).toEqual(["query", "sort"]);
        for (const [value] of values) expect(res.body.detail[0]!.msg.split(/[ ,]+/)).toContain(value);
      }
      const twice = await api.call<Validation>("GET", `${path}?sort=created_at&sort=-created_at`, { token });
      expect(twice.status).toBe(422);
      const list = api.document.paths[path]!.get as unknown as { parameters: { name: string; schema: { enum?: string[] } }[] };
      expect(list.parameters.find((parameter) => parameter.name === "sort")?.schema.enum?.sort()).toEqual(values.map(([value]) => value).sort());
    });
  });
});

/** The 409 detail of a unique key, its fields as the wire spells them: "Project with the same key exists already". */
function uniqueDetail(name: string, fields: readonly string[]): string {
  const names = fields.map(columnOf);
  return `${name} with the same ${names.length === 1 ? names[0] : `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`} exists already`;
}

const everyUniqueKey = everyResource.flatMap(([key, resource]) => (resource as ResourceDefinition).unique.map((fields) => [`${key} [${fields.join(", ")}]`, key, fields] as const));

describe("unique keys", () => {
  if (everyUniqueKey.length === 0) it.skip("no registered resource declares a unique key: nothing to walk", () => {});

  describe.each(everyUniqueKey)("%s", (_label, key, fields) => {
    const path = pathOf(key);
    const { name } = definitionOf(key);

    it("a second live row with the same values is 409 naming the fields in snake_case, on create and on update; a deleted row frees them", async () => {
      const token = newOrg();
      const first = await create(token, key, 1);
      const detail = uniqueDetail(name, fields);
      const keyValues = Object.fromEntries(fields.map((field) => [columnOf(field), first[columnOf(field)]]));
      // The second differs from the first everywhere it can but in this key (other keys stay unbroken).
      const secondBody = { ...exampleOf(key, 2), ...idsOf(await parentsOf(token, key, 2)) };
      const clash = await api.call<Detail>("POST", path, { token, body: { ...secondBody, ...keyValues } });
      expect(clash.status, clash.text).toBe(409);
      expect(clash.body).toEqual({ detail });

      const second = await api.call<Row>("POST", path, { token, body: secondBody });
      expect(second.status, second.text).toBe(201);
      const moved = await api.call<Detail>("PATCH", `${path}/${second.body.id}`, { token, body: keyValues });
      expect(moved.status, moved.text).toBe(409);
      expect(moved.body).toEqual({ detail });

      expect((await api.call("DELETE", `${path}/${first.id}`, { token })).status).toBe(204);
      expect((await api.call("PATCH", `${path}/${second.body.id}`, { token, body: keyValues })).status).toBe(200);
    });
  });
});

describe("references", () => {
  if (everyReference.length === 0) it.skip("no registered resource has a reference: no filter, nested route or parent delete to walk", () => {});

  describe.each(everyReference.map((reference) => [`${reference.key}.${reference.field} -> ${reference.to}`, reference] as const))("%s", (_label, reference) => {
    const { key, param, to } = reference;
    const path = pathOf(key);
    const parentPath = pathOf(to);
    const parentName = definitionOf(to).name;
    const parentNotFound = { detail: `${parentName} not found` };

    /** A row of the reference's resource in `token`'s organization, and the parent it names. */
    async function child(token: string, variant: number, parent?: Row): Promise<{ row: Row; parent: Row }> {
      const row = await create(token, key, variant, new Map(parent ? [[to, parent]] : []));
      const named = parent ?? (await api.call<Row>("GET", `${parentPath}/${String(row[param])}`, { token })).body;
      return { row, parent: named };
    }

    /** A body for the nested create under `parent`: the example, every other reference filled, this one left out. */
    async function nestedBody(token: string, variant: number, parent: Row): Promise<Record<string, unknown>> {
      const parents = await parentsOf(token, key, variant, new Map([[to, parent]]));
      const { [param]: _fromPath, ...others } = idsOf(parents);
      return { ...exampleOf(key, variant), ...others };
    }

    it(`the nested list holds the parent's rows only; it takes the flat list's query, and a query ${param} other than the path's is 422`, async () => {
      const token = newOrg();
      const a = await child(token, 1);
      const b = await child(token, 2);
      const nested = await api.call<Page>("GET", nestedPathOf(reference, a.parent.id), { token });
      expect(nested.status, nested.text).toBe(200);
      expect(nested.body.data.map((row) => row.id)).toEqual([a.row.id]);
      const sorted = await api.call<Page>("GET", `${nestedPathOf(reference, b.parent.id)}?sort=-updated_at&limit=5&page=1`, { token });
      expect(sorted.body.data.map((row) => row.id)).toEqual([b.row.id]);
      const same = await api.call<Page>("GET", `${nestedPathOf(reference, a.parent.id)}?${param}=${a.parent.id}`, { token });
      expect(same.body.data.map((row) => row.id)).toEqual([a.row.id]);

      const other = await api.call<Validation>("GET", `${nestedPathOf(reference, a.parent.id)}?${param}=${b.parent.id}`, { token });
      expect(other.status).toBe(422);
      expect(other.body.detail.map((entry) => entry.loc)).toEqual([["query", param]]);
      const badQuery = await api.call<Validation>("GET", `${nestedPathOf(reference, a.parent.id)}?limit=0&sort=nope`, { token });
      expect(badQuery.status).toBe(422);
      expect(badQuery.body.detail.map((entry) => entry.loc.join(".")).sort()).toEqual(["query.limit", "query.sort"]);
    });

    it(`the flat list filters by ${param}; one that is not a UUID is 422 naming it`, async () => {
      const token = newOrg();
      const a = await child(token, 1);
      await child(token, 2);
      const filtered = await api.call<Page>("GET", `${path}?${param}=${a.parent.id}`, { token });
      expect(filtered.status).toBe(200);
      expect(filtered.body.data.map((row) => row.id)).toEqual([a.row.id]);
      expect((await api.call<Page>("GET", `${path}?${param}=${UNKNOWN_ID}`, { token })).body.data).toEqual([]);
      const bad = await api.call<Validation>("GET", `${path}?${param}=not-a-uuid`, { token });
      expect(bad.status).toBe(422);
      expect(bad.body.detail.map((entry) => entry.loc)).toEqual([["query", param]]);
    });

    it(`the nested create takes ${param} from the path; the body may repeat it, and naming another parent is 422 on body.${param}`, async () => {
      const token = newOrg();
      const { parent } = await child(token, 1);
      const { parent: another } = await child(token, 2);
      const created = await api.call<Row>("POST", nestedPathOf(reference, parent.id), { token, body: await nestedBody(token, 3, parent) });
      expect(created.status, created.text).toBe(201);
      expect(created.body[param]).toBe(parent.id);
      const repeated = await api.call<Row>("POST", nestedPathOf(reference, parent.id), { token, body: { ...(await nestedBody(token, 4, parent)), [param]: parent.id } });
      expect(repeated.status, repeated.text).toBe(201);
      expect(repeated.body[param]).toBe(parent.id);

      const before = (await api.call<Page>("GET", `${path}?limit=100`, { token })).body.data.length;
      const mismatched = await api.call<Validation>("POST", nestedPathOf(reference, parent.id), { token, body: { ...(await nestedBody(token, 5, parent)), [param]: another.id } });
      expect(mismatched.status).toBe(422);
      expect(mismatched.body.detail.map((entry) => entry.loc)).toEqual([["body", param]]);
      expect((await api.call<Page>("GET", `${path}?limit=100`, { token })).body.data).toHaveLength(before);
    });

    it(`a parent that is not a live ${parentName} of the caller's organization is 404 "${parentName} not found" on the nested list and create`, async () => {
      const token = newOrg();
      const { parent: mine } = await child(token, 1);
      const body = await nestedBody(token, 2, mine);
      const { parent: theirs } = await child(newOrg(), 1);
      const deleted = await create(token, to, 3);
      expect((await api.call("DELETE", `${parentPath}/${deleted.id}`, { token })).status).toBe(204);
      const total = async () => (await api.call<{ pagination: { total: number } }>("GET", path, { token })).body.pagination.total;
      const before = await total();
      for (const parentId of [theirs.id, deleted.id, UNKNOWN_ID, "not-a-uuid"]) {
        for (const method of ["GET", "POST"]) {
          const res = await api.call<Detail>(method, nestedPathOf(reference, parentId), { token, ...(method === "POST" && { body }) });
          expect(res.status, `${method} under ${parentId}: ${res.text}`).toBe(404);
          expect(res.body).toEqual(parentNotFound);
        }
      }
      // Nothing was created under them.
      expect(await total()).toBe(before);
    });

    it(`the flat create and update refuse a ${param} naming no live ${parentName} of the organization: 422 on body.${param}`, async () => {
      const token = newOrg();
      const { row, parent } = await child(token, 1);
      const { parent: theirs } = await child(newOrg(), 1);
      const deleted = await create(token, to, 2);
      expect((await api.call("DELETE", `${parentPath}/${deleted.id}`, { token })).status).toBe(204);
      const body = { ...exampleOf(key, 3), ...idsOf(await parentsOf(token, key, 3, new Map([[to, parent]]))) };
      const refused = [{ loc: ["body", param], msg: `must be the id of a ${parentName} of your organization`, type: "invalid_reference" }];
      for (const id of [theirs.id, deleted.id, UNKNOWN_ID]) {
        const created = await api.call<Validation>("POST", path, { token, body: { ...body, [param]: id } });
        expect(created.status, `POST with ${id}: ${created.text}`).toBe(422);
        expect(created.body.detail).toEqual(refused);
        const updated = await api.call<Validation>("PATCH", `${path}/${row.id}`, { token, body: { [param]: id } });
        expect(updated.status, `PATCH with ${id}: ${updated.text}`).toBe(422);
        expect(updated.body.detail).toEqual(refused);
      }
      expect((await api.call<Row>("GET", `${path}/${row.id}`, { token })).body[param]).toBe(parent.id);
    });

    if (reference.onDelete === "restrict") {
      it(`deleting a ${parentName} with live rows naming it is 409 "${parentName} has live ..."; once they are gone, 204`, async () => {
        const token = newOrg();
        const { row, parent } = await child(token, 1);
        const refused = await api.call<Detail>("DELETE", `${parentPath}/${parent.id}`, { token });
        expect(refused.status).toBe(409);
        expect(refused.body).toEqual({ detail: `${parentName} has live ${key.replace(/[A-Z]/g, (letter) => ` ${letter.toLowerCase()}`)}` });
        expect((await api.call("GET", `${parentPath}/${parent.id}`, { token })).status).toBe(200);
        expect((await api.call("DELETE", `${path}/${row.id}`, { token })).status).toBe(204);
        expect((await api.call("DELETE", `${parentPath}/${parent.id}`, { token })).status).toBe(204);
      });
    } else {
      it(`deleting a ${parentName} deletes the rows naming it (cascade)`, async () => {
        const token = newOrg();
        const { row, parent } = await child(token, 1);
        expect((await api.call("DELETE", `${parentPath}/${parent.id}`, { token })).status).toBe(204);
        expect((await api.call("GET", `${path}/${row.id}`, { token })).status).toBe(404);
      });
    }
  });
});

describe("the document covers what the tests received", () => {
  it("every route and method of every registered resource was called, and its success status seen", () => {
    const success: Record<string, string> = { GET: "200", POST: "201", PUT: "200", PATCH: "200", DELETE: "204" };
    const operations = everyOperation();
    expect(operations.length).toBeGreaterThanOrEqual(6 * everyResource.length);
    for (const operation of operations) {
      const [method, template] = operation.split(" ");
      expect(api.seen, operation).toContain(`${method!.toLowerCase()} ${template} ${success[method!]}`);
    }
  });
});
