/**
 * The SSE subscription handler (server/http/sse-subscriptions.ts) against tRPC's own adapter: one small
 * router served both ways, the same requests, the same bytes (pings aside, whose timing differs by up to
 * one tick), the same headers; and what it does not take (other procedures, batches, bad
 * connectionParams) still reaches tRPC's adapter.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { TRPCError, initTRPC, tracked } from "@trpc/server";
import * as trpcExpress from "@trpc/server/adapters/express";
import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createSseSubscriptionHandler } from "../../server/trpc/fast-path/sse.js";

interface Ctx {
  user: string | undefined;
}
const t = initTRPC.context<Ctx>().create({
  sse: { ping: { enabled: true, intervalMs: 60 }, client: { reconnectAfterInactivityMs: 180 } },
  errorFormatter: ({ shape, ctx }) => ({ ...shape, data: { ...shape.data, stack: undefined, user: ctx?.user ?? null } }),
});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Generators' `finally` blocks that ran (a client leaving must end them). */
const finished: string[] = [];

const router = t.router({
  hello: t.procedure.query(() => "hi"),
  events: t.procedure.input(z.object({ from: z.number().int(), lastEventId: z.string().nullish() }).optional()).subscription(async function* ({ input }) {
    let i = input?.lastEventId ? Number(input.lastEventId) : (input?.from ?? 0);
    yield tracked(String(++i), { n: i, text: "line\nbreak \u2028 \"quoted\"" });
    yield tracked(String(++i), { n: i });
    yield { untracked: true };
    await sleep(150); // idle: pings
    yield tracked(String(++i), { n: i });
  }),
  fails: t.procedure.subscription(async function* () {
    yield tracked("1", "first");
    await sleep(1);
    throw new TRPCError({ code: "CONFLICT", message: "boom" });
  }),
  private: t.procedure
    .use(({ ctx, next }) => {
      if (!ctx.user) throw new TRPCError({ code: "UNAUTHORIZED", message: "who are you" });
      return next();
    })
    .subscription(async function* () {
      await sleep(1);
      yield "secret";
    }),
  forever: t.procedure.subscription(async function* ({ signal }) {
    try {
      yield tracked("1", "open");
      await new Promise((resolve) => signal?.addEventListener("abort", resolve, { once: true }));
    } finally {
      finished.push("forever");
    }
  }),
  unserializable: t.procedure.subscription(async function* () {
    try {
      await sleep(1);
      yield tracked("1", 1n);
      yield "never sent";
    } finally {
      finished.push("unserializable");
    }
  }),
  untrackedOnly: t.procedure.subscription(async function* () {
    yield 1;
    await sleep(1);
    yield "two";
  }),
});

type ErrorOf = { error: TRPCError; path: string | undefined; type: string; input: unknown };
function serve(withHandler: boolean, errors: ErrorOf[]): Promise<{ url: string; server: Server }> {
  const app = express();
  const createContext = ({ req }: { req: express.Request }): Ctx => ({ user: typeof req.headers["x-user"] === "string" ? req.headers["x-user"] : undefined });
  const onError = ({ error, path, type, input }: ErrorOf) => void errors.push({ error, path, type, input });
  if (withHandler) app.use("/trpc", createSseSubscriptionHandler({ router, createContext, onError }));
  app.use("/trpc", trpcExpress.createExpressMiddleware({ router, createContext, onError }));
  return new Promise((resolve) => {
    const server = app.listen(0, "127.0.0.1", () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server }));
  });
}

async function raw(url: string, init: RequestInit = {}) {
  const res = await fetch(url, { ...init, headers: { accept: "text/event-stream", ...init.headers } });
  const headers = Object.fromEntries([...res.headers].filter(([key]) => !["date", "keep-alive", "transfer-encoding", "content-length", "etag"].includes(key)));
  return { status: res.status, headers, text: await res.text() };
}
/** Runs of pings count as one: their number depends on timer phase. */
const withoutPingTiming = (text: string) => text.replace(/(event: ping\ndata: \n\n\n)+/g, "<pings>");

let ours: { url: string; server: Server };
let theirs: { url: string; server: Server };
const ourErrors: ErrorOf[] = [];
const theirErrors: ErrorOf[] = [];
beforeAll(async () => {
  ours = await serve(true, ourErrors);
  theirs = await serve(false, theirErrors);
});
afterAll(() => {
  ours.server.close();
  theirs.server.close();
});

async function both(path: string, init: RequestInit = {}) {
  const [a, b] = await Promise.all([raw(`${ours.url}${path}`, init), raw(`${theirs.url}${path}`, init)]);
  return { ours: a, theirs: b };
}

describe("SSE subscriptions: the same wire as tRPC's adapter", () => {
  it("tracked and untracked events, restore-id, pings while idle, and the return event", async () => {
    const { ours: a, theirs: b } = await both("/trpc/events");
    expect(a.status).toBe(200);
    expect(a.headers).toEqual(b.headers);
    expect(a.headers["content-type"]).toBe("text/event-stream");
    expect(a.text).toContain("event: ping");
    expect(withoutPingTiming(a.text)).toBe(withoutPingTiming(b.text));
    expect(a.text).toMatch(/^event: connected\ndata: \{"reconnectAfterInactivityMs":180\}\n\n\n/);
    expect(a.text.endsWith("event: return\ndata: \n\n\n")).toBe(true);
  });

  it("input from the query, and lastEventId from the header or the query, as the adapter merges them", async () => {
    const input = `?input=${encodeURIComponent(JSON.stringify({ from: 40 }))}`;
    for (const [path, headers] of [
      [`/trpc/events${input}`, {}],
      [`/trpc/events${input}`, { "last-event-id": "7" }],
      [`/trpc/events${input}&lastEventId=9`, {}],
      ["/trpc/events?Last-Event-Id=3", {}],
    ] as const) {
      const { ours: a, theirs: b } = await both(path, { headers });
      expect(withoutPingTiming(a.text)).toBe(withoutPingTiming(b.text));
    }
  });

  it("errors: thrown by the stream, by a middleware, and invalid input, as serialized-error events told to onError", async () => {
    for (const [path, headers] of [
      ["/trpc/fails", {}],
      ["/trpc/private", {}],
      ["/trpc/private", { "x-user": "ann" }],
      [`/trpc/events?input=${encodeURIComponent(JSON.stringify({ from: "x" }))}`, {}],
      ["/trpc/events?input=%7Bnot-json", {}],
      ["/trpc/untrackedOnly", {}],
      ["/trpc/unserializable", {}],
    ] as const) {
      ourErrors.length = 0;
      theirErrors.length = 0;
      const { ours: a, theirs: b } = await both(path, { headers });
      expect(a.status).toBe(b.status);
      expect(withoutPingTiming(a.text)).toBe(withoutPingTiming(b.text));
      // tRPC's adapter tells onError twice about an error thrown before the stream starts; once is enough.
      expect(ourErrors.map((e) => [e.error.code, e.path, e.type])).toEqual([...new Map(theirErrors.map((e) => [e.error.code, [e.error.code, e.path, e.type]])).values()]);
    }
    // The stream whose event could not be serialized was ended, both ways.
    expect(finished.filter((f) => f === "unserializable")).toHaveLength(2);
  });

  it("leaves everything else to tRPC's adapter: queries, batches, JSON lines, unknown paths, bad connectionParams", async () => {
    for (const [path, headers] of [
      ["/trpc/hello", {}],
      ["/trpc/events?batch=1", {}],
      ["/trpc/events,events?batch=1", {}],
      ["/trpc/events", { "trpc-accept": "application/jsonl" }],
      ["/trpc/nope", {}],
      ["/trpc/events?connectionParams=%7Bbad", {}],
      ["/trpc/events?connectionParams=%7B%22a%22%3A1%7D", {}],
    ] as const) {
      const { ours: a, theirs: b } = await both(path, { headers });
      expect([path, a.status, a.headers["content-type"]]).toEqual([path, b.status, b.headers["content-type"]]);
      expect(withoutPingTiming(a.text)).toBe(withoutPingTiming(b.text));
    }
  });

  it("a client that leaves ends the stream's generator", async () => {
    const controller = new AbortController();
    const res = await fetch(`${ours.url}/trpc/forever`, { headers: { accept: "text/event-stream" }, signal: controller.signal });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let text = "";
    while (!text.includes("id: 1")) text += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    for (let i = 0; i < 100 && !finished.includes("forever"); i++) await sleep(10);
    expect(finished).toContain("forever");
  });
});
