// postinstall: `prisma generate` (the typed client under server/generated/prisma).
// The Prisma CLI downloads its native schema engine before any command, even `generate`, which never
// runs it. Where that download cannot happen (machines that reach only the npm registry), generate is
// retried with PRISMA_SCHEMA_ENGINE_BINARY naming a placeholder, which only skips the download. Where
// the download works, nothing is forced. See README, "Migrations".
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { URL } from "node:url";

// A deploy (README, "Deploying") holds the build output, not the sources: the client generated from the
// schema is already compiled into dist/. There is nothing to generate, and `npm ci --omit=dev` may not
// even have the Prisma CLI (a devDependency; npm still installs it as @prisma/client's optional peer).
const here = (file) => new URL(`../${file}`, import.meta.url);
if (!existsSync(here("server")) && existsSync(here("dist/server/generated/prisma/client.js"))) {
  console.log("prisma generate: skipped (a built deploy: the generated client is in dist/server/generated)");
  process.exit(0);
}
const prismaCli = createRequire(import.meta.url).resolve("prisma/build/index.js");
const run = (env) => spawnSync(process.execPath, [prismaCli, "generate"], { stdio: "pipe", env, encoding: "utf8" });

let result = run(process.env);
if (result.status !== 0 && !process.env.PRISMA_SCHEMA_ENGINE_BINARY) {
  result = run({ ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.execPath });
}
process.stdout.write(result.stdout ?? "");
process.stderr.write(result.stderr ?? "");
process.exit(result.status ?? 1);
