/* global process, console */
/**
 * The load generator, run as its own process so that it never shares an event loop with what it
 * measures: `node bench/load.mjs '<json>'` drives one URL with autocannon (a warm-up first, then the
 * measured run, both bounded in time) and prints the result as one JSON line.
 */
import autocannon from "autocannon";

const spec = JSON.parse(process.argv[2] ?? "{}");
const request = {
  url: spec.url,
  method: spec.method ?? "GET",
  headers: spec.headers ?? {},
  ...(spec.body !== undefined && { body: spec.body }),
  connections: spec.connections,
  pipelining: 1,
  timeout: 10,
};

function run(duration) {
  return new Promise((resolve, reject) => {
    autocannon({ ...request, duration }, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

if (spec.warmup > 0) await run(spec.warmup);
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
    duration: result.duration,
  }),
);
