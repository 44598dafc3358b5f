/**
 * The types the package publishes, computed from the server's own: the router from `server/trpc/router.ts`, the
 * contract types from the zod schemas in `server/contract`. Nothing here is redeclared by hand.
 *
 * Why the `declare function` / `const` pairs: a declaration file keeps a type alias as it was written, so
 * `export type { Feature } from "../../server/contract"` would make the published .d.ts import the server's
 * source (and zod). The type of a `const` is inferred instead, and the compiler writes an inferred type out in
 * full. These declarations are never called and never reach the JavaScript build (only `export type` of this
 * module is imported anywhere); they exist for the declaration bundle alone.
 */
import type { AnyTRPCProcedure, TRPCBuiltRouter } from "@trpc/server";
import type * as contract from "../../server/contract/index.js";
import type { AppRouter as ServerRouter } from "../../server/trpc/router.js";

/** Compile-time only: "a value of type T", so `typeof` of the result is T written out in full. */
declare function typeOf<T>(): T;

type Nested<TValue> = { [P in keyof TValue]: TValue[P] };

/**
 * The server's router with its root context type (Prisma client, logger, config: what a request handler gets)
 * replaced by `object`: a client never uses it, and it must not be part of the published types. Nested routers
 * carry the context too, so each of their procedures is copied up one level. Two levels (`features.list`) is the
 * router's depth; a deeper one would show up as a server path in `dist/*.d.ts`, which a test forbids.
 */
declare function clientView<TRouter extends ServerRouter>(): TRPCBuiltRouter<
  {
    ctx: object;
    meta: TRouter["_def"]["_config"]["$types"]["meta"];
    errorShape: TRouter["_def"]["_config"]["$types"]["errorShape"];
    transformer: TRouter["_def"]["_config"]["$types"]["transformer"];
  },
  {
    [K in keyof TRouter["_def"]["record"]]: TRouter["_def"]["record"][K] extends AnyTRPCProcedure
      ? TRouter["_def"]["record"][K]
      : Nested<TRouter["_def"]["record"][K]>;
  }
>;

/* eslint-disable @typescript-eslint/no-unused-vars -- declaration-only values, read through `typeof` below */
const appRouter = clientView<ServerRouter>();
const feature = typeOf<contract.Feature>();
const featureStatus = typeOf<contract.FeatureStatus>();
const featureCreateInput = typeOf<contract.FeatureCreateInput>();
const featureUpdateInput = typeOf<contract.FeatureUpdateInput>();
const featureListInput = typeOf<contract.FeatureListInput>();
const featureByIdInput = typeOf<contract.FeatureByIdInput>();
const featureDeleteInput = typeOf<contract.FeatureDeleteInput>();
const featureDeleteOutput = typeOf<contract.FeatureDeleteOutput>();
const featurePage = typeOf<contract.FeaturePage>();
const featureInfiniteInput = typeOf<contract.FeatureInfiniteInput>();
const featureInfinitePage = typeOf<contract.FeatureInfinitePage>();
const pagination = typeOf<contract.Pagination>();
const me = typeOf<contract.Me>();
const fieldErrors = typeOf<contract.FieldErrors>();
/* eslint-enable @typescript-eslint/no-unused-vars */

/** The API's type, for `createTRPCClient<AppRouter>` and `inferRouterInputs`/`inferRouterOutputs` of `@trpc/server`. */
export type AppRouter = typeof appRouter;
/** A feature as the API returns it; timestamps are ISO-8601 strings. */
export type Feature = typeof feature;
export type FeatureStatus = typeof featureStatus;
/** Input of `features.create`. */
export type FeatureCreateInput = typeof featureCreateInput;
/** Input of `features.update`: the id and at least one changed field under `data`. */
export type FeatureUpdateInput = typeof featureUpdateInput;
/** Input of `features.list`: page (from 1), limit (1..100), name search, status filter; all optional. */
export type FeatureListInput = typeof featureListInput;
export type FeatureByIdInput = typeof featureByIdInput;
export type FeatureDeleteInput = typeof featureDeleteInput;
export type FeatureDeleteOutput = typeof featureDeleteOutput;
/** Output of `features.list`. */
export type FeaturePage = typeof featurePage;
/** Input of `features.infinite`: `{ cursor?, limit?, search?, status? }` (keyset pagination for infinite scroll). */
export type FeatureInfiniteInput = typeof featureInfiniteInput;
/** Output of `features.infinite`: `{ items, nextCursor }`; `nextCursor` is null after the last page. */
export type FeatureInfinitePage = typeof featureInfinitePage;
export type Pagination = typeof pagination;
/** Output of `auth.me`: the verified token's claims. */
export type Me = typeof me;
/** Per-field messages of a BAD_REQUEST, keyed by the dotted input path (`"data.name"`). */
export type FieldErrors = typeof fieldErrors;
