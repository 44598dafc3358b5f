/**
 * `@kuark/features-client`: a typed tRPC client for the Kuark Features service.
 * @example
 * const kuark = createKuarkClient({ url: "http://localhost:3000/trpc", getToken: () => localStorage.token });
 * const page = await kuark.features.list.query({ search: "dark", page: 1 });
 */
export { createKuarkClient, kuarkHttpLink, kuarkSubscriptionLink } from "./client.js";
export type { KuarkClient, KuarkClientOptions } from "./client.js";
export { fieldErrorsOf, isKuarkClientError } from "./errors.js";
export type { KuarkClientError } from "./errors.js";
export { TRPCClientError } from "@trpc/client";
export type {
  AppRouter,
  Feature,
  FeatureByIdInput,
  FeatureCreateInput,
  FeatureDeleteInput,
  FeatureDeleteOutput,
  FeatureInfiniteInput,
  FeatureInfinitePage,
  FeatureListInput,
  FeaturePage,
  FeatureStatus,
  FeatureUpdateInput,
  FieldErrors,
  Me,
  Pagination,
  ResourceKey,
  ResourceTypes,
  RouterInputs,
  RouterOutputs,
} from "./public-types.js";
