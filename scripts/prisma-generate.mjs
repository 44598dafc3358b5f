// postinstall: `prisma generate` (the typed client under server/generated/prisma).
// The Prisma CLI downloads its native schema engine before any command, even `generate`, which never
// runs it. Where that download cannot happen (machines that reach only the npm registry), generate is
// retried with PRISMA_SCHEMA_ENGINE_BINARY naming a placeholder, which only skips the download. Where
// the download works, nothing is forced. See README, "Migrations".
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";

const prismaCli = createRequire(import.meta.url).resolve("prisma/build/index.js");
const run = (env) => spawnSync(process.execPath, [prismaCli, "generate"], { stdio: "pipe", env, encoding: "utf8" });

let result = run(process.env);
if (result.status !== 0 && !process.env.PRISMA_SCHEMA_ENGINE_BINARY) {
  result = run({ ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.execPath });
}
process.stdout.write(result.stdout ?? "");
process.stderr.write(result.stderr ?? "");
process.exit(result.status ?? 1);
