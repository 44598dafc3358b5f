// Loader hooks of loaded-modules.mjs (they run on Node's hooks thread).
import { appendFileSync } from "node:fs";

let out;
export function initialize(data) {
  out = data.out;
}
export async function load(url, context, nextLoad) {
  appendFileSync(out, `esm:${url}\n`);
  return nextLoad(url, context);
}
