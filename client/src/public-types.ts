/**
 * The types the package publishes, computed from the server's own router (`server/trpc/app-router.ts`): every
 * registered resource's types come from its procedures, so a resource added on the server (by hand or by
 * `npm run generate`) is typed here with no edit: `ResourceTypes<"environments">["Entity"]`.
 *
 * Why the `declare function` / `const` pair: a declaration file keeps a type alias as it was written, so
 * `export type { AppRouter } from "../../server/..."` would make the published .d.ts import the server's source
 * (Prisma, Express, zod). The type of a `const` is inferred instead, and the compiler writes an inferred type out
 * in full. The declaration is never called and never reaches the JavaScript build (only `export type` of this
 * module is imported anywhere); it exists for the declaration bundle alone.
 */
import type { AnyTRPCProcedure, inferRouterInputs, inferRouterOutputs, TRPCBuiltRouter } from "@trpc/server";
import type { FieldErrors as ServerFieldErrors } from "../../server/contract/common.js";
import type { AppRouter as ServerRouter } from "../../server/trpc/app-router.js";

/** Compile-time only: "a value of type T", so `typeof` of the result is T written out in full. */
declare function typeOf<T>(): T;

/** Deeper than five levels, a nested router's record goes through this alias (see `clientView`). */
type ClientRecord<TRecord> = { [K in keyof TRecord]: TRecord[K] extends AnyTRPCProcedure ? TRecord[K] : ClientRecord<TRecord[K]> };

/**
 * The server's router with its root context type (the resource services, logger, config: what a resolver gets)
 * replaced by `object`: a client never uses it, and it must not be part of the published types.
 *
 * The record is mapped inline, five levels deep (`projects.environments.keys.list` is four): a declaration
 * file prints a type alias with its arguments, and a nested router's argument carries the server's context
 * and zod schemas, so only inline mapped types come out as plain object types. `ClientRecord` takes over
 * past five levels, typed the same but printed with server types.
 */
declare function clientView<TRouter extends ServerRouter, R = TRouter["_def"]["record"]>(): TRPCBuiltRouter<
  {
    ctx: object;
    meta: TRouter["_def"]["_config"]["$types"]["meta"];
    errorShape: TRouter["_def"]["_config"]["$types"]["errorShape"];
    transformer: TRouter["_def"]["_config"]["$types"]["transformer"];
  },
  {
    [A in keyof R]: R[A] extends AnyTRPCProcedure
      ? R[A]
      : {
        [B in keyof R[A]]: R[A][B] extends AnyTRPCProcedure
          ? R[A][B]
          : {
            [C in keyof R[A][B]]: R[A][B][C] extends AnyTRPCProcedure
              ? R[A][B][C]
              : {
                [D in keyof R[A][B][C]]: R[A][B][C][D] extends AnyTRPCProcedure
                  ? R[A][B][C][D]
                  : {
                    [E in keyof R[A][B][C][D]]: R[A][B][C][D][E] extends AnyTRPCProcedure
                      ? R[A][B][C][D][E]
                      : ClientRecord<R[A][B][C][D][E]>;
                  };
              };
          };
      };
  }
>;

/* eslint-disable @typescript-eslint/no-unused-vars -- declaration-only values, read through `typeof` below */
const appRouter = clientView<ServerRouter>();
const fieldErrors = typeOf<ServerFieldErrors>();
/* eslint-enable @typescript-eslint/no-unused-vars */

/** The API's type, for `createTRPCClient<AppRouter>` and `inferRouterInputs`/`inferRouterOutputs` of `@trpc/server`. */
export type AppRouter = typeof appRouter;
/** Every procedure's input, by path: `RouterInputs["features"]["create"]`. */
export type RouterInputs = inferRouterInputs<AppRouter>;
/** Every procedure's output, by path: `RouterOutputs["features"]["byId"]`. */
export type RouterOutputs = inferRouterOutputs<AppRouter>;

/** The router keys of the resources (`"features"`, and every resource registered since, by hand or by `npm run generate`). */
export type ResourceKey = {
  [K in keyof RouterOutputs]: RouterOutputs[K] extends { byId: unknown; list: unknown; infinite: unknown } ? K : never;
}[keyof RouterOutputs];

/** A resource's types, derived from its procedures: `ResourceTypes<"features">["Entity"]`. */
export interface ResourceTypes<K extends ResourceKey> {
  /** One row as the API returns it; timestamps are ISO-8601 strings. */
  Entity: RouterOutputs[K]["byId"];
  CreateInput: RouterInputs[K]["create"];
  /** `{ id, data, expectedUpdatedAt? }`: at least one changed field under `data`. */
  UpdateInput: RouterInputs[K]["update"];
  /** page (from 1), limit (1..100), search, equality filters; all optional. */
  ListInput: RouterInputs[K]["list"];
  Page: RouterOutputs[K]["list"];
  /** `{ cursor?, limit?, search?, ...filters }` (keyset pagination for infinite scroll). */
  InfiniteInput: RouterInputs[K]["infinite"];
  /** `{ items, nextCursor }`; `nextCursor` is null after the last page. */
  InfinitePage: RouterOutputs[K]["infinite"];
  ByIdInput: RouterInputs[K]["byId"];
  DeleteInput: RouterInputs[K]["delete"];
  DeleteOutput: RouterOutputs[K]["delete"];
}

/** A feature as the API returns it; timestamps are ISO-8601 strings. */
export type Feature = ResourceTypes<"features">["Entity"];
export type FeatureStatus = Feature["status"];
/** Input of `features.create`. */
export type FeatureCreateInput = ResourceTypes<"features">["CreateInput"];
/** Input of `features.update`: the id and at least one changed field under `data`. */
export type FeatureUpdateInput = ResourceTypes<"features">["UpdateInput"];
/** Input of `features.list`: page (from 1), limit (1..100), name search, status filter; all optional. */
export type FeatureListInput = ResourceTypes<"features">["ListInput"];
export type FeatureByIdInput = ResourceTypes<"features">["ByIdInput"];
export type FeatureDeleteInput = ResourceTypes<"features">["DeleteInput"];
export type FeatureDeleteOutput = ResourceTypes<"features">["DeleteOutput"];
/** Output of `features.list`. */
export type FeaturePage = ResourceTypes<"features">["Page"];
/** Input of `features.infinite`: `{ cursor?, limit?, search?, status? }` (keyset pagination for infinite scroll). */
export type FeatureInfiniteInput = ResourceTypes<"features">["InfiniteInput"];
/** Output of `features.infinite`: `{ items, nextCursor }`; `nextCursor` is null after the last page. */
export type FeatureInfinitePage = ResourceTypes<"features">["InfinitePage"];
export type Pagination = FeaturePage["pagination"];
/** Output of `auth.me`: the verified token's claims. */
export type Me = RouterOutputs["auth"]["me"];
/** Per-field messages of a BAD_REQUEST, keyed by the dotted input path (`"data.name"`). */
export type FieldErrors = typeof fieldErrors;
