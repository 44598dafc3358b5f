/* global process, console */
/**
 * The load generator, run as its own process so that it never shares an event loop with what it
 * measures: `node bench/load.mjs '<json>'` drives one URL with autocannon (a warm-up first, then the
 * measured run, both bounded in time) and prints the result as one JSON line.
 *
 * Optional in the spec:
 * - `idsFile`: a JSON file holding an array of ids (a file: one argument holds at most 128 KiB), a
 *   request per id. `{id}` in the URL's path and in the body becomes the next id of the list (shared by
 *   all connections, in order), `{n}` the request's number. With `cycle`, the list starts over
 *   when used up (updates); without, a run that used it up says `idsWrapped: true` (deletes: an id deleted
 *   twice is a 404, counted in `errors` too).
 * - `rate`: a fixed number of requests per second in all, instead of as many as the target answers.
 * - `markMeasure`: prints `{"phase":"measure"}` on its own line just before the measured run starts, so
 *   the caller can read the target's CPU time around the measured run alone (bench/comparisons.ts).
 */
import { readFileSync } from "node:fs";
import autocannon from "autocannon";

const spec = JSON.parse(process.argv[2] ?? "{}");
const ids = spec.idsFile ? JSON.parse(readFileSync(spec.idsFile, "utf8")) : [];
let next = 0;
let wrapped = false;

function templated(template, n, id) {
  return template.replaceAll("{id}", id).replaceAll("{n}", String(n));
}

// The path as given (not parsed: `{id}` stays literal, an encoded query stays encoded).
const origin = /^https?:\/\/[^/]+/.exec(spec.url)?.[0] ?? spec.url;
const pathTemplate = spec.url.slice(origin.length) || "/";
const request = {
  url: ids.length > 0 ? origin : spec.url,
  method: spec.method ?? "GET",
  headers: spec.headers ?? {},
  ...(spec.body !== undefined && { body: spec.body }),
  ...(ids.length > 0 && {
    requests: [
      {
        method: spec.method ?? "GET",
        setupRequest(req) {
          const n = next++;
          if (n >= ids.length && !spec.cycle) wrapped = true;
          const id = ids[n % ids.length];
          return { ...req, path: templated(pathTemplate, n, id), ...(spec.body !== undefined && { body: templated(spec.body, n, id) }) };
        },
      },
    ],
  }),
  connections: spec.connections,
  pipelining: 1,
  // `rate`: requests per second in all, spread over the connections (bench/side-by-side.ts); none: as fast as they answer.
  ...(spec.rate > 0 && { overallRate: spec.rate }),
  timeout: 10,
};

function run(duration) {
  return new Promise((resolve, reject) => {
    autocannon({ ...request, duration }, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

if (spec.warmup > 0) await run(spec.warmup);
if (spec.markMeasure) console.log(JSON.stringify({ phase: "measure" }));
const result = await run(spec.duration);
console.log(
  JSON.stringify({
    requestsPerSec: result.requests.average,
    latencyP50: result.latency.p50,
    latencyP99: result.latency.p99,
    latencyMean: result.latency.average,
    requests: result.requests.total,
    errors: result.errors + result.timeouts + result.non2xx,
    non2xx: result.non2xx,
    // What the errors were: statuses other than 2xx by code, connection errors and timeouts.
    ...(result.non2xx > 0 && { statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count])) }),
    ...(result.errors > 0 && { connectionErrors: result.errors }),
    ...(result.timeouts > 0 && { timeouts: result.timeouts }),
    duration: result.duration,
    ...(ids.length > 0 && { idsUsed: next, idsWrapped: wrapped }),
  }),
);
