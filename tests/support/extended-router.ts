import { z } from "zod";
import { publicProcedure, router } from "../../server/trpc/init.js";
import { appRouter } from "../../server/trpc/app-router.js";

/**
 * The app router plus a procedure the panel has never seen (`tools.echo`: upper-cases a word of 3+
 * characters), to show that a new procedure appears in the panel with no change to the panel.
 */
export const routerWithEcho = router({
  ...appRouter._def.record,
  tools: router({
    echo: publicProcedure
      .input(z.strictObject({ word: z.string().min(3, "must be at least 3 characters") }))
      .output(z.object({ echoed: z.string() }))
      .query(({ input }) => ({ echoed: input.word.toUpperCase() })),
  }),
});
