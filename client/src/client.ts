import { createTRPCClient, httpBatchLink } from "@trpc/client";
import type { HTTPBatchLinkOptions, HTTPHeaders, TRPCClient } from "@trpc/client";
import type { AppRouter } from "./public-types.js";

type MaybePromise<T> = T | Promise<T>;

export interface KuarkClientOptions {
  /** The service's tRPC endpoint, e.g. `http://localhost:3000/trpc`. */
  url: string;
  /**
   * Called before every request (it may be async, e.g. to refresh a token). A token is sent as
   * `Authorization: Bearer <token>`; `null`, `undefined` or `""` sends no Authorization header.
   */
  getToken?: () => MaybePromise<string | null | undefined>;
  /** Extra headers for every request, or a function computing them per request. */
  headers?: HTTPHeaders | (() => MaybePromise<HTTPHeaders>);
  /** A fetch implementation to use instead of the global one (tests, older runtimes, instrumentation). */
  fetch?: HTTPBatchLinkOptions<AppRouter["_def"]["_config"]["$types"]>["fetch"];
}

/** The typed client: `client.features.list.query({ page: 1 })`, `client.features.create.mutate({ name })`. */
export type KuarkClient = TRPCClient<AppRouter>;

/** Creates a typed client for the Kuark Features service over tRPC's batching HTTP link. */
export function createKuarkClient(options: KuarkClientOptions): KuarkClient {
  return createTRPCClient<AppRouter>({ links: [kuarkHttpLink(options)] });
}

/**
 * The HTTP link `createKuarkClient` uses, for building a client with more links (a `loggerLink` in front, say):
 * `createTRPCClient<AppRouter>({ links: [loggerLink(), kuarkHttpLink(options)] })`.
 */
export function kuarkHttpLink(options: KuarkClientOptions) {
  const { url, getToken, headers, fetch } = options;
  return httpBatchLink<AppRouter>({
    url,
    ...(fetch && { fetch }),
    async headers() {
      const extra = typeof headers === "function" ? await headers() : (headers ?? {});
      const token = getToken ? await getToken() : undefined;
      return token ? { ...extra, authorization: `Bearer ${token}` } : extra;
    },
  });
}
