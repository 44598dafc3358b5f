/**
 * Mistakes a frontend could make; each must be a type error. The test checks that `tsc` passes with the
 * `@ts-expect-error` lines (so every mistake is still an error) and fails without them.
 */
import { createKuarkClient, fieldErrorsOf } from "@kuark/features-client";
import type { Feature, FeatureCreateInput, FeatureStatus } from "@kuark/features-client";

const client = createKuarkClient({ url: "http://localhost:3000/trpc" });

export async function mistakes(feature: Feature): Promise<void> {
  // @ts-expect-error unknown procedure
  await client.features.archive.mutate({ id: feature.id });
  // @ts-expect-error unknown router
  await client.users.list.query();
  // @ts-expect-error a query has no .mutate
  await client.features.list.mutate({});
  // @ts-expect-error a mutation has no .query
  await client.features.create.query({ name: "Dark mode" });
  // @ts-expect-error name is required
  await client.features.create.mutate({ description: "no name" });
  // @ts-expect-error name must be a string
  await client.features.create.mutate({ name: 42 });
  // @ts-expect-error status is ACTIVE or INACTIVE
  await client.features.create.mutate({ name: "Dark mode", status: "ARCHIVED" });
  // @ts-expect-error unknown input field (the server rejects it too: strict objects)
  await client.features.create.mutate({ name: "Dark mode", color: "red" });
  // @ts-expect-error idempotencyKey is a string
  await client.features.create.mutate({ name: "Dark mode", idempotencyKey: 42 });
  // @ts-expect-error idempotencyKey is a create's only: an update has none
  await client.features.update.mutate({ id: feature.id, data: { name: "Renamed" }, idempotencyKey: "k" });
  // @ts-expect-error page is a number
  await client.features.list.query({ page: "2" });
  // @ts-expect-error byId needs an id
  await client.features.byId.query({});
  // @ts-expect-error update takes its changes under data
  await client.features.update.mutate({ id: feature.id, name: "Renamed" });
  // @ts-expect-error delete needs an id string
  await client.features.delete.mutate({ id: 7 });
  // @ts-expect-error Feature has no field "title"
  const title: string = feature.title;
  // @ts-expect-error createdAt is an ISO string, not a Date
  const created: Date = feature.createdAt;
  // @ts-expect-error description may be null
  const description: string = feature.description;
  const page = await client.features.list.query();
  // @ts-expect-error the page's items are under data, not items
  const items = page.items;
  // @ts-expect-error FeatureStatus is a union of two names
  const status: FeatureStatus = "DELETED";
  // @ts-expect-error FeatureCreateInput requires name
  const input: FeatureCreateInput = { status: "ACTIVE" };
  // @ts-expect-error field errors are string arrays
  const message: string | undefined = fieldErrorsOf(new Error())?.["name"];
  // @ts-expect-error url is required
  createKuarkClient({ getToken: () => "token" });
  // @ts-expect-error getToken returns a string (or nothing), not a number
  createKuarkClient({ url: "http://localhost:3000/trpc", getToken: () => 42 });
  void [title, created, description, items, status, input, message];
}
