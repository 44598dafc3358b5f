/**
 * The `apiKeys` procedures (create, list, byId, delete) over the built-in API keys service
 * (server/resources/apiKeys/service.ts), each with `.input()` and `.output()` as every resource's: the
 * create's output is the only schema with the secret in it.
 */
import { TRPCError } from "@trpc/server";
import { ApiKey, ApiKeyByIdInput, ApiKeyCreated, ApiKeyCreateInput, ApiKeyDeleteOutput, ApiKeyListInput, ApiKeyPage } from "../contract/apiKeys.js";
import { accessMetaOf } from "../kit/access.js";
import type { ResourceProcedure } from "../kit/access.js";
import { API_KEYS_POLICY } from "../resources/apiKeys/service.js";
import type { ApiKeyService } from "../resources/apiKeys/service.js";
import type { Context } from "./context.js";
import { orgProcedure, router } from "./init.js";

/** The service, or NOT_FOUND when the service runs without API keys (API_KEYS_ENABLED is not true). */
function serviceOf(ctx: Context): ApiKeyService {
  if (!ctx.apiKeys) throw new TRPCError({ code: "NOT_FOUND", message: "API keys are not enabled on this service (API_KEYS_ENABLED)" });
  return ctx.apiKeys;
}

const meta = (procedure: ResourceProcedure) => accessMetaOf(API_KEYS_POLICY, procedure);

export const apiKeysRouter = router({
  create: orgProcedure
    .meta(meta("create"))
    .input(ApiKeyCreateInput)
    .output(ApiKeyCreated)
    .mutation(({ ctx, input }) => serviceOf(ctx).create(ctx.actor, input)),

  list: orgProcedure
    .meta(meta("list"))
    .input(ApiKeyListInput)
    .output(ApiKeyPage)
    .query(({ ctx, input }) => serviceOf(ctx).list(ctx.actor, input)),

  byId: orgProcedure
    .meta(meta("byId"))
    .input(ApiKeyByIdInput)
    .output(ApiKey)
    .query(({ ctx, input }) => serviceOf(ctx).byId(ctx.actor, input.id)),

  delete: orgProcedure
    .meta(meta("delete"))
    .input(ApiKeyByIdInput)
    .output(ApiKeyDeleteOutput)
    .mutation(({ ctx, input }) => serviceOf(ctx).softDelete(ctx.actor, input.id)),
});
