/* global process, console, URL */
/**
 * Latency of one request repeated back to back over one keep-alive connection (the scale
 * measurements), timed to the microsecond: `node bench/latency.mjs '<json>'` prints one JSON line.
 */
import http from "node:http";

const spec = JSON.parse(process.argv[2] ?? "{}");
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const url = new URL(spec.url);

function once() {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    const req = http.request(url, { agent, method: "GET", headers: spec.headers ?? {} }, (res) => {
      res.resume();
      res.on("end", () => resolve({ ok: res.statusCode === 200, ms: Number(process.hrtime.bigint() - started) / 1e6 }));
    });
    req.on("error", () => resolve({ ok: false, ms: Number(process.hrtime.bigint() - started) / 1e6 }));
    req.end();
  });
}

async function loop(seconds) {
  const samples = [];
  let errors = 0;
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    const { ok, ms } = await once();
    if (ok) samples.push(ms);
    else errors++;
  }
  return { samples, errors };
}

await loop(spec.warmup ?? 0.5);
const { samples, errors } = await loop(spec.duration ?? 2);
samples.sort((a, b) => a - b);
const at = (q) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? 0;
console.log(JSON.stringify({ p50: at(0.5), p99: at(0.99), mean: samples.reduce((a, b) => a + b, 0) / (samples.length || 1), requests: samples.length, errors }));
agent.destroy();
