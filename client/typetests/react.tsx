/** The React entry: typed queryOptions/mutationOptions for TanStack Query. Must pass `tsc --noEmit`. */
import { QueryClient, QueryClientProvider, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { createKuarkClient, createKuarkOptionsProxy, TRPCProvider, useTRPC } from "@kuark/features-client/react";
import type { Feature, FeaturePage } from "@kuark/features-client/react";

const queryClient = new QueryClient();
const kuark = createKuarkClient({ url: "/trpc", getToken: () => localStorage.getItem("token") });

function Features() {
  const trpc = useTRPC();
  const client = useQueryClient();
  const list = useQuery(trpc.features.list.queryOptions({ page: 1, search: "dark" }));
  const page: FeaturePage | undefined = list.data;
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
