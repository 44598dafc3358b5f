/**
 * Builds dist/: ESM JavaScript (esbuild) and one self-contained declaration bundle per entry (rollup-plugin-dts).
 * The declarations inline everything under src/ and the server types it computes from; only the peer
 * dependencies stay imports. `tsc` checks the sources first, so a type error fails the build.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { build } from "esbuild";
import { rollup } from "rollup";
import { dts } from "rollup-plugin-dts";

import { fileURLToPath } from "node:url";
const here = fileURLToPath(new URL(".", import.meta.url));
process.chdir(here);
const { peerDependencies } = JSON.parse(readFileSync("package.json", "utf8"));
const peers = Object.keys(peerDependencies);
const isPeer = (id) => peers.some((peer) => id === peer || id.startsWith(`${peer}/`));
const entries = { index: "src/index.ts", react: "src/react.ts" };

// Resolved, not a fixed path: in the workspace TypeScript is installed once, at the repository's root.
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
execFileSync(process.execPath, [tsc, "-p", "tsconfig.json"], { stdio: "inherit" });
rmSync("dist", { recursive: true, force: true });

await build({
  entryPoints: entries,
  outdir: "dist",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "neutral",
  target: "es2022",
  external: peers.flatMap((peer) => [peer, `${peer}/*`]),
  logLevel: "warning",
});

const bundle = await rollup({
  input: entries,
  external: isPeer,
  plugins: [dts({ tsconfig: "tsconfig.json" })],
});
await bundle.write({ dir: "dist", format: "es", chunkFileNames: "[name]-[hash].d.ts" });
await bundle.close();
