/**
 * `npm run generate -- resource ...` end to end, in a copy of the repository: its refusals write nothing;
 * a resource with every field type and three related ones with every option of references, unique keys and
 * sorting (./related-resources.ts) come out typechecked and linted; every test file that reads the list of
 * resources or the OpenAPI document passes in the copy, the generated ones included; the service serves them
 * (embedded, migrating itself, and on PostgreSQL after `npm run db:migrate`) over tRPC and REST, nested
 * routes included, with a valid OpenAPI document; the panel lists them and the client package exports their types.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createThrowawayDatabase } from "../../scripts/support/throwaway-postgres.js";
import { tokenFor } from "../support/app.js";
import { testDatabaseUrl } from "../support/database.js";
import { cleanEnv, projectRoot, startServiceProcess, stopServiceProcess } from "../support/service-process.js";
import type { ServiceProcess } from "../support/service-process.js";
import { RELATED, describeRelatedResources } from "./related-resources.js";

const run = promisify(execFile);
const MINUTES = 60_000;
const GADGET = [
  "resource",
  "Gadget",
  "title:string",
  "notes:text?",
  "stock:int",
  "weight:number?",
  "active:boolean",
  "releasedAt:datetime?",
  "tier:enum(basic|pro|enterprise)",
  // A policy other than the default: the registry-wide access test (tests/kit/access.test.ts) walks it.
  "--access",
  "read=viewer,create=member,update=member:own,delete=admin",
];

let copy: string;

/** Runs a command in the copy; resolves with its output, or rejects with its exit code and output (in the message too). */
async function inCopy(file: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  try {
    return await run(file, args, { cwd: copy, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
    if (error instanceof Error) error.message += `\n${stdout.slice(-4000)}\n${stderr.slice(-4000)}`;
    throw error;
  }
}
const npmRun = (args: string[], env?: NodeJS.ProcessEnv) => inCopy("npm", ["run", "-s", ...args], env);
// eslint-disable-next-line no-control-regex -- the runner's colour codes
const plain = (output: string) => output.replace(/\u001b\[[0-9;]*m/g, "");

/** What marks a module as reading the list of resources, or the OpenAPI document. */
const READS_REGISTRY = /server\/resources\/definitions(\.js)?["']|\beveryResource\b/;
const READS_DOCUMENT = /\bbuildOpenApiDocument\b|openapi\.json/;

/**
 * The copy's test files that read the list of resources or the OpenAPI document, found by reading them now:
 * those that name either themselves, and those that import a helper of tests/ that reads the document
 * (rest/documented-api.ts checks every answer against it). Every test's app is built from the list
 * (support/fixtures.ts); a file that only uses that app exercises its own resource and is not counted.
 * This folder's files are left out: the copy would run this test again.
 */
async function testFilesReadingTheRegistry(): Promise<string[]> {
  const files = (await readdir(path.join(copy, "tests"), { recursive: true })).filter((file) => file.endsWith(".ts")).map((file) => path.join("tests", file));
  const sources = new Map(await Promise.all(files.map(async (file) => [file, await readFile(path.join(copy, file), "utf8")] as const)));
  const documentHelpers = new Set(files.filter((file) => !file.endsWith(".test.ts") && READS_DOCUMENT.test(sources.get(file) ?? "")));
  const importsOf = (file: string) =>
    [...(sources.get(file) ?? "").matchAll(/from "(\.{1,2}\/[^"]+)\.js"/g)].map((match) => path.join(path.dirname(file), `${match[1] ?? ""}.ts`));
  return files
    .filter((file) => file.endsWith(".test.ts") && !file.startsWith(path.join("tests", "generator")))
    .filter((file) => {
      const source = sources.get(file) ?? "";
      return READS_REGISTRY.test(source) || READS_DOCUMENT.test(source) || importsOf(file).some((helper) => documentHelpers.has(helper));
    })
    .sort();
}

/** A fingerprint of everything the generator may write. */
async function fingerprint(): Promise<string> {
  const hash = createHash("sha256");
  for (const file of ["prisma/schema.prisma", "server/resources/definitions.ts"]) hash.update(await readFile(path.join(copy, file)));
  for (const dir of ["prisma/migrations", "server/contract", "server/resources", "tests/kit/resources"]) hash.update((await readdir(path.join(copy, dir))).join("\n"));
  return hash.digest("hex");
}

beforeAll(async () => {
  copy = await mkdtemp(path.join(tmpdir(), "kuark-generate-"));
  const { stdout } = await run("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: projectRoot, maxBuffer: 64 * 1024 * 1024 });
  for (const file of stdout.split("\0").filter((f) => f && existsSync(path.join(projectRoot, f)))) {
    await mkdir(path.dirname(path.join(copy, file)), { recursive: true });
    await cp(path.join(projectRoot, file), path.join(copy, file));
  }
  // Installed dependencies are shared (read only), as a developer's checkout would have them.
  for (const modules of ["node_modules", "client/node_modules"]) {
    if (existsSync(path.join(projectRoot, modules))) await symlink(path.join(projectRoot, modules), path.join(copy, modules), "dir");
  }
}, 5 * MINUTES);

afterAll(async () => {
  if (copy) await rm(copy, { recursive: true, force: true });
});

describe("npm run generate -- resource", () => {
  it.each([
    [["resource", "Gadget", "title:strin"], "unknown type"],
    [["resource", "Gadget", "title:string", "title:text"], "given twice"],
    [["resource", "Gadget", "title:string", "organizationId:string"], "reserved"],
    [["resource", "Gadget", "title:string", "createdAt:datetime"], "reserved"],
    [["resource", "Gadget", "Title:string"], "camelCase"],
    [["resource", "gadget", "title:string"], "PascalCase"],
    [["resource", "Gadget-2", "title:string"], "PascalCase"],
    [["resource", "Feature", "title:string"], "already exists"],
    [["resource", "Gadget"], "no fields"],
    [["resource", "Gadget", "stock:int", "active:boolean"], "no string field to search"],
    [["resource", "Gadget", "title:string", "notes:text", "--search", "notes"], "must name a string field"],
    [["resource", "Gadget", "title:string", "--search", "nope"], "not one of the fields"],
    [["resource", "Gadget", "tier:enum(a|a)", "title:string"], "repeats an enum value"],
    [["thing", "Gadget", "title:string"], "usage"],
    [["resource", "Gadget", "title:string", "--access", "read=boss"], '"boss" is not a role'],
    [["resource", "Gadget", "title:string", "--access", "write=admin"], '"write" is not an operation'],
    [["resource", "Gadget", "title:string", "--access", "read=viewer:own"], ":own applies to update and delete only"],
    [["resource", "Gadget", "title:string", "--access", "delete"], "is not a rule"],
    [["resource", "Gadget", "title:string", "--access"], "--access needs rules"],
    // References, unique keys and sorting.
    [["resource", "Gadget", "title:string", "nopeId:ref(Nope)"], "not a registered resource"],
    [["resource", "Gadget", "title:string", "parentId:ref(Gadget)"], "not a registered resource"],
    [["resource", "Gadget", "title:string", "feature:ref(Feature)"], "must end in Id"],
    [["resource", "Gadget", "title:string", "featureId:ref(Feature, explode)"], 'unknown option "explode"'],
    [["resource", "Gadget", "title:string", "featureId:ref(feature)"], "must name a resource"],
    [["resource", "Gadget", "title:string", "--unique", "nope"], "not one of the fields"],
    [["resource", "Gadget", "title:string", "notes:text", "--unique", "notes"], "cannot be part of a unique key"],
    [["resource", "Gadget", "title:string", "active:boolean", "--unique", "active"], "needs a string, int, number or datetime field"],
    [["resource", "Gadget", "title:string", "active:boolean", "--sort", "active"], "sort by a string, int, number, datetime or enum field"],
    [["resource", "Gadget", "title:string", "stock:int?", "--sort", "stock"], "is optional"],
    [["resource", "Gadget", "title:string", "--sort", "nope"], "not one of the fields"],
  ])("refuses %j, saying why and writing nothing", async (args, reason) => {
    const before = await fingerprint();
    const failure = (await npmRun(["generate", "--", ...args]).then(
      () => undefined,
      (error: unknown) => error,
    )) as { code: number; stderr: string } | undefined;
    expect(failure?.code).toBe(2);
    expect(failure?.stderr).toContain(reason);
    expect(failure?.stderr).toContain("Nothing was written");
    expect(await fingerprint()).toBe(before);
  }, 2 * MINUTES);

  it("writes a resource with every field type, and three related ones, that typecheck and lint", async () => {
    const { stdout } = await npmRun(["generate", "--", ...GADGET]);
    expect(stdout).toContain("gadgets.create | list | infinite | byId | update | delete");
    expect(await readFile(path.join(copy, "prisma/schema.prisma"), "utf8")).toMatch(/model Gadget \{[\s\S]*@@map\("gadgets"\)/);
    expect((await readdir(path.join(copy, "prisma/migrations"))).some((dir) => dir.endsWith("_add_gadgets"))).toBe(true);
    expect(await readFile(path.join(copy, "server/resources/gadgets/definition.ts"), "utf8")).toContain('access: { update: "member:own", delete: "admin" },');
    expect(stdout).toContain("access read=viewer, create=member, update=member:own, delete=admin");
    // Running it twice is refused: the resource exists now.
    await expect(npmRun(["generate", "--", ...GADGET])).rejects.toMatchObject({ code: 2 });
    for (const args of RELATED) await npmRun(["generate", "--", ...args]);

    const schema = await readFile(path.join(copy, "prisma/schema.prisma"), "utf8");
    // The composite foreign key, the parent's back-relation, the partial unique index and the sort indexes.
    expect(schema).toMatch(/ shelf +Shelf @relation\("bins_shelf_id", fields: \[organizationId, shelfId\], references: \[organizationId, id\]/);
    expect(schema).toContain('binsByShelfId Bin[] @relation("bins_shelf_id")');
    expect(schema).toMatch(/ gadget +Gadget\? @relation\("tags_gadget_id", fields: \[organizationId, gadgetId\]/);
    expect(schema).toContain('@@unique([organizationId, shelfId, label], map: "bins_org_shelf_id_label_live_key", where: raw("deleted_at IS NULL"))');
    expect(schema).toContain('@@index([organizationId, slot, id], map: "bins_org_slot_live_sort_idx"');
    expect(await readFile(path.join(copy, "server/resources/bins/definition.ts"), "utf8")).toContain('references: { shelfId: { to: "shelves", onDelete: "cascade" } },\n  unique: [["shelfId", "label"]],');
    expect(await readFile(path.join(copy, "server/contract/bins.ts"), "utf8")).toContain('sortable: ["label", "slot"],');

    await Promise.all([npmRun(["typecheck"]), npmRun(["lint"])]);
  }, 15 * MINUTES);

  it("passes, in the copy, every test file that reads the list of resources or the OpenAPI document, the generated ones included", async () => {
    const readers = await testFilesReadingTheRegistry();
    // The scan finds the registry-wide tests and the document's (a scan that found nothing would prove nothing).
    expect(readers).toEqual(expect.arrayContaining(["tests/kit/isolation.test.ts", "tests/kit/adversarial.test.ts", "tests/rest/openapi.test.ts"]));
    const generated = ["gadgets", "shelves", "bins", "tags"].map((key) => `tests/kit/resources/${key}.test.ts`);
    const tests = await inCopy("npx", ["vitest", "run", ...new Set([...generated, ...readers])]);
    const summary = plain(tests.stdout);
    expect(summary).toMatch(/Tests\s+\d+ passed/);
    expect(summary).not.toMatch(/failed/);
  }, 20 * MINUTES);

  describe("served on the embedded database, which migrates itself", () => {
    let service: ServiceProcess;
    let dataDir: string;
    beforeAll(async () => {
      dataDir = await mkdtemp(path.join(tmpdir(), "kuark-generate-data-"));
      service = await startServiceProcess({ PGLITE_DATA_DIR: dataDir }, { cwd: copy });
    }, 5 * MINUTES);
    afterAll(async () => {
      if (service) await stopServiceProcess(service);
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    });

    it("serves the resource with every field type, and the panel lists the new resources", async () => {
      await expectGadgetsServed(service.url);
      const panel = (await (await fetch(`${service.url}/panel/procedures.json`)).json()) as { procedures: { path: string }[] };
      const paths = panel.procedures.map((p) => p.path);
      for (const key of ["gadgets", "shelves", "bins", "tags"]) {
        for (const verb of ["create", "list", "infinite", "byId", "update", "delete"]) expect(paths).toContain(`${key}.${verb}`);
      }
    });
    describeRelatedResources(() => service.url);
  });

  describe.skipIf(!testDatabaseUrl)("served on PostgreSQL after npm run db:migrate", () => {
    let service: ServiceProcess;
    let database: Awaited<ReturnType<typeof createThrowawayDatabase>>;
    beforeAll(async () => {
      database = await createThrowawayDatabase(testDatabaseUrl ?? "", "kuark_generate");
      const migrated = await inCopy("npm", ["run", "-s", "db:migrate"], { ...cleanEnv(), DATABASE_URL: database.url });
      for (const table of ["gadgets", "shelves", "bins", "tags"]) expect(migrated.stdout).toContain(`add_${table}`);
      service = await startServiceProcess({ DATABASE_URL: database.url }, { cwd: copy });
    }, 5 * MINUTES);
    afterAll(async () => {
      if (service) await stopServiceProcess(service);
      if (database) await database.drop();
    });

    it("serves the resource with every field type", async () => {
      await expectGadgetsServed(service.url);
    });
    describeRelatedResources(() => service.url);
  });

  it("is typed by the client package built from the copy, nested routers included", async () => {
    // The same resource also mounted three levels deep (`lab.inner.gadgets`), as nested routers are.
    const routerFile = path.join(copy, "server/trpc/app-router.ts");
    const router = await readFile(routerFile, "utf8");
    await writeFile(
      routerFile,
      router
        .replace("  ...resourceRouters(definitions),", "  ...resourceRouters(definitions),\n  lab: router({ inner: router({ gadgets: resourceRouter(definitions.gadgets) }) }),")
        .replace('import { resourceRouters } from "./resource-router.js";', 'import { resourceRouter, resourceRouters } from "./resource-router.js";'),
    );
    // A consumer of the package's own source: it typechecks only if the client derives the new resource's types.
    await writeFile(
      path.join(copy, "client/src/gadgets-check.ts"),
      [
        'import type { TRPCClient } from "@trpc/client";',
        'import type { AppRouter, ResourceTypes, RouterInputs } from "./public-types.js";',
        'export const title: ResourceTypes<"gadgets">["Entity"]["title"] = "Gizmo";',
        'export const tier: Exclude<RouterInputs["gadgets"]["list"], void | undefined>["tier"] = "pro";',
        'export const released: ResourceTypes<"gadgets">["Entity"]["releasedAt"] = null;',
        "declare const client: TRPCClient<AppRouter>;",
        'export const nested = () => client.lab.inner.gadgets.list.query({ tier: "basic", search: "giz" }).then((page) => page.data[0]?.title);',
        "// @ts-expect-error -- not a tier",
        'export const wrong = () => client.lab.inner.gadgets.list.query({ tier: "gold" });',
        "",
      ].join("\n"),
    );
    // From the client's folder, as `npm run build` runs it (esbuild resolves entries from the cwd it starts in).
    await inCopy("npm", ["run", "build", "--prefix", "client"]);
    const declarations = await readFile(path.join(copy, "client/dist/index.d.ts"), "utf8");
    expect(declarations).toMatch(/gadgets: \{/);
    expect(declarations).toMatch(/inner: \{/);
    expect(declarations).not.toMatch(/from '(zod|@prisma|pino|express)/);
  }, 5 * MINUTES);
});

async function expectGadgetsServed(url: string): Promise<void> {
  const headers = { authorization: `Bearer ${tokenFor("alice", "org-generated")}`, "content-type": "application/json" };
  const created = await fetch(`${url}/trpc/gadgets.create`, {
    method: "POST",
    headers,
    body: JSON.stringify({ title: "Gizmo", stock: 3, active: true, tier: "pro", releasedAt: "2026-03-01T12:00:00+01:00" }),
  });
  const body = (await created.json()) as { result: { data: Record<string, unknown> } };
  expect(created.status).toBe(200);
  expect(body.result.data).toMatchObject({ title: "Gizmo", stock: 3, active: true, tier: "pro", notes: null, weight: null, releasedAt: "2026-03-01T11:00:00.000Z" });
  const listed = await fetch(`${url}/trpc/gadgets.list?input=${encodeURIComponent(JSON.stringify({ tier: "pro", search: "giz" }))}`, { headers });
  const page = (await listed.json()) as { result: { data: { data: { title: string }[] } } };
  expect(page.result.data.data.map((g) => g.title)).toEqual(["Gizmo"]);

  // The REST API and its document serve it too, in snake_case.
  const rest = await fetch(`${url}/api/v1/gadgets`, {
    method: "POST",
    headers,
    body: JSON.stringify({ title: "Widget", stock: 1, active: false, tier: "basic", released_at: "2026-03-01T12:00:00Z" }),
  });
  expect(rest.status).toBe(201);
  expect(await rest.json()).toMatchObject({ title: "Widget", released_at: "2026-03-01T12:00:00.000Z", organization_id: "org-generated" });
  const restList = (await (await fetch(`${url}/api/v1/gadgets?active=false`, { headers })).json()) as { data: { title: string }[] };
  expect(restList.data.map((g) => g.title)).toEqual(["Widget"]);
  const invalid = await fetch(`${url}/api/v1/gadgets`, { method: "POST", headers, body: JSON.stringify({ title: "X", stock: 1.5, active: true, tier: "basic" }) });
  expect(invalid.status).toBe(422);
  expect(((await invalid.json()) as { detail: { loc: string[] }[] }).detail.map((d) => d.loc)).toEqual([["body", "stock"]]);
  const document = (await (await fetch(`${url}/api/v1/openapi.json`)).json()) as { paths: Record<string, unknown> };
  expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(["/api/v1/gadgets", "/api/v1/gadgets/{id}"]));
}
