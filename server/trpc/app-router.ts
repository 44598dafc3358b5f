/**
 * The app router: `auth.me`, the built-in `apiKeys` (server/resources/apiKeys/), and every resource of the list
 * (server/resources/definitions.ts) under its key.
 */
import { Me } from "../contract/index.js";
import { apiKeysRouter } from "./api-keys-router.js";
import { resourceRouters } from "./resource-router.js";
import { definitions } from "../resources/definitions.js";
import { orgProcedure, router } from "./init.js";

export const appRouter = router({
  auth: router({
    me: orgProcedure.output(Me).query(({ ctx }) => ctx.me),
  }),
  apiKeys: apiKeysRouter,
  ...resourceRouters(definitions),
});

/** The API's type: all a typed client needs (see `client/`). */
export type AppRouter = typeof appRouter;

/** Every procedure's full path (`features.byId`): the metrics' label values. */
export const procedurePaths = Object.keys(appRouter._def.procedures);
/** The paths of its subscriptions: the only requests whose token may come in `connectionParams`. */
export const subscriptionPaths = Object.entries(appRouter._def.procedures as unknown as Record<string, { _def: { type: string } }>)
  .filter(([, procedure]) => procedure._def.type === "subscription")
  .map(([path]) => path);
