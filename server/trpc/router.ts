import { Me } from "../contract/index.js";
import { resourceRouters } from "../kit/registry.js";
import { orgProcedure, router } from "./init.js";

export const appRouter = router({
  auth: router({
    me: orgProcedure.output(Me).query(({ ctx }) => ctx.me),
  }),
  ...resourceRouters(),
});

/** The API's type: all a typed client needs (see `client/`). */
export type AppRouter = typeof appRouter;
