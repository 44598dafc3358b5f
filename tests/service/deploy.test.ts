/**
 * The production start, exactly as README's "Deploying" says: build, copy only what the build produced
 * and what it needs to run (dist/, prisma/, package.json, package-lock.json, scripts/prisma-generate.mjs)
 * to a directory of its own, `npm ci --omit=dev` there (no tsx, no Prisma CLI, no dev dependency),
 * migrate with plain node, start `node dist/server/main.js`, call it, stop it with SIGTERM.
 */
import { execFile } from "node:child_process";
import { cp, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createThrowawayDatabase } from "../../scripts/support/throwaway-postgres.js";
import type { ThrowawayDatabase } from "../../scripts/support/throwaway-postgres.js";
import { TEST_SECRET, tokenFor } from "../support/app.js";
import { testDatabaseUrl } from "../support/database.js";
import { cleanEnv, projectRoot, startServiceProcess, stopServiceProcess } from "../support/service-process.js";

const run = promisify(execFile);
/** What a deploy carries; README "Deploying" lists the same. */
const DEPLOY_FILES = ["dist", "prisma", "package.json", "package-lock.json", "scripts/prisma-generate.mjs"];

let app: string;
let pg: ThrowawayDatabase | undefined;
const production = { NODE_ENV: "production", SECRET_KEY: TEST_SECRET, LOG_LEVEL: "info" };

beforeAll(async () => {
  await run("npm", ["run", "-s", "build:server"], { cwd: projectRoot, env: cleanEnv() });
  app = await mkdtemp(path.join(tmpdir(), "kuark-deploy-"));
  for (const file of DEPLOY_FILES) await cp(path.join(projectRoot, file), path.join(app, file), { recursive: true });
  const install = await run("npm", ["ci", "--omit=dev", "--no-audit", "--no-fund"], { cwd: app, env: cleanEnv(), maxBuffer: 1 << 24 });
  expect(install.stdout + install.stderr).toContain("prisma generate: skipped");
  if (testDatabaseUrl) pg = await createThrowawayDatabase(testDatabaseUrl, "kuark_deploy");
}, 600_000);

afterAll(async () => {
  await pg?.drop();
  if (app) await rm(app, { recursive: true, force: true });
});

/** Migrates (`npm run db:migrate:prod` is this command), starts, calls, stops. */
async function deployAndCall(env: NodeJS.ProcessEnv) {
  const migrate = await run(process.execPath, ["dist/scripts/migrate.js"], { cwd: app, env: { ...cleanEnv(), ...production, ...env } });
  expect(migrate.stdout).toMatch(/Applied: 20261126050600_init|is up to date/);
  const again = await run(process.execPath, ["dist/scripts/migrate.js"], { cwd: app, env: { ...cleanEnv(), ...production, ...env } });
  expect(again.stdout).toMatch(/No pending migrations|is up to date/);

  const service = await startServiceProcess({ ...production, ...env }, { args: ["dist/server/main.js"], cwd: app });
  try {
    const ready = await fetch(`${service.url}/health/ready`);
    expect(ready.status).toBe(200);
    const authorization = `Bearer ${tokenFor("deployer", "deploy-org")}`;
    const created = await fetch(`${service.url}/trpc/features.create`, {
      method: "POST",
      headers: { authorization, "content-type": "application/json" },
      body: JSON.stringify({ name: "Deployed" }),
    });
    expect(created.status).toBe(200);
    const listed = (await (await fetch(`${service.url}/trpc/features.list`, { headers: { authorization } })).json()) as {
      result: { data: { data: { name: string }[] } };
    };
    expect(listed.result.data.data.map((f) => f.name)).toEqual(["Deployed"]);
    expect((await fetch(service.metricsUrl!)).status).toBe(200);
  } finally {
    expect(await stopServiceProcess(service)).toBe(0);
  }
  expect(service.output()).toContain('"msg":"stopped"');
}

describe("production start from the build output alone", () => {
  it("installs without dev dependencies", async () => {
    const installed = await readdir(path.join(app, "node_modules"));
    // (npm still installs the Prisma CLI, @prisma/client's optional peer, and TypeScript, @trpc/server's
    // peer; nothing at run time uses either.)
    for (const dev of ["tsx", "vitest", "eslint", "autocannon", "playwright-core", "pino-pretty"]) expect(installed).not.toContain(dev);
    expect(installed).toContain("express");
  });

  it("migrates and serves the embedded database with plain node", async () => {
    await deployAndCall({ PGLITE_DATA_DIR: path.join(app, ".data/pglite") });
  }, 120_000);

  it.skipIf(!testDatabaseUrl)("migrates and serves a PostgreSQL database with plain node", async () => {
    await deployAndCall({ DATABASE_URL: pg!.url });
  }, 120_000);
});
