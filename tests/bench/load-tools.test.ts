/**
 * The benchmark's own measuring tools (bench/), which issue 22's figures rest on: the CPU time of a process
 * read from /proc/<pid>/stat (bench/proc-stat.ts), and the load generator's requests that take one id each
 * (bench/load.mjs: a delete must never be sent twice for one row), against a real process and a real
 * listening server on loopback.
 */
import { execFile, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clockTicksPerSecond, cpuSecondsOf, parseProcStat } from "../../bench/proc-stat.js";
import { projectRoot } from "../support/service-process.js";

const run = promisify(execFile);

describe("CPU time from /proc/<pid>/stat", () => {
  it("counts utime and stime after the command name, whatever that name holds", () => {
    // Fields 14 and 15 (utime, stime) are 1234 and 56; the name has spaces and parentheses of its own.
    const line = "4242 (node (a) b) S 1 4242 4242 0 -1 4194560 9000 0 12 0 1234 56 0 0 20 0 11 0 500 1000000 5000 18446744073709551615";
    expect(parseProcStat(line)).toEqual({ utime: 1234, stime: 56 });
  });

  it("refuses a line that is not one", () => {
    expect(() => parseProcStat("not a stat line")).toThrow(/not a \/proc\/<pid>\/stat line/);
    expect(() => parseProcStat("1 (x) S 1 2")).toThrow(/no utime\/stime/);
  });

  it("reads the CPU a real process spent, and none while it sleeps", async () => {
    expect(clockTicksPerSecond()).toBeGreaterThan(0);
    // Busy for 400 ms of its own CPU time, then asleep.
    const child = spawn(process.execPath, ["-e", "const t = process.cpuUsage(); while ((process.cpuUsage(t).user + process.cpuUsage(t).system) < 400000); console.log('done'); setTimeout(() => {}, 5000)"], {
      stdio: ["ignore", "pipe", "ignore"],
    });
    try {
      await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
      const busy = cpuSecondsOf(child.pid!);
      expect(busy).toBeGreaterThanOrEqual(0.35);
      expect(busy).toBeLessThan(3);
      await new Promise((r) => setTimeout(r, 300));
      expect(cpuSecondsOf(child.pid!) - busy).toBeLessThan(0.05);
    } finally {
      child.kill();
    }
  });
});

describe("bench/load.mjs with one id per request", () => {
  const seen: { method: string; url: string; body: string }[] = [];
  let url: string;
  let dir: string;
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      seen.push({ method: req.method!, url: req.url!, body });
      res.writeHead(204).end();
    });
  });

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "kuark-load-"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  async function load(spec: object) {
    const { stdout } = await run(process.execPath, [path.join(projectRoot, "bench/load.mjs"), JSON.stringify(spec)]);
    return stdout.trim().split("\n");
  }

  it("sends each id once, in path and body, and says when the ids ran out", async () => {
    const ids = Array.from({ length: 50 }, (_, i) => `id-${i}`);
    const idsFile = path.join(dir, "ids.json");
    await writeFile(idsFile, JSON.stringify(ids));
    seen.length = 0;
    const lines = await load({ url: `${url}/items/{id}?x=%7B%7D`, method: "DELETE", headers: { "content-type": "application/json" }, body: '{"id":"{id}","n":{n}}', idsFile, connections: 4, warmup: 0, duration: 1, markMeasure: true });
    expect(lines[0]).toBe('{"phase":"measure"}');
    const result = JSON.parse(lines.at(-1)!) as { requests: number; idsUsed: number; idsWrapped: boolean };
    // A server answering at once takes far more than 50 requests in a second: the ids ran out.
    expect(result.idsWrapped).toBe(true);
    // Request n carries ids[n] in its path and its body; the first 50 are 50 requests, one per id.
    const sent = seen.map((r) => ({ ...r, n: (JSON.parse(r.body) as { n: number }).n, bodyId: (JSON.parse(r.body) as { id: string }).id }));
    const first = sent.filter((r) => r.n < ids.length);
    expect(first).toHaveLength(50);
    expect(new Set(first.map((r) => r.n)).size).toBe(50);
    for (const r of first) {
      expect(r.method).toBe("DELETE");
      // The encoded query stays as given.
      expect(r.url).toBe(`/items/${ids[r.n]}?x=%7B%7D`);
      expect(r.bodyId).toBe(ids[r.n]);
    }
    expect(sent.some((r) => r.n >= ids.length)).toBe(true);
  });

  it("starts the ids over without a word when told to cycle", async () => {
    const idsFile = path.join(dir, "few.json");
    await writeFile(idsFile, JSON.stringify(["a", "b", "c"]));
    seen.length = 0;
    const lines = await load({ url: `${url}/items/{id}`, method: "PUT", body: '{"description":"v{n}"}', idsFile, cycle: true, connections: 2, warmup: 0, duration: 1 });
    const result = JSON.parse(lines.at(-1)!) as { requests: number; idsWrapped: boolean; errors: number };
    expect(result.idsWrapped).toBe(false);
    expect(result.errors).toBe(0);
    expect(new Set(seen.map((r) => r.url))).toEqual(new Set(["/items/a", "/items/b", "/items/c"]));
  });
});
