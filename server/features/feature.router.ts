import {
  Feature,
  FeatureByIdInput,
  FeatureCreateInput,
  FeatureDeleteInput,
  FeatureDeleteOutput,
  FeatureInfiniteInput,
  FeatureInfinitePage,
  FeatureListInput,
  FeaturePage,
  FeatureUpdateInput,
} from "../contract/index.js";
import { orgProcedure, router } from "../trpc/init.js";

export const featureRouter = router({
  create: orgProcedure
    .input(FeatureCreateInput)
    .output(Feature)
    .mutation(({ ctx, input }) => ctx.features.create(ctx.actor, input)),

  list: orgProcedure
    .input(FeatureListInput)
    .output(FeaturePage)
    .query(({ ctx, input }) => ctx.features.list(ctx.actor, input)),

  infinite: orgProcedure
    .input(FeatureInfiniteInput)
    .output(FeatureInfinitePage)
    .query(({ ctx, input }) => ctx.features.infinite(ctx.actor, input)),

  byId: orgProcedure
    .input(FeatureByIdInput)
    .output(Feature)
    .query(({ ctx, input }) => ctx.features.byId(ctx.actor, input.id)),

  update: orgProcedure
    .input(FeatureUpdateInput)
    .output(Feature)
    .mutation(({ ctx, input }) => ctx.features.update(ctx.actor, input.id, input.data, input.expectedUpdatedAt)),

  delete: orgProcedure
    .input(FeatureDeleteInput)
    .output(FeatureDeleteOutput)
    .mutation(({ ctx, input }) => ctx.features.softDelete(ctx.actor, input.id)),
});
