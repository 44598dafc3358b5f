import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink } from "@trpc/client";
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
  /**
   * The EventSource subscriptions use; defaults to the global one (browsers, Node.js 22+). On Node.js 20
   * pass a ponyfill, e.g. `EventSource` from the `eventsource` package.
   */
  EventSource?: SubscriptionLinkOptions["EventSource"];
}

/** Any EventSource constructor tRPC accepts (the global one, or a ponyfill's). */
type SubscriptionLinkOptions = Parameters<typeof httpSubscriptionLink>[0];

/** The typed client: `client.features.list.query({ page: 1 })`, `client.features.create.mutate({ name })`. */
export type KuarkClient = TRPCClient<AppRouter>;

/**
 * Creates a typed client for the Kuark Features service: queries and mutations over tRPC's batching HTTP
 * link, subscriptions (`features.onChange`) over Server-Sent Events (`httpSubscriptionLink`), which
 * reconnects by itself and resumes from the last event it received.
 */
export function createKuarkClient(options: KuarkClientOptions): KuarkClient {
  return createTRPCClient<AppRouter>({
    links: [splitLink({ condition: (op) => op.type === "subscription", true: kuarkSubscriptionLink(options), false: kuarkHttpLink(options) })],
  });
}

/**
 * The subscription link `createKuarkClient` uses. The token travels in tRPC's `connectionParams`
 * (`{ token }`): a browser's EventSource cannot send an Authorization header. It is read again at every
 * (re)connection, so a refreshed token is picked up; the service never logs it.
 */
export function kuarkSubscriptionLink(options: KuarkClientOptions) {
  const { url, getToken, EventSource } = options;
  return httpSubscriptionLink<AppRouter, NonNullable<SubscriptionLinkOptions["EventSource"]>>({
    url,
    ...(EventSource && { EventSource }),
    async connectionParams() {
      const token = getToken ? await getToken() : undefined;
      return token ? { token } : {};
    },
  });
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
