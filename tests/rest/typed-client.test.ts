/**
 * The document is usable by non-tRPC TypeScript clients: openapi-typescript generates types from the
 * served document, a small consumer built on openapi-fetch (create, list, read, update, delete) is
 * type-checked with tsc, its deliberate mistakes must be compile errors, and it then runs against the
 * real server.
 *
 * openapi-typescript 7 declares `typescript ^5` as its peer; it generates the same output under this
 * project's TypeScript 6 (openapi-ts/openapi-typescript#2773), so package.json overrides that peer.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeDependencies, startServer, tokenFor } from "../support/app.js";
import type { RunningServer } from "../support/app.js";
import { createTestDatabase } from "../support/database.js";
import type { TestDatabase } from "../support/database.js";

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, "../..");
const bin = (name: string) => path.join(root, "node_modules/.bin", name);

let testDb: TestDatabase;
let server: RunningServer;
let dir: string;

beforeAll(async () => {
  testDb = await createTestDatabase();
  server = await startServer(makeDependencies(testDb.db));
  // Inside the repository, so the consumer resolves openapi-fetch from its node_modules.
  await mkdir(path.join(root, "test-results"), { recursive: true });
  dir = await mkdtemp(path.join(root, "test-results", "rest-client-"));
});
afterAll(async () => {
  await server?.close();
  await testDb?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const CONSUMER = `
import createClient from "openapi-fetch";
import type { components, paths } from "./api.js";

type Feature = components["schemas"]["Feature"];

const client = createClient<paths>({
  baseUrl: process.env.KUARK_URL!,
  headers: { Authorization: \`Bearer \${process.env.KUARK_TOKEN!}\` },
});

const created = await client.POST("/api/v1/features", { body: { name: "Typed client", status: "ACTIVE" } });
if (!created.data) throw new Error(\`create failed: \${created.response.status}\`);
const feature: Feature = created.data;

const page = await client.GET("/api/v1/features", { params: { query: { page: 1, limit: 5, search: "typed" } } });
const total: number = page.data!.pagination.total_pages;
const names: string[] = page.data!.data.map((f) => f.name);

const read = await client.GET("/api/v1/features/{id}", { params: { path: { id: feature.id } } });
const createdAt: string = read.data!.created_at;

const updated = await client.PUT("/api/v1/features/{id}", {
  params: { path: { id: feature.id } },
  body: { status: "INACTIVE", expected_updated_at: feature.updated_at },
});
const stale = await client.PATCH("/api/v1/features/{id}", {
  params: { path: { id: feature.id } },
  body: { name: "Too late", expected_updated_at: feature.updated_at },
});
// Errors are typed per status: 409 is { detail: string }, 422 is { detail: ValidationError[] }.
const conflict: string | undefined = typeof stale.error?.detail === "string" ? stale.error.detail : undefined;

const removed = await client.DELETE("/api/v1/features/{id}", { params: { path: { id: feature.id } } });
const missing = await client.GET("/api/v1/features/{id}", { params: { path: { id: feature.id } } });
const bad = await client.GET("/api/v1/features", { params: { query: { limit: 500 } } });
const firstLoc = bad.error && "detail" in bad.error && Array.isArray(bad.error.detail) ? bad.error.detail[0]?.loc : undefined;

// Mistakes a client must not compile (each line must be an error, or tsc fails on the directive).
// @ts-expect-error the wire is snake_case
void feature.organizationId;
// @ts-expect-error status is ACTIVE or INACTIVE
void client.POST("/api/v1/features", { body: { name: "Wrong", status: "BOGUS" } });
// @ts-expect-error name is required
void client.POST("/api/v1/features", { body: { description: "no name" } });
// @ts-expect-error no such route
void client.GET("/api/v1/flags");

console.log(JSON.stringify({
  created: created.response.status,
  names,
  total,
  createdAt,
  updated: [updated.response.status, updated.data?.status],
  conflict: [stale.response.status, conflict],
  removed: [removed.response.status],
  missing: [missing.response.status, missing.error?.detail],
  bad: [bad.response.status, firstLoc],
}));
`;

describe("a typed client generated with openapi-typescript", () => {
  it("generates from the served document, typechecks a consumer, and runs it against the service", async () => {
    await run(bin("openapi-typescript"), [`${server.url}/api/v1/openapi.json`, "--output", path.join(dir, "api.ts")], { cwd: dir });
    await writeFile(path.join(dir, "package.json"), JSON.stringify({ type: "module", private: true }));
    await writeFile(
      path.join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { target: "ES2022", lib: ["ES2023", "DOM"], module: "NodeNext", moduleResolution: "NodeNext", strict: true, noEmit: true, skipLibCheck: true, types: ["node"], typeRoots: [path.join(root, "node_modules/@types")] },
        include: ["*.ts"],
      }),
    );
    await writeFile(path.join(dir, "consumer.ts"), CONSUMER);

    const typecheck = await run(bin("tsc"), ["-p", dir]).then(
      () => ({ ok: true, out: "" }),
      (error: { stdout: string }) => ({ ok: false, out: error.stdout }),
    );
    expect(typecheck.out).toBe("");
    expect(typecheck.ok).toBe(true);

    // A misuse beyond the expected ones is caught too: the check can fail.
    await writeFile(path.join(dir, "misuse.ts"), CONSUMER.replace('{ page: 1, limit: 5, search: "typed" }', '{ page: "one" }'));
    const misuse = await run(bin("tsc"), ["-p", dir]).then(
      () => "",
      (error: { stdout: string }) => error.stdout,
    );
    expect(misuse).toMatch(/misuse\.ts.*error TS2322/);
    await rm(path.join(dir, "misuse.ts"));

    const { stdout } = await run(process.execPath, ["--import", "tsx", path.join(dir, "consumer.ts")], {
      cwd: dir,
      env: { ...process.env, KUARK_URL: server.url, KUARK_TOKEN: tokenFor("typed", `typed-${process.pid}`) },
    });
    const outcome = JSON.parse(stdout.trim().split("\n").at(-1)!) as Record<string, unknown>;
    expect(outcome).toMatchObject({
      created: 201,
      names: ["Typed client"],
      total: 1,
      updated: [200, "INACTIVE"],
      conflict: [409, expect.stringMatching(/changed by someone else/)],
      removed: [204],
      missing: [404, "Feature not found"],
      bad: [422, ["query", "limit"]],
    });
  }, 120_000);
});
