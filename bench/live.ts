/**
 * The live-updates benchmark (part of `npm run bench`; alone: `npm run bench -- --live`): one service
 * process (`npm start`'s command line) on a throw-away PostgreSQL database.
 *
 * - **Delivery:** 100 open `features.onChange` streams of one organization; creates go in over HTTP
 *   (10 at a time) and the clock stops when every stream has received every event. Reported: events per
 *   second delivered (events x subscribers / time), the write rate, and the time from the last write
 *   to the last delivery.
 * - **Memory:** 1,000 open idle streams; the service's RSS and V8 heap (its own Prometheus metrics, after
 *   a full GC) before and after, divided by 1,000. "Before" follows a warm-up at full scale (1,000 streams
 *   opened, closed and let go by the service), so the difference is what open streams hold, not what a
 *   burst of 1,000 connections leaves resident. The target is at most 50 KB per open stream.
 *
 * The streams are read with plain `fetch` (the SSE text, counting `id:` lines), so the client side costs
 * the bench process little and every byte the server sends is counted.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { PrismaPg } from "@prisma/adapter-pg";
import { signAccessToken } from "../server/auth/token.js";
import { applyMigrations } from "../server/db/schema-engine.js";
import { createThrowawayDatabase } from "../scripts/support/throwaway-postgres.js";
import { startServiceProcess, stopServiceProcess } from "../tests/support/service-process.js";
import { TEST_SECRET } from "../tests/support/app.js";

export interface LiveBenchResults {
  subscribers: number;
  events: number;
  writesPerSecond: number;
  eventsDeliveredPerSecond: number;
  lastWriteToLastDeliveryMs: number;
  openStreams: number;
  rssBytesPerStream: number;
  heapBytesPerStream: number;
}

const SUBSCRIBERS = 100;
const EVENTS = 1_000;
const WRITE_CONCURRENCY = 10;
const OPEN_STREAMS = 1_000;
const WARM_STREAMS = 50;
const ORG = "bench-live";

interface Stream {
  received: number;
  close(): void;
}

function openStream(url: string, token: string): Promise<Stream> {
  const controller = new AbortController();
  const stream: Stream = { received: 0, close: () => controller.abort() };
  return new Promise((resolve, reject) => {
    fetch(`${url}/trpc/features.onChange`, { headers: { accept: "text/event-stream", authorization: `Bearer ${token}` }, signal: controller.signal })
      .then(async (res) => {
        if (!res.ok || !res.body) throw new Error(`stream refused: ${res.status}`);
        const reader = (res.body as ReadableStream<Uint8Array>).getReader();
        const decoder = new TextDecoder();
        let carry = "";
        let connected = false;
        for (;;) {
          const { value, done } = (await reader.read()) as { value: Uint8Array | undefined; done: boolean };
          if (done) return;
          const text = carry + decoder.decode(value, { stream: true });
          const lines = text.split("\n");
          carry = lines.pop() ?? "";
          for (const line of lines) {
            if (line.startsWith("event: connected") && !connected) {
              connected = true;
              resolve(stream);
            } else if (line.startsWith("event: serialized-error")) reject(new Error("stream ended with an error"));
            else if (line.startsWith("id: ")) stream.received++;
          }
        }
      })
      .catch((error: unknown) => {
        if (!controller.signal.aborted) reject(error instanceof Error ? error : new Error(String(error)));
      });
  });
}

async function metric(metricsUrl: string, name: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return Number(line?.split(" ")[1] ?? NaN);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function liveBench(adminUrl: string, log: (message: string) => void): Promise<LiveBenchResults> {
  const database = await createThrowawayDatabase(adminUrl, "kuark_bench_live");
  try {
    await applyMigrations(new PrismaPg({ connectionString: database.url }));
    const service = await startServiceProcess(
      {
      DATABASE_URL: database.url,
      LOG_LEVEL: "info",
      RATE_LIMIT_PER_IP: "0",
      RATE_LIMIT_PER_ORG: "0",
      SUBSCRIPTIONS_PER_IP: "0",
      SUBSCRIPTIONS_PER_ORG: "0",
      DATABASE_POOL_SIZE: "20",
      },
      { args: ["--expose-gc", "--import", "./bench/gc-on-signal.mjs", "--import", "tsx", "server/main.ts"] },
    );
    /** Live memory of the service: a full GC first (bench/gc-on-signal.mjs), then its own metrics. */
    const settledMemory = async () => {
      service.child.kill("SIGUSR2");
      await sleep(300);
      return { rss: await metric(service.metricsUrl ?? "", "process_resident_memory_bytes"), heap: await metric(service.metricsUrl ?? "", "nodejs_heap_size_used_bytes") };
    };
    /** Waits until the service's open-subscriptions gauge says `count` (fails after 30 s). */
    const untilOpen = async (count: number) => {
      for (const started = Date.now(); (await metric(service.metricsUrl ?? "", "kuark_trpc_open_subscriptions")) !== count; await sleep(100)) {
        if (Date.now() - started > 30_000) throw new Error(`the service did not get to ${count} open subscriptions within 30 s`);
      }
    };
    const openStreams = async (count: number, token: string) => {
      const streams: Stream[] = [];
      for (let i = 0; i < count; i += 100) streams.push(...(await Promise.all(Array.from({ length: Math.min(100, count - i) }, () => openStream(service.url, token)))));
      return streams;
    };
    try {
      const token = signAccessToken({ sub: "bench", organizationId: ORG, minutes: 60 }, TEST_SECRET);
      const create = (i: number) =>
        fetch(`${service.url}/trpc/features.create`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify({ name: `Live ${i}` }),
        }).then((res) => {
          if (!res.ok) throw new Error(`create failed: ${res.status}`);
        });
      await create(-1); // the organization's row, and a warm service

      // Warm up the stream path at full scale: open as many streams as are measured, close them, and wait
      // until the service has let every one go. The process's resident memory then already holds whatever
      // opening 1,000 streams leaves behind when they are gone (allocator arenas, V8 pages, the new space
      // grown by the burst), so the difference below is what the open streams hold, not that high-water
      // mark (with 50 warm-up streams only, runs of one build measured 65 to 119 KB RSS per stream for the same 86 KB of heap).
      const warm = await Promise.all(Array.from({ length: WARM_STREAMS }, () => openStream(service.url, token)));
      await openStreams(OPEN_STREAMS, token).then((streams) => streams.forEach((s) => s.close()));
      await untilOpen(WARM_STREAMS);
      await sleep(300);
      const before = await settledMemory();
      const open = await openStreams(OPEN_STREAMS, token);
      await sleep(1_000);
      // The streams are open on the service (its gauge), not only on this side.
      await untilOpen(WARM_STREAMS + OPEN_STREAMS);
      const after = await settledMemory();
      for (const s of [...open, ...warm]) s.close();
      await untilOpen(0);
      const memory = {
        openStreams: OPEN_STREAMS,
        rssBytesPerStream: (after.rss - before.rss) / OPEN_STREAMS,
        heapBytesPerStream: (after.heap - before.heap) / OPEN_STREAMS,
      };
      log(`live: ${OPEN_STREAMS} open streams: ${(memory.rssBytesPerStream / 1024).toFixed(1)} KB RSS, ${(memory.heapBytesPerStream / 1024).toFixed(1)} KB heap each`);
      await sleep(500);
      log(`live: ${SUBSCRIBERS} subscribers, ${EVENTS} creates (${WRITE_CONCURRENCY} at a time)`);
      const subscribers = await Promise.all(Array.from({ length: SUBSCRIBERS }, () => openStream(service.url, token)));
      await sleep(200);
      const started = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: WRITE_CONCURRENCY }, async () => {
          while (next < EVENTS) await create(next++);
        }),
      );
      const written = performance.now();
      while (subscribers.some((s) => s.received < EVENTS)) {
        if (performance.now() - written > 60_000) throw new Error("events not delivered within 60 s of the last write");
        await sleep(5);
      }
      const delivered = performance.now();
      for (const s of subscribers) s.close();
      const seconds = (delivered - started) / 1000;
      const delivery = {
        writesPerSecond: EVENTS / ((written - started) / 1000),
        eventsDeliveredPerSecond: (EVENTS * SUBSCRIBERS) / seconds,
        lastWriteToLastDeliveryMs: delivered - written,
      };
      log(`live: ${delivery.eventsDeliveredPerSecond.toFixed(0)} events/s delivered, ${delivery.writesPerSecond.toFixed(0)} writes/s`);

      return { subscribers: SUBSCRIBERS, events: EVENTS, ...delivery, ...memory };
    } finally {
      await stopServiceProcess(service);
    }
  } finally {
    await database.drop();
  }
}

/** The section of bench/results/.../live.md. */
export function liveReport(results: LiveBenchResults): string {
  const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
  return [
    "# Live updates (features.onChange)",
    "",
    "One service process on PostgreSQL; streams read as raw SSE over loopback (see bench/live.ts). Memory: after a full GC, with",
    `${results.openStreams} more idle streams open than before; before: after ${results.openStreams} streams were opened and closed (a warm-up at the same scale).`,
    "",
    "| measure | value |",
    "| --- | --- |",
    `| events delivered per second (${results.events} creates x ${results.subscribers} subscribers) | ${results.eventsDeliveredPerSecond.toFixed(0)} |`,
    `| creates per second while delivering | ${results.writesPerSecond.toFixed(0)} |`,
    `| last create to last delivery | ${results.lastWriteToLastDeliveryMs.toFixed(0)} ms |`,
    `| memory per open stream at ${results.openStreams} streams (RSS) | ${kb(results.rssBytesPerStream)} (target: at most 50 KB) |`,
    `| memory per open stream at ${results.openStreams} streams (V8 heap) | ${kb(results.heapBytesPerStream)} |`,
    "",
  ].join("\n");
}

export async function writeLiveReport(outDir: string, results: LiveBenchResults): Promise<void> {
  await writeFile(path.join(outDir, "live.json"), JSON.stringify(results, null, 2));
  await writeFile(path.join(outDir, "live.md"), liveReport(results));
}
