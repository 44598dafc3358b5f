/** The React entry: typed queryOptions/mutationOptions for TanStack Query. Must pass `tsc --noEmit`. */
import { QueryClient, QueryClientProvider, useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { createKuarkClient, createKuarkOptionsProxy, TRPCProvider, useTRPC } from "@kuark/features-client/react";
import type { Feature, FeatureInfinitePage, FeaturePage } from "@kuark/features-client/react";

const queryClient = new QueryClient();
const kuark = createKuarkClient({ url: "/trpc", getToken: () => localStorage.getItem("token") });

function Features() {
  const trpc = useTRPC();
  const client = useQueryClient();
  const list = useQuery(trpc.features.list.queryOptions({ page: 1, search: "dark" }));
  const page: FeaturePage | undefined = list.data;
  // Infinite scroll: the cursor is managed by TanStack Query, from each page's nextCursor.
  const scroll = useInfiniteQuery(
    trpc.features.infinite.infiniteQueryOptions({ limit: 20, status: "ACTIVE" }, { getNextPageParam: (last) => last.nextCursor }),
  );
  const pages: FeatureInfinitePage[] | undefined = scroll.data?.pages;
  const scrolled: Feature[] = pages?.flatMap((p) => p.items) ?? [];
  void scrolled;
  const create = useMutation(
    trpc.features.create.mutationOptions({
      onSuccess: (feature: Feature) => client.invalidateQueries({ queryKey: trpc.features.list.queryKey() }),
    }),
  );
  const onClick = () => create.mutate({ name: "Dark mode", status: "ACTIVE" });
  // @ts-expect-error the options are typed: a number is not a valid name
  const wrong = () => create.mutate({ name: 1 });
  const fieldErrors = create.error?.data?.fieldErrors;
  void wrong;
  return (
    <ul onClick={onClick}>
      {page?.data.map((feature) => <li key={feature.id}>{feature.name}</li>)}
      {fieldErrors?.["name"]?.join(", ")}
    </ul>
  );
}

export function App() {
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={kuark} queryClient={queryClient}>
        <Features />
      </TRPCProvider>
    </QueryClientProvider>
  );
}

export async function prefetch(): Promise<Feature | undefined> {
  const trpc = createKuarkOptionsProxy({ client: kuark, queryClient });
  const page = await queryClient.fetchQuery(trpc.features.list.queryOptions({ limit: 5 }));
  return page.data[0];
}
