/** The tRPC router every resource gets: thin procedures over its service, each with `.input()` and `.output()`. */
import type { AnyTRPCRouter, TRPCMutationProcedure, TRPCQueryProcedure, TRPCSubscriptionProcedure } from "@trpc/server";
import type { z } from "zod";
import type { ResourceContract } from "../contract/common.js";
import type { Context } from "./context.js";
import { orgProcedure, router } from "./init.js";
import { accessMetaOf } from "../kit/access.js";
import type { ResourceProcedure } from "../kit/access.js";
import type { ResourceDefinition } from "../kit/define.js";
import type { ResourceService } from "../kit/service.js";

type Query<TIn extends z.ZodType, TOut extends z.ZodType> = TRPCQueryProcedure<{ input: z.input<TIn>; output: z.output<TOut>; meta: object }>;
type Mutation<TIn extends z.ZodType, TOut extends z.ZodType> = TRPCMutationProcedure<{ input: z.input<TIn>; output: z.output<TOut>; meta: object }>;
type Subscription<TIn extends z.ZodType, TEvent extends z.ZodType> = TRPCSubscriptionProcedure<{
  input: z.input<TIn>;
  // What tRPC makes of a generator of `tracked(id, data)`: each event as `{ id, data }` on the client.
  output: AsyncIterable<{ id: string; data: z.output<TEvent> }, void, unknown>;
  meta: object;
}>;

/**
 * The router of a resource with contract C. The procedures' record is written inline, not as an alias of its
 * own: declaration files print an alias with its arguments (here zod schemas), and the client's published
 * types must not import zod.
 */
export type ResourceRouter<C extends ResourceContract> = ReturnType<
  typeof router<{
    create: Mutation<C["createProcedureInput"], C["entity"]>;
    list: Query<C["listInput"], C["page"]>;
    infinite: Query<C["infiniteInput"], C["infinitePage"]>;
    byId: Query<C["byIdInput"], C["entity"]>;
    update: Mutation<C["updateInput"], C["entity"]>;
    delete: Mutation<C["deleteInput"], C["deleteOutput"]>;
    history: Query<C["historyInput"], C["historyPage"]>;
    onChange: Subscription<C["onChangeInput"], C["changeNotice"]>;
  }>
>;

/**
 * Built once over the widest contract type, and typed for the concrete contract by `ResourceRouter`:
 * the compiler cannot follow tRPC's procedure inference through a generic contract, while the schemas
 * themselves are the resource's own, so what runs is exactly what the type says.
 */
export function resourceRouter<C extends ResourceContract>(resource: ResourceDefinition<string, C>): ResourceRouter<C> {
  const c: ResourceContract = resource.contract;
  const key = resource.key;
  const service = (ctx: Context): ResourceService<ResourceContract> => {
    const found = ctx.resourceServices[key];
    if (!found) throw new Error(`no service for the resource ${key} in this context`);
    return found;
  };
  // The rule each procedure's service method enforces, for those who read the router (the panel).
  const meta = (procedure: ResourceProcedure) => accessMetaOf(resource.access, procedure);
  return router({
    create: orgProcedure
      .meta(meta("create"))
      .input(c.createProcedureInput)
      .output(c.entity)
      .mutation(async ({ ctx, input }) => {
        // The fields are the create input; the key, when given, makes a retry answer the first create again.
        const { idempotencyKey, ...fields } = input;
        if (idempotencyKey === undefined) return service(ctx).create(ctx.actor, fields);
        return (await service(ctx).createWithKey(ctx.actor, fields, idempotencyKey)).entity;
      }),

    list: orgProcedure
      .meta(meta("list"))
      .input(c.listInput)
      .output(c.page)
      .query(({ ctx, input }) => service(ctx).list(ctx.actor, input)),

    infinite: orgProcedure
      .meta(meta("infinite"))
      .input(c.infiniteInput)
      .output(c.infinitePage)
      .query(({ ctx, input }) => service(ctx).infinite(ctx.actor, input)),

    byId: orgProcedure
      .meta(meta("byId"))
      .input(c.byIdInput)
      .output(c.entity)
      .query(({ ctx, input }) => service(ctx).byId(ctx.actor, input.id)),

    update: orgProcedure
      .meta(meta("update"))
      .input(c.updateInput)
      .output(c.entity)
      .mutation(({ ctx, input }) => service(ctx).update(ctx.actor, input.id, input.data, input.expectedUpdatedAt)),

    delete: orgProcedure
      .meta(meta("delete"))
      .input(c.deleteInput)
      .output(c.deleteOutput)
      .mutation(({ ctx, input }) => service(ctx).softDelete(ctx.actor, input.id)),

    history: orgProcedure
      .meta(meta("history"))
      .input(c.historyInput)
      .output(c.historyPage)
      .query(({ ctx, input }) => service(ctx).history(ctx.actor, input)),

    /** Over SSE (`httpSubscriptionLink`); tRPC validates no subscription output, the events are the entity schema's own rows. */
    onChange: orgProcedure
      .meta(meta("onChange"))
      .input(c.onChangeInput)
      .subscription(({ ctx, input, signal }) =>
        service(ctx).onChange(ctx.actor, input, { ip: ctx.ip, expiresAt: ctx.expiresAt, signal }),
      ),
  }) as unknown as ResourceRouter<C>;
}

/** The routers of a list of definitions, by key: spread into the app router. */
export type ResourceRouters<D extends Record<string, ResourceDefinition>> = { [K in keyof D]: ResourceRouter<D[K]["contract"]> };

export function resourceRouters<D extends Record<string, ResourceDefinition>>(definitions: D): ResourceRouters<D> {
  return Object.fromEntries(Object.entries(definitions).map(([key, definition]) => [key, resourceRouter(definition) as AnyTRPCRouter])) as ResourceRouters<D>;
}
