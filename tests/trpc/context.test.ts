/** The one context factory, and the logger `orgProcedure` binds to the caller. */
import { describe, expect, it } from "vitest";
import { createCallerFactory, orgProcedure, router } from "../../server/trpc/init.js";
import { createContext } from "../../server/trpc/context.js";
import { authenticatorOf } from "../../server/auth/authenticator.js";
import { makeDependencies, memoryLogger, testConfig, tokenFor } from "../support/app.js";
import { useTestApp } from "../support/fixtures.js";

const t = useTestApp();

describe("inside orgProcedure", () => {
  it("ctx.log names the organization, the caller and the procedure, and never the token", async () => {
    const { log, lines } = memoryLogger("info");
    const deps = makeDependencies(t.deps.db, { config: testConfig(), log });
    const probe = router({ probe: router({ hello: orgProcedure.query(({ ctx }) => (ctx.log.info("resolver says hello"), "ok")) }) });
    const token = tokenFor("alice", "org-logged");
    const caller = createCallerFactory(probe)(
      createContext(deps, { requestId: "req-1", log, authenticate: authenticatorOf(deps.verifyToken, { authorization: `Bearer ${token}` }) }),
    );
    expect(await caller.probe.hello()).toBe("ok");
    const line = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === "resolver says hello");
    expect(line).toMatchObject({ organizationId: "org-logged", sub: "alice", procedure: "probe.hello" });
    expect(lines.join("\n")).not.toContain(token);
  });
});
