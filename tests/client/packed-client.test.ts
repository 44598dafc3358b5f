/**
 * Issue 3: the typed client package, proven on the packed tarball installed in a new project outside the
 * repository with only its peer dependencies: its declarations, its types against correct and mistaken code,
 * and its calls against a real listening server.
 */
import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type * as KuarkClientModule from "../../client/src/index.js";
import { makeDependencies, startServer, tokenFor } from "../support/app.js";
import type { RunningServer } from "../support/app.js";
import { createTestDatabase } from "../support/database.js";
import type { TestDatabase } from "../support/database.js";
import { clientDir, installConsumer, packClient, sh } from "./packed-client.js";

const typetests = join(clientDir, "typetests");
const EXPECT_ERROR = /^\s*\/\/ @ts-expect-error\b.*$/;

let workDir: string;
let consumer: string;
let installedPackage: string;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), "kuark-client-"));
  consumer = join(workDir, "consumer");
  const tarball = await packClient(workDir);
  await installConsumer(consumer, tarball, { react: true });
  installedPackage = join(consumer, "node_modules", "@kuark", "features-client");
  for (const file of await readdir(typetests)) await copyFile(join(typetests, file), join(consumer, file));
}, 600_000);

afterAll(async () => {
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

/** `tsc --noEmit` in the consumer project; resolves to its exit code and diagnostics. */
async function typecheck(...extraArgs: string[]): Promise<{ ok: boolean; output: string }> {
  try {
    const output = await sh(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.json", ...extraArgs], consumer);
    return { ok: true, output };
  } catch (error) {
    return { ok: false, output: (error as Error).message };
  }
}

describe("the packed package", () => {
  it("ships ESM with declarations for both entries, and only frontend packages as peers", async () => {
    const manifest = JSON.parse(await readFile(join(installedPackage, "package.json"), "utf8")) as Record<string, unknown>;
    expect(manifest.name).toBe("@kuark/features-client");
    expect(manifest.type).toBe("module");
    expect(manifest.dependencies ?? {}).toEqual({});
    expect(Object.keys(manifest.peerDependencies as object).sort()).toEqual(
      ["@tanstack/react-query", "@trpc/client", "@trpc/server", "@trpc/tanstack-react-query", "react"].sort(),
    );
    const files = await readdir(join(installedPackage, "dist"));
    expect(files).toEqual(expect.arrayContaining(["index.js", "index.d.ts", "react.js", "react.d.ts"]));
  });

  it("publishes declarations that name no Prisma, Express, zod, logger or server source file", async () => {
    const declarations = (await readdir(join(installedPackage, "dist"))).filter((file) => file.endsWith(".d.ts"));
    expect(declarations.length).toBeGreaterThanOrEqual(2);
    const allowedImports = new Set(["@trpc/client", "@trpc/server", "@trpc/tanstack-react-query", "@tanstack/react-query", "react"]);
    for (const file of declarations) {
      const text = await readFile(join(installedPackage, "dist", file), "utf8");
      expect(text, file).not.toMatch(/prisma|express|pino|zod|generated|server\/|\.\.\//i);
      expect(text, file).not.toMatch(/\bctx: [A-Z]/); // the server's Context type, by any name
      const imported = [...text.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map((match) => match[1] ?? "");
      for (const specifier of imported) {
        if (specifier.startsWith("./")) continue;
        expect(allowedImports, `${file} imports ${specifier}`).toContain(specifier);
      }
    }
  });

  it("type-checks a frontend's correct use of every procedure, the exported types and the React entry", async () => {
    const result = await typecheck();
    expect(result.output).toBe("");
    expect(result.ok).toBe(true);
    // The same with library checking on: whatever the peers' own declarations need, ours are sound.
    const strict = await typecheck("--skipLibCheck", "false");
    const ours = strict.output.split("\n").filter((line) => line.includes("@kuark/features-client"));
    expect(ours).toEqual([]);
  }, 120_000); // two full tsc runs, one checking every library's declarations: over 30 s on a busy machine

  it("rejects every marked mistake, and fails on each of them once the @ts-expect-error marks are gone", async () => {
    const mistakes = await readFile(join(typetests, "mistakes.ts"), "utf8");
    const lines = mistakes.split("\n");
    // Lines numbered from 1; a mark covers the line after it.
    const markedLines = lines.flatMap((line, index) => (EXPECT_ERROR.test(line) ? [index + 2] : []));
    expect(markedLines.length).toBeGreaterThanOrEqual(15);

    // Blank lines in place of the marks keep every line number.
    await writeFile(join(consumer, "mistakes.ts"), lines.map((line) => (EXPECT_ERROR.test(line) ? "" : line)).join("\n"));
    const stripped = await typecheck();
    await writeFile(join(consumer, "mistakes.ts"), mistakes);

    expect(stripped.ok).toBe(false);
    const failingLines = new Set([...stripped.output.matchAll(/^mistakes\.ts\((\d+),\d+\): error/gm)].map((match) => Number(match[1])));
    for (const line of markedLines) expect(failingLines, `mistakes.ts line ${line}: ${lines[line - 1]?.trim()}`).toContain(line);
  });
});

describe("the packed client against a real listening server", () => {
  let testDb: TestDatabase;
  let server: RunningServer;
  let kuark: typeof KuarkClientModule;
  let orgCounter = 0;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    server = await startServer(makeDependencies(testDb.db));
    kuark = (await import(pathToFileURL(join(installedPackage, "dist", "index.js")).href)) as typeof KuarkClientModule;
  });
  afterAll(async () => {
    await server?.close();
    await testDb?.drop();
  });

  /** A client for a brand-new organization that records every request it sends. */
  function clientForNewOrg() {
    const token = tokenFor("alice", `client-org-${process.pid}-${++orgCounter}`);
    const requests: { url: string; authorization: string | null; app: string | null }[] = [];
    let tokenCalls = 0;
    const client = kuark.createKuarkClient({
      url: `${server.url}/trpc`,
      getToken: async () => {
        tokenCalls++;
        await Promise.resolve();
        return token;
      },
      headers: { "x-app": "client-test" },
      fetch: (url, init) => {
        const headers = new Headers(init?.headers);
        requests.push({ url: String(url), authorization: headers.get("authorization"), app: headers.get("x-app") });
        return fetch(String(url), init);
      },
    });
    return { client, requests, token, tokenCalls: () => tokenCalls };
  }

  async function rejection(promise: Promise<unknown>): Promise<KuarkClientModule.KuarkClientError> {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(kuark.isKuarkClientError(error)).toBe(true);
    expect(error).toBeInstanceOf(kuark.TRPCClientError);
    return error as KuarkClientModule.KuarkClientError;
  }

  it("creates, reads, updates and deletes a feature", async () => {
    const { client } = clientForNewOrg();
    const created = await client.features.create.mutate({ name: "Dark mode", description: "Night theme" });
    expect(created).toMatchObject({ name: "Dark mode", description: "Night theme", status: "ACTIVE", createdById: "alice" });

    expect(await client.features.byId.query({ id: created.id })).toEqual(created);

    const updated = await client.features.update.mutate({ id: created.id, data: { status: "INACTIVE", description: null } });
    expect(updated).toMatchObject({ id: created.id, name: "Dark mode", description: null, status: "INACTIVE" });

    expect(await client.features.delete.mutate({ id: created.id })).toEqual({ id: created.id });
    const gone = await rejection(client.features.byId.query({ id: created.id }));
    expect(gone.data).toMatchObject({ code: "NOT_FOUND", httpStatus: 404, path: "features.byId" });
  });

  it("lists with search, status filter and paging", async () => {
    const { client } = clientForNewOrg();
    for (const name of ["Alpha search", "Beta search", "Gamma search", "Delta other"]) {
      await client.features.create.mutate({ name, status: name.startsWith("Gamma") ? "INACTIVE" : "ACTIVE" });
    }
    const first = await client.features.list.query({ search: "SEARCH", limit: 2, page: 1 });
    expect(first.pagination).toEqual({ page: 1, limit: 2, total: 3, totalPages: 2, totalIsEstimate: false });
    const second = await client.features.list.query({ search: "search", limit: 2, page: 2 });
    expect(second.data).toHaveLength(1);
    const seen = [...first.data, ...second.data].map((feature) => feature.name).sort();
    expect(seen).toEqual(["Alpha search", "Beta search", "Gamma search"]);

    const inactive = await client.features.list.query({ status: "INACTIVE" });
    expect(inactive.data.map((feature) => feature.name)).toEqual(["Gamma search"]);
    expect((await client.features.list.query()).pagination.total).toBe(4);
  });

  it("reads per-field messages of a BAD_REQUEST from the error", async () => {
    const { client } = clientForNewOrg();
    const created = await client.features.create.mutate({ name: "Valid name" });

    const invalidCreate = await rejection(client.features.create.mutate({ name: " x " }));
    expect(invalidCreate.message).toBe("Invalid input");
    expect(invalidCreate.data).toMatchObject({ code: "BAD_REQUEST", httpStatus: 400, path: "features.create" });
    expect(kuark.fieldErrorsOf(invalidCreate)).toEqual({ name: ["must be at least 2 characters"] });

    const invalidUpdate = await rejection(client.features.update.mutate({ id: created.id, data: { name: "y".repeat(201) } }));
    expect(kuark.fieldErrorsOf(invalidUpdate)).toEqual({ "data.name": ["must be at most 200 characters"] });
    expect(kuark.fieldErrorsOf(new Error("not from the API"))).toBeUndefined();
  });

  it("asks getToken on every request, sends the extra headers, and batches concurrent calls", async () => {
    const { client, requests, token, tokenCalls } = clientForNewOrg();
    await client.auth.me.query();
    await client.features.list.query();
    expect(tokenCalls()).toBe(2);
    expect(requests).toHaveLength(2);
    for (const request of requests) expect(request).toMatchObject({ authorization: `Bearer ${token}`, app: "client-test" });

    requests.length = 0;
    const [me, page] = await Promise.all([client.auth.me.query(), client.features.list.query({ limit: 1 })]);
    expect(me.sub).toBe("alice");
    expect(page.pagination.limit).toBe(1);
    expect(requests).toHaveLength(1);
    expect(requests[0]?.url).toContain("auth.me,features.list");
  });

  it("sends no Authorization header without a token, and the server answers UNAUTHORIZED", async () => {
    const authorizations: (string | null)[] = [];
    const client = kuark.createKuarkClient({
      url: `${server.url}/trpc`,
      getToken: () => null,
      fetch: (url, init) => {
        authorizations.push(new Headers(init?.headers).get("authorization"));
        return fetch(String(url), init);
      },
    });
    const refused = await rejection(client.features.list.query());
    expect(authorizations).toEqual([null]);
    expect(refused.data).toMatchObject({ code: "UNAUTHORIZED", httpStatus: 401 });
  });
});
