/**
 * `npm run lint` guards the structure: it fails on a new import cycle (dpdm, type-only imports included)
 * and on an import of tRPC's internals outside server/trpc/fast-path/internals.ts (ESLint). Shown by
 * running `npm run lint` itself in a scratch copy of the server (the real tree is never touched): it
 * passes before the plant and fails after it, naming what it found.
 */
import { execFile } from "node:child_process";
import { cp, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projectRoot } from "../support/service-process.js";

const run = promisify(execFile);
let copy: string;

/** `npm run lint` in the copy: its exit code and output. */
async function lint(): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run("npm", ["run", "-s", "lint"], { cwd: copy, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, output: `${stdout}${stderr}` };
  } catch (error) {
    const { code, stdout = "", stderr = "" } = error as { code: number; stdout?: string; stderr?: string };
    return { code, output: `${stdout}${stderr}` };
  }
}

beforeAll(async () => {
  copy = await mkdtemp(path.join(tmpdir(), "kuark-lint-"));
  for (const entry of ["server", "scripts", "eslint.config.js", "tsconfig.json", "package.json"]) await cp(path.join(projectRoot, entry), path.join(copy, entry), { recursive: true });
  await symlink(path.join(projectRoot, "node_modules"), path.join(copy, "node_modules"), "dir");
}, 60_000);

afterAll(async () => {
  if (copy) await rm(copy, { recursive: true, force: true });
});

describe("npm run lint", () => {
  it("passes on the copy as it is", async () => {
    const { code, output } = await lint();
    expect(output).toContain("no circular dependency");
    expect(code).toBe(0);
  }, 120_000);

  it("fails on a new import cycle, type-only imports included, naming its files", async () => {
    await writeFile(path.join(copy, "server/kit/planted-a.ts"), 'import { b } from "./planted-b.js";\nexport const a = (): number => b() + 1;\n');
    // b imports a back, for a type only: still a cycle of two files.
    await writeFile(path.join(copy, "server/kit/planted-b.ts"), 'import type { a } from "./planted-a.js";\nexport const b = (): number => 1;\nexport type A = typeof a;\n');
    const { code, output } = await lint();
    await rm(path.join(copy, "server/kit/planted-a.ts"));
    await rm(path.join(copy, "server/kit/planted-b.ts"));
    expect(code).not.toBe(0);
    expect(output).toMatch(/server\/kit\/planted-[ab]\.ts -> server\/kit\/planted-[ab]\.ts/);
  }, 120_000);

  it("fails on an import of tRPC internals outside their one module, naming that module", async () => {
    const file = path.join(copy, "server/http/planted-trpc.ts");
    await writeFile(file, 'import { getErrorShape } from "@trpc/server/unstable-core-do-not-import";\nexport const shape = getErrorShape;\n');
    const { code, output } = await lint();
    await rm(file);
    expect(code).not.toBe(0);
    expect(output).toContain("no-restricted-imports");
    expect(output).toContain("tRPC's internals are imported by server/trpc/fast-path/internals.ts only");
  }, 120_000);
});
