/**
 * How the JSON fast path calls procedures, as tRPC's adapter does: it finds them the same way (a lazy
 * router's included) and hands them the request's abort signal, aborted when the client goes away.
 * The fast path is mounted alone here: whatever it leaves to tRPC's adapter answers 599.
 */
import type { AddressInfo } from "node:net";
import { lazy } from "@trpc/server";
import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publicProcedure, router } from "../../server/trpc/init.js";
import { createJsonAdapter } from "../../server/trpc/fast-path/json.js";
import { createSseSubscriptionHandler } from "../../server/trpc/fast-path/sse.js";
import { testConfig } from "../support/app.js";

/** What the procedures saw of their abort signal. */
const seen = { aborted: false, signalGiven: false };

const testRouter = router({
  probe: router({
    signal: publicProcedure.query(({ signal }) => ({ given: signal instanceof AbortSignal, aborted: signal?.aborted ?? null })),
    /** Waits until the client goes away (or 5 s), then says whether its signal told it so. */
    wait: publicProcedure.query(async ({ signal }) => {
      seen.signalGiven = signal instanceof AbortSignal;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 5_000);
        signal?.addEventListener("abort", () => {
          clearTimeout(timer);
          seen.aborted = true;
          resolve();
        });
      });
      return { ok: true };
    }),
  }),
  later: lazy(() => Promise.resolve(router({ ping: publicProcedure.query(() => ({ pong: true })) }))),
});

let url: string;
let close: () => Promise<void>;

beforeAll(async () => {
  const config = testConfig();
  const createContext = () => ({ config, requestId: "test" });
  const app = express().use(
    "/trpc",
    createJsonAdapter({ router: testRouter, maxBodySize: 1_000_000, maxBatchSize: 10, createContext, onError: () => {} }),
    createSseSubscriptionHandler({ router: testRouter, createContext: () => createContext() }),
    (_req: express.Request, res: express.Response) => {
      res.status(599).end("left to tRPC's adapter");
    },
  );
  const server = app.listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => server.once("listening", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/trpc`;
  close = () => new Promise<void>((resolve) => server.close(() => resolve()));
});

afterAll(async () => {
  await close?.();
});

describe("the JSON fast path", () => {
  it("gives every procedure the request's abort signal, not yet aborted while the client waits", async () => {
    const res = await fetch(`${url}/probe.signal`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ result: { data: { given: true, aborted: false } } });
  });

  it("aborts that signal when the client goes away before the answer", async () => {
    const client = new AbortController();
    const call = fetch(`${url}/probe.wait`, { signal: client.signal }).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 200));
    client.abort();
    await call;
    for (let i = 0; i < 100 && !seen.aborted; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(seen).toEqual({ aborted: true, signalGiven: true });
  });

  it("finds a procedure of a lazy router, as tRPC's adapter does, single and batched", async () => {
    const single = await fetch(`${url}/later.ping`);
    expect(single.status).toBe(200);
    expect(await single.json()).toEqual({ result: { data: { pong: true } } });
    const batch = await fetch(`${url}/later.ping,probe.signal?batch=1&input=${encodeURIComponent("{}")}`);
    expect(batch.status).toBe(200);
    expect(await batch.json()).toEqual([{ result: { data: { pong: true } } }, { result: { data: { given: true, aborted: false } } }]);
  });

  it("leaves to tRPC's adapter what it does not take: an unknown procedure", async () => {
    expect((await fetch(`${url}/later.nothing`)).status).toBe(599);
  });
});
