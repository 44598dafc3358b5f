/**
 * Every terminating link of `@trpc/client` against a real listening server (issue 13, acceptance 2):
 * `httpLink`, `httpBatchLink` and `httpBatchStreamLink` drive queries, mutations, batching and errors;
 * `httpSubscriptionLink` drives `features.onChange` over SSE (the `eventsource` ponyfill: Node.js 20 has
 * no EventSource). Each link's `fetch` is a counting one, so the tests see how many HTTP requests went
 * out and for which procedures.
 *
 * The cases live in `describeLinks(label, start)`, so the same cases can run against another server
 * variant: call it again with a `start` that returns that server's tRPC endpoint. Tokens are signed with
 * the test secret (`tokenFor`), which the server must accept.
 */
import { randomUUID } from "node:crypto";
import { createTRPCClient, httpBatchLink, httpBatchStreamLink, httpLink, httpSubscriptionLink, splitLink, TRPCClientError } from "@trpc/client";
import type { TRPCClient, TRPCLink } from "@trpc/client";
import { EventSource } from "eventsource";
import type { FetchLike } from "eventsource";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AppRouter } from "../../server/trpc/app-router.js";
import { testConfig, tokenFor } from "../support/app.js";
import { useTestApp } from "../support/fixtures.js";

/** A server to run the cases against. */
interface LinkTarget {
  /** Its tRPC endpoint, e.g. `http://127.0.0.1:4321/trpc`. */
  url: string;
  /** Stops what `start` started (the default server is stopped by its fixture). */
  close?: () => Promise<void>;
}

type QueryLinkName = "httpLink" | "httpBatchLink" | "httpBatchStreamLink";
type LinkName = QueryLinkName | "httpSubscriptionLink";
const ALL_LINKS: readonly LinkName[] = ["httpLink", "httpBatchLink", "httpBatchStreamLink", "httpSubscriptionLink"];

type LinkFetch = NonNullable<Parameters<typeof httpLink>[0]["fetch"]>;
interface LinkOptions {
  url: string;
  fetch: LinkFetch;
  headers: Record<string, string>;
}

/** The links for queries and mutations, and whether they put the calls of one tick into one request. */
const queryLinks: Record<QueryLinkName, { batches: boolean; make: (options: LinkOptions) => TRPCLink<AppRouter> }> = {
  httpLink: { batches: false, make: (options) => httpLink<AppRouter>(options) },
  httpBatchLink: { batches: true, make: (options) => httpBatchLink<AppRouter>(options) },
  httpBatchStreamLink: { batches: true, make: (options) => httpBatchStreamLink<AppRouter>(options) },
};

/** One HTTP request a link sent: its method, the procedures in its path, whether it was a batch. */
interface SentRequest {
  method: string;
  procedures: string[];
  batch: boolean;
}

/** A `fetch` for a link that records every request it sends (relative to the tRPC endpoint `base`). */
function countingFetch(base: string) {
  const basePath = new URL(base).pathname.replace(/\/$/, "");
  const sent: SentRequest[] = [];
  const record = (input: string | URL | Request, method: string | undefined) => {
    const url = new URL(typeof input === "string" || input instanceof URL ? input : input.url);
    const path = decodeURIComponent(url.pathname);
    expect(path.startsWith(`${basePath}/`)).toBe(true);
    sent.push({ method: method ?? "GET", procedures: path.slice(basePath.length + 1).split(","), batch: url.searchParams.get("batch") === "1" });
  };
  const fetchImpl = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    record(input, init?.method);
    return fetch(input, init);
  };
  return {
    sent,
    fetch: fetchImpl,
    reset: () => {
      sent.length = 0;
    },
  };
}

/** A fresh organization (so tests never see each other's rows) and a token for `sub` in it. */
function newOrg(sub = "alice") {
  const org = `links-${process.pid}-${randomUUID().slice(0, 8)}`;
  return { org, sub, token: tokenFor(sub, org) };
}

/** The TRPCClientError `promise` rejects with (the test fails if it resolves or rejects with anything else). */
async function failure(promise: Promise<unknown>): Promise<TRPCClientError<AppRouter>> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TRPCClientError);
  return error as TRPCClientError<AppRouter>;
}

/** The error of a settled call that must have failed. */
function rejected(result: PromiseSettledResult<unknown> | undefined): TRPCClientError<AppRouter> {
  expect(result?.status).toBe("rejected");
  const reason = (result as PromiseRejectedResult).reason as unknown;
  expect(reason).toBeInstanceOf(TRPCClientError);
  return reason as TRPCClientError<AppRouter>;
}

/** The value of a settled call that must have succeeded. */
function fulfilled<T>(result: PromiseSettledResult<T> | undefined): T {
  if (result?.status !== "fulfilled") throw new Error(`expected the call to succeed, it failed: ${String(result?.reason)}`);
  return result.value;
}

async function until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function describeLinks(label: string, start: () => Promise<LinkTarget>, options: { links?: readonly LinkName[] } = {}) {
  const links = options.links ?? ALL_LINKS;

  describe(`tRPC client links against ${label}`, () => {
    let target: LinkTarget | undefined;
    beforeAll(async () => {
      target = await start();
    });
    afterAll(async () => {
      await target?.close?.();
    });
    const url = () => {
      if (!target) throw new Error("the server is available inside tests only (after beforeAll)");
      return target.url;
    };

    for (const name of links) {
      if (name === "httpSubscriptionLink") continue;
      const { batches, make } = queryLinks[name];

      describe(name, () => {
        /** A client over this link alone, with a token (or none), and the requests it sends. */
        function clientFor(token: string | undefined): { client: TRPCClient<AppRouter>; sent: SentRequest[]; reset: () => void } {
          const counter = countingFetch(url());
          const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
          const client = createTRPCClient<AppRouter>({ links: [make({ url: url(), fetch: counter.fetch, headers })] });
          return { client, sent: counter.sent, reset: counter.reset };
        }

        /** What the link sends for calls made in one tick: one batch request, or one plain request per call. */
        function expectRequests(sent: SentRequest[], method: "GET" | "POST", procedures: string[]) {
          if (batches) {
            expect(sent).toEqual([{ method, procedures, batch: true }]);
          } else {
            const sortedSent = [...sent].sort((a, b) => a.procedures.join().localeCompare(b.procedures.join()));
            const expected = procedures.map((p) => ({ method, procedures: [p], batch: false })).sort((a, b) => a.procedures.join().localeCompare(b.procedures.join()));
            expect(sortedSent).toEqual(expected);
          }
        }

        it("queries and mutations: create, byId, list, update, delete, auth.me, one request each", async () => {
          const owner = newOrg("alice");
          const { client, sent } = clientFor(owner.token);

          const created = await client.features.create.mutate({ name: `Dark mode ${name}`, description: "Night theme" });
          expect(created.id).toMatch(UUID);
          expect(created).toMatchObject({ name: `Dark mode ${name}`, description: "Night theme", status: "ACTIVE", organizationId: owner.org });
          expect(sent).toEqual([{ method: "POST", procedures: ["features.create"], batch: batches }]);

          const read = await client.features.byId.query({ id: created.id });
          expect(read).toEqual(created);

          const page = await client.features.list.query({ search: "dark" });
          expect(page.pagination.total).toBe(1);
          expect(page.data.map((f) => f.id)).toEqual([created.id]);

          const updated = await client.features.update.mutate({ id: created.id, data: { name: "Light mode", status: "INACTIVE" } });
          expect(updated).toMatchObject({ id: created.id, name: "Light mode", status: "INACTIVE", description: "Night theme" });

          const me = await client.auth.me.query();
          expect(me).toMatchObject({ sub: "alice", organizationId: owner.org });

          expect(await client.features.delete.mutate({ id: created.id })).toEqual({ id: created.id });
          expect((await client.features.list.query({})).pagination.total).toBe(0);

          expect(sent).toEqual([
            { method: "POST", procedures: ["features.create"], batch: batches },
            { method: "GET", procedures: ["features.byId"], batch: batches },
            { method: "GET", procedures: ["features.list"], batch: batches },
            { method: "POST", procedures: ["features.update"], batch: batches },
            { method: "GET", procedures: ["auth.me"], batch: batches },
            { method: "POST", procedures: ["features.delete"], batch: batches },
            { method: "GET", procedures: ["features.list"], batch: batches },
          ]);
        });

        it(batches ? "sends the queries of one tick as ONE request, and the mutations of one tick as one more" : "sends one request per call, even for calls made in one tick", async () => {
          const owner = newOrg("bob");
          const { client, sent, reset } = clientFor(owner.token);

          const [a, b, c] = await Promise.all([
            client.features.create.mutate({ name: "Alpha" }),
            client.features.create.mutate({ name: "Beta" }),
            client.features.create.mutate({ name: "Gamma", status: "INACTIVE" }),
          ]);
          expect([a.name, b.name, c.name]).toEqual(["Alpha", "Beta", "Gamma"]);
          expect(new Set([a.id, b.id, c.id]).size).toBe(3);
          expectRequests(sent, "POST", ["features.create", "features.create", "features.create"]);

          reset();
          const [me, byIdB, list, inactive] = await Promise.all([
            client.auth.me.query(),
            client.features.byId.query({ id: b.id }),
            client.features.list.query({}),
            client.features.list.query({ status: "INACTIVE" }),
          ]);
          expect(me).toMatchObject({ sub: "bob", organizationId: owner.org });
          expect(byIdB).toEqual(b);
          expect(list.data.map((f) => f.name).sort()).toEqual(["Alpha", "Beta", "Gamma"]);
          expect(list.pagination.total).toBe(3);
          expect(inactive.data.map((f) => f.id)).toEqual([c.id]);
          expectRequests(sent, "GET", ["auth.me", "features.byId", "features.list", "features.list"]);
        });

        it("BAD_REQUEST names the field in data.fieldErrors", async () => {
          const { client, sent } = clientFor(newOrg().token);
          const error = await failure(client.features.create.mutate({ name: "x" }));
          expect(error.message).toBe("Invalid input");
          expect(error.data).toMatchObject({ code: "BAD_REQUEST", httpStatus: 400, path: "features.create" });
          expect(error.data?.fieldErrors).toEqual({ name: ["must be at least 2 characters"] });

          const nested = await failure(client.features.update.mutate({ id: "not-a-uuid", data: { name: "y" } }));
          expect(nested.data?.code).toBe("BAD_REQUEST");
          expect(Object.keys(nested.data?.fieldErrors ?? {}).sort()).toEqual(["data.name", "id"]);
          expect(nested.data?.fieldErrors?.["data.name"]).toEqual(["must be at least 2 characters"]);
          expect(sent).toEqual([
            { method: "POST", procedures: ["features.create"], batch: batches },
            { method: "POST", procedures: ["features.update"], batch: batches },
          ]);
        });

        it("NOT_FOUND for an unknown id, and for another organization's feature", async () => {
          const owner = newOrg();
          const { client } = clientFor(owner.token);
          const unknown = await failure(client.features.byId.query({ id: randomUUID() }));
          expect(unknown.message).toBe("Feature not found");
          expect(unknown.data).toMatchObject({ code: "NOT_FOUND", httpStatus: 404, path: "features.byId" });
          expect(unknown.data?.fieldErrors).toBeUndefined();

          const mine = await client.features.create.mutate({ name: "Mine" });
          const stranger = clientFor(newOrg("eve").token).client;
          const theirs = await failure(stranger.features.byId.query({ id: mine.id }));
          expect(theirs.data).toMatchObject({ code: "NOT_FOUND", httpStatus: 404 });
          expect((await failure(stranger.features.delete.mutate({ id: mine.id }))).data?.code).toBe("NOT_FOUND");
          expect(await client.features.byId.query({ id: mine.id })).toEqual(mine);
        });

        it("UNAUTHORIZED without a token, or with a bad one, for every call of a batch", async () => {
          const { client, sent } = clientFor(undefined);
          const [me, list, create] = await Promise.allSettled([client.auth.me.query(), client.features.list.query({}), client.features.create.mutate({ name: "Nobody's" })]);
          for (const [result, path] of [
            [me, "auth.me"],
            [list, "features.list"],
            [create, "features.create"],
          ] as const) {
            const error = rejected(result);
            expect(error.message).toBe("Invalid or missing credentials");
            expect(error.data).toMatchObject({ code: "UNAUTHORIZED", httpStatus: 401, path });
          }
          // Queries and mutations go in separate batches.
          expect(sent.length).toBe(batches ? 2 : 3);

          const forged = clientFor(`${newOrg().token}x`).client;
          expect((await failure(forged.auth.me.query())).data).toMatchObject({ code: "UNAUTHORIZED", httpStatus: 401 });
        });

        it("a mixed batch: each call gets its own result or error", async () => {
          const owner = newOrg();
          const { client, sent, reset } = clientFor(owner.token);
          const existing = await client.features.create.mutate({ name: "Existing" });
          reset();

          const missing = randomUUID();
          const queries = await Promise.allSettled([
            client.features.byId.query({ id: existing.id }),
            client.features.byId.query({ id: missing }),
            client.auth.me.query(),
            client.features.byId.query({ id: "not-a-uuid" }),
            client.features.list.query({}),
          ]);
          expect(fulfilled(queries[0])).toEqual(existing);
          expect(rejected(queries[1]).data).toMatchObject({ code: "NOT_FOUND", httpStatus: 404, path: "features.byId" });
          expect(fulfilled(queries[2])).toMatchObject({ sub: "alice", organizationId: owner.org });
          const invalid = rejected(queries[3]);
          expect(invalid.data).toMatchObject({ code: "BAD_REQUEST", httpStatus: 400, path: "features.byId" });
          expect(Object.keys(invalid.data?.fieldErrors ?? {})).toEqual(["id"]);
          expect(fulfilled(queries[4]).data.map((f) => f.id)).toEqual([existing.id]);
          expectRequests(sent, "GET", ["features.byId", "features.byId", "auth.me", "features.byId", "features.list"]);

          reset();
          const mutations = await Promise.allSettled([
            client.features.create.mutate({ name: "Fine" }),
            client.features.create.mutate({ name: "x" }),
            client.features.update.mutate({ id: missing, data: { name: "Ghost" } }),
            client.features.update.mutate({ id: existing.id, data: { status: "INACTIVE" } }),
          ]);
          const fine = fulfilled(mutations[0]);
          expect(fine).toMatchObject({ name: "Fine", status: "ACTIVE", organizationId: owner.org });
          const short = rejected(mutations[1]);
          expect(short.data).toMatchObject({ code: "BAD_REQUEST", httpStatus: 400, path: "features.create" });
          expect(short.data?.fieldErrors).toEqual({ name: ["must be at least 2 characters"] });
          expect(rejected(mutations[2]).data).toMatchObject({ code: "NOT_FOUND", httpStatus: 404, path: "features.update" });
          expect(fulfilled(mutations[3])).toMatchObject({ id: existing.id, name: "Existing", status: "INACTIVE" });
          expectRequests(sent, "POST", ["features.create", "features.create", "features.update", "features.update"]);

          // Only the calls that succeeded wrote anything.
          const after = await client.features.list.query({});
          expect(after.data.map((f) => [f.name, f.status]).sort()).toEqual([
            ["Existing", "INACTIVE"],
            ["Fine", "ACTIVE"],
          ]);
        });
      });
    }

    if (links.includes("httpSubscriptionLink")) {
      describe("httpSubscriptionLink", () => {
        interface Received {
          id: string;
          type: string;
          feature: { id: string; name: string };
        }
        /** A subscription's SSE requests: their URLs and headers. */
        interface SseRequest {
          url: URL;
          headers: Record<string, string>;
        }

        /**
         * A client whose subscriptions go over `httpSubscriptionLink` (the token in `connectionParams`, or
         * in an Authorization header through the ponyfill's `fetch`) and the rest over `httpLink`.
         */
        function subscriptionClient(token: string | undefined, via: "connectionParams" | "header") {
          const sse: SseRequest[] = [];
          const sseFetch: FetchLike = (input, init) => {
            const headers = via === "header" && token !== undefined ? { ...init.headers, authorization: `Bearer ${token}` } : init.headers;
            sse.push({ url: new URL(input), headers });
            return fetch(input, { ...init, headers });
          };
          const client = createTRPCClient<AppRouter>({
            links: [
              splitLink({
                condition: (op) => op.type === "subscription",
                true: httpSubscriptionLink<AppRouter, typeof EventSource>({
                  url: url(),
                  EventSource,
                  eventSourceOptions: { fetch: sseFetch },
                  ...(via === "connectionParams" && { connectionParams: () => (token === undefined ? {} : { token }) }),
                }),
                false: httpLink<AppRouter>({ url: url(), headers: token === undefined ? {} : { authorization: `Bearer ${token}` } }),
              }),
            ],
          });
          return { client, sse };
        }

        function subscribe(client: TRPCClient<AppRouter>, input?: { status?: "ACTIVE" | "INACTIVE"; search?: string }) {
          const state = {
            received: [] as Received[],
            started: false,
            error: undefined as TRPCClientError<AppRouter> | undefined,
          };
          const subscription = client.features.onChange.subscribe(input, {
            onStarted: () => (state.started = true),
            onData: (envelope) => {
              state.received.push({ id: envelope.id, type: envelope.data.type, feature: envelope.data.feature });
            },
            onError: (error) => {
              state.error = error;
            },
          });
          return {
            state,
            stop: () => subscription.unsubscribe(),
            async started() {
              await until(() => state.started || state.error !== undefined, "the stream to start");
              expect(state.error).toBeUndefined();
              // The hub registers the subscriber before the stream's first read; give the server that turn.
              await new Promise((resolve) => setTimeout(resolve, 100));
            },
          };
        }

        for (const via of ["connectionParams", "header"] as const) {
          it(`features.onChange receives a created event for a create made meanwhile (token in ${via === "header" ? "the Authorization header" : "connectionParams"})`, async () => {
            const owner = newOrg();
            const { client, sse } = subscriptionClient(owner.token, via);
            const subscription = subscribe(client);
            try {
              await subscription.started();
              const other = newOrg("mallory");
              await subscriptionClient(other.token, "connectionParams").client.features.create.mutate({ name: "Not yours" });
              const created = await client.features.create.mutate({ name: `Live via ${via}` });
              await until(() => subscription.state.received.length >= 1 || subscription.state.error !== undefined, "a change");
              await new Promise((resolve) => setTimeout(resolve, 200)); // anything extra would arrive by now
              expect(subscription.state.error).toBeUndefined();
              expect(subscription.state.received).toHaveLength(1);
              const [event] = subscription.state.received;
              expect(event?.id).toMatch(/^\d+$/);
              expect(event?.type).toBe("created");
              expect(event?.feature).toEqual(created);

              // One SSE request, a GET of the procedure, carrying the token the way it was told to.
              expect(sse).toHaveLength(1);
              const [request] = sse;
              expect(decodeURIComponent(request?.url.pathname ?? "")).toBe(`${new URL(url()).pathname.replace(/\/$/, "")}/features.onChange`);
              if (via === "connectionParams") {
                expect(JSON.parse(request?.url.searchParams.get("connectionParams") ?? "null")).toEqual({ token: owner.token });
                expect(request?.headers.authorization).toBeUndefined();
              } else {
                expect(request?.url.searchParams.has("connectionParams")).toBe(false);
                expect(request?.headers.authorization).toBe(`Bearer ${owner.token}`);
              }
            } finally {
              subscription.stop();
            }
          });
        }

        it("filters on its input: only the matching feature's events arrive", async () => {
          const owner = newOrg();
          const { client } = subscriptionClient(owner.token, "connectionParams");
          const subscription = subscribe(client, { status: "INACTIVE", search: "beta" });
          try {
            await subscription.started();
            await client.features.create.mutate({ name: "Beta active" });
            const wanted = await client.features.create.mutate({ name: "Beta inactive", status: "INACTIVE" });
            await until(() => subscription.state.received.length >= 1 || subscription.state.error !== undefined, "a change");
            await new Promise((resolve) => setTimeout(resolve, 200));
            expect(subscription.state.received.map((e) => [e.type, e.feature.id])).toEqual([["created", wanted.id]]);
          } finally {
            subscription.stop();
          }
        });

        it("errors with UNAUTHORIZED without a token, and receives nothing", async () => {
          for (const via of ["connectionParams", "header"] as const) {
            const { client } = subscriptionClient(undefined, via);
            const subscription = subscribe(client);
            try {
              await until(() => subscription.state.error !== undefined, `an error (token via ${via})`);
              const error = subscription.state.error;
              expect(error).toBeInstanceOf(TRPCClientError);
              expect(error?.message).toBe("Invalid or missing credentials");
              expect(error?.data).toMatchObject({ code: "UNAUTHORIZED", httpStatus: 401, path: "features.onChange" });
              expect(subscription.state.received).toEqual([]);
            } finally {
              subscription.stop();
            }
          }
        });

        it("errors with BAD_REQUEST naming the field for an invalid input", async () => {
          const { client } = subscriptionClient(newOrg().token, "connectionParams");
          const subscription = subscribe(client, { status: "MAYBE" as "ACTIVE" });
          try {
            await until(() => subscription.state.error !== undefined, "an error");
            expect(subscription.state.error?.data).toMatchObject({ code: "BAD_REQUEST", httpStatus: 400, path: "features.onChange" });
            expect(Object.keys(subscription.state.error?.data?.fieldErrors ?? {})).toEqual(["status"]);
          } finally {
            subscription.stop();
          }
        });
      });
    }
  });
}

// The service's Express app as it runs: plain JSON calls answered by the lean adapter
// (server/trpc/json-adapter.ts), streamed batches and subscriptions by tRPC's Express adapter.
const t = useTestApp({ server: true });
describeLinks("the Express app (/trpc)", () => Promise.resolve({ url: `${t.server.url}/trpc` }));

// The same app with tRPC's Express adapter answering everything (TRPC_FAST_PATHS=false).
const official = useTestApp({ server: true, config: testConfig({ TRPC_FAST_PATHS: "false" }) });
describeLinks("the Express app with tRPC's adapter only", () => Promise.resolve({ url: `${official.server.url}/trpc` }));
