/**
 * The related resources the generator test generates in its copy, and what a user of the served copy sees of
 * them over tRPC and REST: a shelf (unique code), its bins (a cascade reference, a unique label within the
 * shelf, sortable by label and slot) and a bin's tags (a required restrict reference to the bin, an optional
 * one to a gadget). Each check is one test of the describe block that calls `describeRelatedResources`, so
 * a failure names the behaviour; they run in order and share the rows they make.
 */
import { Validator } from "@seriousme/openapi-schema-validator";
import { expect, it } from "vitest";
import { tokenFor } from "../support/app.js";

/** The commands, in order: each reference names a resource generated before it (`Gadget` by the test itself). */
export const RELATED = [
  ["resource", "Shelf", "name:string", "code:string", "--unique", "code", "--sort", "name"],
  ["resource", "Bin", "shelfId:ref(Shelf, cascade)", "label:string", "slot:int", "--unique", "shelfId,label", "--sort", "label", "--sort", "slot"],
  ["resource", "Tag", "binId:ref(Bin)", "gadgetId:ref(Gadget)?", "title:string"],
];

type Json = Record<string, unknown>;
interface Answer<T = Json> {
  status: number;
  body: T;
}
interface TrpcError {
  message: string;
  data: { code: string; httpStatus: number; reason?: string; fieldErrors?: Record<string, string[]>; fields?: string[] };
}
interface Row extends Json {
  id: string;
}

const QUERIES = new Set(["list", "infinite", "byId", "history"]);

/** One user of one organization calling the served copy. */
function userOf(url: () => string, organizationId: string) {
  // The top role: the copy's Gadget has a policy of its own (its deletes need admin); these tests are about references.
  const headers = { authorization: `Bearer ${tokenFor("alice", organizationId, { role: "owner" })}`, "content-type": "application/json" };
  const answer = async <T>(response: Response): Promise<Answer<T>> => {
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
  };
  const trpc = async (procedure: string, input: unknown) =>
    answer<{ result?: { data: unknown }; error?: TrpcError }>(
      QUERIES.has(procedure.split(".").at(-1) ?? "")
        ? await fetch(`${url()}/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify(input))}`, { headers })
        : await fetch(`${url()}/trpc/${procedure}`, { method: "POST", headers, body: JSON.stringify(input) }),
    );
  return {
    /** The procedure's data; fails the test when the call fails. */
    async call<T = Row>(procedure: string, input: unknown): Promise<T> {
      const { status, body } = await trpc(procedure, input);
      expect(body.error, `${procedure} ${JSON.stringify(input)}`).toBeUndefined();
      expect(status).toBe(200);
      return body.result?.data as T;
    },
    /** The procedure's error; fails the test when the call succeeds. */
    async refused(procedure: string, input: unknown): Promise<TrpcError> {
      const { body } = await trpc(procedure, input);
      expect(body.error, `${procedure} ${JSON.stringify(input)} should be refused`).toBeDefined();
      return body.error as TrpcError;
    },
    async rest<T = Json>(method: string, path: string, body?: unknown): Promise<Answer<T>> {
      return answer<T>(await fetch(`${url()}${path}`, { method, headers, ...(body !== undefined && { body: JSON.stringify(body) }) }));
    },
  };
}

const labels = (rows: Json[]) => rows.map((row) => row.label);
const restLabels = (answer: Answer) => labels((answer.body as { data?: Json[] }).data ?? []);

/** Declares the checks, in order, for the service the describe block serves at `url()`. */
export function describeRelatedResources(url: () => string): void {
  const alice = userOf(url, "org-shelving");
  const other = userOf(url, "org-other");
  let shelf: Row, second: Row, foreign: Row, gadget: Row, binB: Row, binA: Row, binC: Row;
  const unknownId = "00000000-0000-4000-8000-000000000000";

  it("creates a shelf and its bins over tRPC and REST, and a bin's tags with and without the optional gadget", async () => {
    shelf = await alice.call("shelves.create", { name: "Top", code: "T1" });
    const rest = await alice.rest<Row>("POST", "/api/v1/shelves", { name: "Bottom", code: "B1" });
    expect(rest.status).toBe(201);
    second = rest.body;
    foreign = await other.call("shelves.create", { name: "Theirs", code: "T1" }); // a key of another organization's rows
    binB = await alice.call("bins.create", { shelfId: shelf.id, label: "b", slot: 2 });
    expect(binB).toMatchObject({ shelfId: shelf.id, label: "b", slot: 2 });
    const restBin = await alice.rest<Row>("POST", "/api/v1/bins", { shelf_id: shelf.id, label: "a", slot: 3 });
    expect(restBin.status).toBe(201);
    expect(restBin.body).toMatchObject({ shelf_id: shelf.id, label: "a", slot: 3 });
    binA = restBin.body;
    binC = await alice.call("bins.create", { shelfId: shelf.id, label: "c", slot: 1 });
    gadget = await alice.call("gadgets.create", { title: "Gizmo", stock: 1, active: true, tier: "basic" });
    expect(await alice.call("tags.create", { binId: binB.id, title: "Fragile" })).toMatchObject({ binId: binB.id, gadgetId: null });
    expect(await alice.call("tags.create", { binId: binB.id, gadgetId: gadget.id, title: "Holds the gizmo" })).toMatchObject({ gadgetId: gadget.id });
  });

  it("refuses a reference to another organization's row or to none with one answer, on the field (tRPC BAD_REQUEST)", async () => {
    const theirs = await alice.refused("bins.create", { shelfId: foreign.id, label: "x", slot: 1 });
    expect(theirs.data).toMatchObject({ code: "BAD_REQUEST", reason: "INVALID_REFERENCE", fieldErrors: { shelfId: [expect.stringContaining("Shelf of your organization")] } });
    const none = await alice.refused("bins.create", { shelfId: unknownId, label: "x", slot: 1 });
    expect(none.data.fieldErrors).toEqual(theirs.data.fieldErrors);
    const optional = await alice.refused("tags.create", { binId: binB.id, gadgetId: unknownId, title: "x" });
    expect(Object.keys(optional.data.fieldErrors ?? {})).toEqual(["gadgetId"]);
    const update = await alice.refused("bins.update", { id: binB.id, data: { shelfId: foreign.id } });
    expect(Object.keys(update.data.fieldErrors ?? {})).toEqual(["data.shelfId"]);
    expect(await other.call<{ data: Row[] }>("bins.list", {})).toMatchObject({ data: [] });
  });

  it("REST: a reference to another organization's row is 422 on its snake_case field", async () => {
    const refused = await alice.rest<{ detail: { loc: unknown[] }[] }>("POST", "/api/v1/bins", { shelf_id: foreign.id, label: "x", slot: 1 });
    expect(refused.status).toBe(422);
    expect(refused.body.detail.map((entry) => entry.loc)).toEqual([["body", "shelf_id"]]);
  });

  it("keeps a unique key among the organization's live rows: CONFLICT naming its fields, 409 on REST; a delete frees it", async () => {
    const twice = await alice.refused("bins.create", { shelfId: shelf.id, label: "b", slot: 9 });
    expect(twice.data).toMatchObject({ code: "CONFLICT", reason: "UNIQUE_VIOLATION", fields: ["shelfId", "label"] });
    const renamed = await alice.refused("bins.update", { id: binA.id, data: { label: "b" } });
    expect(renamed.data.fields).toEqual(["shelfId", "label"]);
    expect((await alice.refused("shelves.create", { name: "Again", code: "T1" })).data.fields).toEqual(["code"]);
    expect((await alice.rest("POST", "/api/v1/bins", { shelf_id: shelf.id, label: "a", slot: 9 })).status).toBe(409);
    // Unique within its shelf only: the same label on another shelf is another key.
    const elsewhere = await alice.call("bins.create", { shelfId: second.id, label: "b", slot: 9 });
    await alice.call("bins.delete", { id: elsewhere.id });
    await alice.call("bins.create", { shelfId: second.id, label: "b", slot: 8 });
  });

  it("filters a list by its parent (tRPC shelfId, REST ?shelf_id=)", async () => {
    const page = await alice.call<{ data: Row[] }>("bins.list", { shelfId: shelf.id });
    expect(labels(page.data)).toEqual(["c", "a", "b"]); // newest first when no sort is given
    const rest = await alice.rest("GET", `/api/v1/bins?shelf_id=${second.id}`);
    expect(rest.status).toBe(200);
    expect(restLabels(rest)).toEqual(["b"]);
  });

  it("sorts by a declared field either way (tRPC sort), keyset pages carrying the sort key; other fields are refused", async () => {
    const sorted = async (field: string, direction: string) => labels((await alice.call<{ data: Row[] }>("bins.list", { shelfId: shelf.id, sort: { field, direction } })).data);
    expect(await sorted("label", "asc")).toEqual(["a", "b", "c"]);
    expect(await sorted("label", "desc")).toEqual(["c", "b", "a"]);
    expect(await sorted("slot", "asc")).toEqual(["c", "b", "a"]);
    const first = await alice.call<{ items: Row[]; nextCursor: string | null }>("bins.infinite", { shelfId: shelf.id, sort: { field: "slot", direction: "desc" }, limit: 2 });
    expect(labels(first.items)).toEqual(["a", "b"]);
    const next = await alice.call<{ items: Row[]; nextCursor: string | null }>("bins.infinite", {
      shelfId: shelf.id,
      sort: { field: "slot", direction: "desc" },
      limit: 2,
      cursor: first.nextCursor,
    });
    expect([labels(next.items), next.nextCursor]).toEqual([["c"], null]);
    const unsortable = await alice.refused("bins.list", { sort: { field: "shelfId" } });
    expect(Object.keys(unsortable.data.fieldErrors ?? {})).toEqual(["sort.field"]);
  });

  it("REST: ?sort=-label sorts descending, ?sort=slot ascending", async () => {
    const descending = await alice.rest("GET", `/api/v1/bins?shelf_id=${shelf.id}&sort=-label`);
    expect(descending.status).toBe(200);
    expect(restLabels(descending)).toEqual(["c", "b", "a"]);
    expect(restLabels(await alice.rest("GET", `/api/v1/bins?shelf_id=${shelf.id}&sort=slot`))).toEqual(["c", "b", "a"]);
  });

  it("REST: the nested routes list a shelf's bins and create one in it, and are documented", async () => {
    const document = (await (await fetch(`${url()}/api/v1/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(document.paths["/api/v1/shelves/{shelf_id}/bins"] ?? {}).sort()).toEqual(["get", "post"]);
    const created = await alice.rest<Row>("POST", `/api/v1/shelves/${second.id}/bins`, { label: "n", slot: 5 });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ shelf_id: second.id, label: "n", slot: 5 });
    // The same query parameters as the flat list, the parent taken from the path.
    const nested = await alice.rest("GET", `/api/v1/shelves/${second.id}/bins?sort=-label`);
    expect(nested.status).toBe(200);
    expect(restLabels(nested)).toEqual(["n", "b"]);
    expect(nested.body).toEqual((await alice.rest("GET", `/api/v1/bins?shelf_id=${second.id}&sort=-label`)).body);
    expect((nested.body as { pagination?: unknown }).pagination).toMatchObject({ total: 2 });
    expect(restLabels(await alice.rest("GET", `/api/v1/shelves/${shelf.id}/bins?sort=slot&limit=2`))).toEqual(["c", "b"]);
    // A shelf that is not a live row of the caller's organization: 404, one answer for all.
    for (const id of [foreign.id, unknownId]) {
      for (const [method, body] of [["GET", undefined], ["POST", { label: "z", slot: 1 }]] as const) {
        const answer = await alice.rest(method, `/api/v1/shelves/${id}/bins`, body);
        expect([method, id, answer.status, answer.body]).toEqual([method, id, 404, { detail: "Shelf not found" }]);
      }
    }
  });

  it("refuses a delete while live rows refer to the row (restrict, through a cascade too): CONFLICT, 409 on REST", async () => {
    expect((await alice.refused("bins.delete", { id: binB.id })).data).toMatchObject({ code: "CONFLICT", reason: "REFERENCED" });
    expect((await alice.rest("DELETE", `/api/v1/bins/${binB.id}`)).status).toBe(409);
    expect((await alice.refused("gadgets.delete", { id: gadget.id })).data.reason).toBe("REFERENCED"); // the optional reference
    // Deleting the shelf would cascade to bin b, which live tags refer to: refused as a whole.
    expect((await alice.refused("shelves.delete", { id: shelf.id })).data.reason).toBe("REFERENCED");
    expect((await alice.rest("DELETE", `/api/v1/shelves/${shelf.id}`)).status).toBe(409);
    expect(labels((await alice.call<{ data: Row[] }>("bins.list", { shelfId: shelf.id })).data)).toHaveLength(3);
  });

  it("cascades a shelf's delete to its bins; a deleted shelf is no reference and no parent", async () => {
    const tags = await alice.call<{ data: Row[] }>("tags.list", { binId: binB.id });
    expect(tags.data).toHaveLength(2);
    for (const tag of tags.data) await alice.call("tags.delete", { id: tag.id });
    await alice.call("gadgets.delete", { id: gadget.id });
    await alice.call("shelves.delete", { id: shelf.id });
    for (const bin of [binA, binB, binC]) expect((await alice.refused("bins.byId", { id: bin.id })).data.code).toBe("NOT_FOUND");
    expect(await alice.call<{ data: Row[] }>("bins.list", { shelfId: shelf.id })).toMatchObject({ data: [] });
    expect((await alice.call<{ data: Row[] }>("bins.list", { shelfId: second.id })).data).not.toHaveLength(0);
    const deleted = await alice.refused("bins.create", { shelfId: shelf.id, label: "x", slot: 1 });
    expect(Object.keys(deleted.data.fieldErrors ?? {})).toEqual(["shelfId"]);
    // Its delete freed the shelf's unique code.
    await alice.call("shelves.create", { name: "Top again", code: "T1" });
  });

  it("REST: a deleted shelf is 404 under the nested routes", async () => {
    expect(await alice.rest("GET", `/api/v1/shelves/${shelf.id}/bins`)).toEqual({ status: 404, body: { detail: "Shelf not found" } });
  });

  it("publishes an OpenAPI document that validates, with every route of the three resources", async () => {
    const document = (await (await fetch(`${url()}/api/v1/openapi.json`)).json()) as { paths: Record<string, unknown> };
    const result = await new Validator().validate(document);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    for (const path of ["shelves", "bins", "tags"]) {
      expect(Object.keys(document.paths)).toEqual(expect.arrayContaining([`/api/v1/${path}`, `/api/v1/${path}/{id}`]));
    }
  });
}
