// `node --import ./tests/support/loaded-modules.mjs ...`: records every module the process loads, to
// the file LOADED_MODULES_FILE, one URL or path a line: ES modules through a loader hook (registered
// first, so it sees every import, tsx's included), CommonJS modules from `require.cache` at exit.
import { appendFileSync } from "node:fs";
import { createRequire, register } from "node:module";
import process from "node:process";

const out = process.env.LOADED_MODULES_FILE;
if (!out) throw new Error("LOADED_MODULES_FILE is not set");
register("./loaded-modules-hooks.mjs", import.meta.url, { data: { out } });
const require = createRequire(import.meta.url);
process.on("exit", () => {
  appendFileSync(out, Object.keys(require.cache).map((file) => `cjs:${file}\n`).join(""));
});
