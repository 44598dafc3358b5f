/**
 * A frontend's correct use of every procedure and exported type. Copied into a fresh project that installs the
 * packed package and its peers only; `tsc --noEmit` must pass.
 */
import { createKuarkClient, fieldErrorsOf, isKuarkClientError, TRPCClientError } from "@kuark/features-client";
import type {
  AppRouter,
  Feature,
  FeatureCreateInput,
  FeatureInfiniteInput,
  FeatureInfinitePage,
  FeatureListInput,
  FeaturePage,
  FeatureStatus,
  FeatureUpdateInput,
  FieldErrors,
  KuarkClient,
  Me,
} from "@kuark/features-client";
import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";

const client: KuarkClient = createKuarkClient({
  url: "http://localhost:3000/trpc",
  getToken: async () => (Math.random() > 0.5 ? "token" : null),
  headers: () => ({ "x-request-id": "abc" }),
  fetch: (url, init) => globalThis.fetch(url, init as RequestInit),
});
createKuarkClient({ url: "http://localhost:3000/trpc" });
createKuarkClient({ url: "http://localhost:3000/trpc", getToken: () => undefined, headers: { "x-app": "web" } });

type Inputs = inferRouterInputs<AppRouter>;
type Outputs = inferRouterOutputs<AppRouter>;

export async function everyProcedure(): Promise<void> {
  const me: Me = await client.auth.me.query();
  const organization: string = me.organizationId;

  const createInput: FeatureCreateInput = { name: "Dark mode", description: null, status: "INACTIVE" };
  const created: Feature = await client.features.create.mutate(createInput);
  await client.features.create.mutate({ name: "Only a name" });
  // A retry with the same idempotencyKey answers the first create again (every resource's create takes one).
  const idempotencyKey: string = crypto.randomUUID();
  const once: Feature = await client.features.create.mutate({ name: "Once", idempotencyKey });
  const keyed: FeatureCreateInput = { name: "Once", idempotencyKey };
  void once;
  void keyed;
  await client.projects.create.mutate({ key: "web", name: "Web", idempotencyKey });

  const listInput: FeatureListInput = { page: 2, limit: 10, search: "dark", status: "ACTIVE" };
  const page: FeaturePage = await client.features.list.query(listInput);
  await client.features.list.query();
  await client.features.list.query({});
  const total: number = page.pagination.total;
  const names: string[] = page.data.map((feature) => feature.name);

  const firstScroll: FeatureInfinitePage = await client.features.infinite.query({ limit: 10, status: "ACTIVE" } satisfies FeatureInfiniteInput);
  if (firstScroll.nextCursor) await client.features.infinite.query({ cursor: firstScroll.nextCursor, limit: 10 });
  const scrolled: Feature[] = firstScroll.items;
  void scrolled;

  const byId: Feature = await client.features.byId.query({ id: created.id });
  const description: string | null = byId.description;
  const createdAt: string = byId.createdAt;

  const updateInput: FeatureUpdateInput = { id: created.id, data: { status: "ACTIVE", description: "new" } };
  const updated: Feature = await client.features.update.mutate(updateInput);
  const status: FeatureStatus = updated.status;

  const deleted: { id: string } = await client.features.delete.mutate({ id: created.id });

  const listOutput: Outputs["features"]["list"] = page;
  const updateData: Inputs["features"]["update"]["data"] = { name: "Renamed" };
  void [organization, total, names, description, createdAt, status, deleted, listOutput, updateData];
}

export async function errorHandling(): Promise<void> {
  try {
    await client.features.create.mutate({ name: "x" });
  } catch (error) {
    const fields: FieldErrors | undefined = fieldErrorsOf(error);
    const nameMessages: string[] | undefined = fields?.["name"];
    if (isKuarkClientError(error)) {
      const code: string | undefined = error.data?.code;
      const httpStatus: number | undefined = error.data?.httpStatus;
      const requestId: string | undefined = error.data?.requestId;
      const sameFields: Record<string, string[]> | undefined = error.data?.fieldErrors;
      if (error.data?.code === "NOT_FOUND") {
        // narrowing on the code works: it is a union of tRPC's code names
      }
      void [code, httpStatus, requestId, sameFields];
    }
    if (error instanceof TRPCClientError) {
      const message: string = error.message;
      void message;
    }
    void nameMessages;
  }
}
