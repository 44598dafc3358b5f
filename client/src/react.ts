/**
 * `@kuark/features-client/react`: TanStack Query bindings through `@trpc/tanstack-react-query`.
 * @example
 * const kuark = createKuarkClient({ url, getToken });
 * <QueryClientProvider client={queryClient}>
 *   <TRPCProvider trpcClient={kuark} queryClient={queryClient}><App /></TRPCProvider>
 * </QueryClientProvider>
 * // in a component:
 * const trpc = useTRPC();
 * const page = useQuery(trpc.features.list.queryOptions({ page: 1 }));
 * const create = useMutation(trpc.features.create.mutationOptions());
 * // live: refetch the list whenever a feature of the organization changes
 * useSubscription(trpc.features.onChange.subscriptionOptions(undefined, { onData: () => queryClient.invalidateQueries({ queryKey: trpc.features.list.pathKey() }) }));
 * @see https://trpc.io/docs/client/tanstack-react-query/setup
 */
import { createTRPCContext, createTRPCOptionsProxy } from "@trpc/tanstack-react-query";

/** Runs `trpc.features.onChange.subscriptionOptions(...)` for as long as the component is mounted. */
export { useSubscription } from "@trpc/tanstack-react-query";
import type { TRPCOptionsProxy } from "@trpc/tanstack-react-query";
import type { QueryClient } from "@tanstack/react-query";
import type { KuarkClient } from "./client.js";
import type { AppRouter } from "./public-types.js";

/** The typed options factory: `trpc.features.list.queryOptions(input)`, `trpc.features.create.mutationOptions()`. */
export type KuarkOptionsProxy = TRPCOptionsProxy<AppRouter>;

type KuarkTRPCContext = ReturnType<typeof createTRPCContext<AppRouter>>;

const context: KuarkTRPCContext = createTRPCContext<AppRouter>();

/** Provides the client and the QueryClient to `useTRPC()`; place it inside `QueryClientProvider`. */
export const TRPCProvider: KuarkTRPCContext["TRPCProvider"] = context.TRPCProvider;
/** The typed options factory of the nearest `TRPCProvider`. */
export const useTRPC: () => KuarkOptionsProxy = context.useTRPC;
/** The raw client of the nearest `TRPCProvider`, for imperative calls. */
export const useTRPCClient: () => KuarkClient = context.useTRPCClient;

/** The options factory outside React (route loaders, prefetching in tests): no provider needed. */
export function createKuarkOptionsProxy(options: { client: KuarkClient; queryClient: QueryClient }): KuarkOptionsProxy {
  return createTRPCOptionsProxy<AppRouter>({ client: options.client, queryClient: options.queryClient });
}

export * from "./index.js";
