/**
 * The caller's role from its token (JWT_ROLE_CLAIM, DEFAULT_ROLE, ROLE_MAP): what `auth.me` says of it,
 * what a role the service does not know may do (nothing but `auth.me`), and the start-up errors of bad
 * values. What each role may do on each resource is tests/kit/access.test.ts.
 */
import { describe, expect, it } from "vitest";
import { callerFor, rawToken, testConfig, tokenFor } from "../support/app.js";
import { rejection, useTestApp } from "../support/fixtures.js";
import { useTokenCheck } from "../support/token-check.js";

const ROLE_MAP = JSON.stringify({ "org:admin": "admin", "org:member": "member", viewer: "member" });
const t = useTestApp({ config: testConfig({ DEFAULT_ROLE: "viewer", ROLE_MAP }) });
const { me } = useTokenCheck();
const exp = () => Math.floor(Date.now() / 1000) + 600;

describe("the effective role", () => {
  it("is the token's role, DEFAULT_ROLE without one, and ROLE_MAP's for an identity provider's value", async () => {
    const role = async (claim: string | undefined) => (await callerFor(t.deps, tokenFor("ann", "org-roles", claim === undefined ? {} : { role: claim })).auth.me()).role;
    expect(await role(undefined)).toBe("viewer");
    expect(await role("org:admin")).toBe("admin");
    expect(await role("owner")).toBe("owner");
    // A mapping wins over a role's own name.
    expect(await role("viewer")).toBe("member");
  });

  it("is member for a token without one under the default configuration", async () => {
    expect(await me({}, tokenFor("ann", "acme"))).toMatchObject({ role: "member" });
    expect(await me({}, tokenFor("ann", "acme", { role: "admin" }))).toMatchObject({ role: "admin" });
  });

  it("is read from the claim JWT_ROLE_CLAIM names, and only from it", async () => {
    const token = rawToken({ sub: "ann", organization_id: "acme", "https://kuark.io/role": "admin", role: "viewer", exp: exp() });
    expect(await me({ JWT_ROLE_CLAIM: "https://kuark.io/role" }, token)).toEqual({ sub: "ann", organizationId: "acme", role: "admin" });
    expect(await me({}, token)).toEqual({ sub: "ann", organizationId: "acme", role: "viewer" });
  });

  it("refuses a role claim that is not a string, as any malformed claim", async () => {
    expect(await me({}, rawToken({ sub: "ann", organization_id: "acme", role: ["admin"], exp: exp() }))).toBe("UNAUTHORIZED");
  });
});

describe("a role that is neither a role nor mapped", () => {
  it("is told by auth.me, and gets FORBIDDEN naming it on every other procedure", async () => {
    const caller = callerFor(t.deps, tokenFor("ann", "org-unknown", { role: "org:guest" }));
    expect(await caller.auth.me()).toEqual({ sub: "ann", organizationId: "org-unknown", unknownRole: "org:guest" });
    for (const call of [() => caller.features.list(), () => caller.features.create({ name: "Nope" })]) {
      const error = await rejection(call());
      expect(error.code).toBe("FORBIDDEN");
      expect(error.message).toContain('"org:guest"');
    }
  });
});

describe("start-up errors", () => {
  it.each([
    [{ ROLE_MAP: "org:admin=admin" }, /ROLE_MAP: must be a JSON object/],
    [{ ROLE_MAP: '["admin"]' }, /ROLE_MAP: must be a JSON object/],
    [{ ROLE_MAP: '{"org:admin":"boss"}' }, /ROLE_MAP\.org:admin: must map onto a role: viewer, member, admin, owner/],
    [{ DEFAULT_ROLE: "boss" }, /DEFAULT_ROLE: must be a role: viewer, member, admin, owner/],
    [{ JWT_ROLE_CLAIM: "" }, /JWT_ROLE_CLAIM/],
  ])("%o is refused, naming the variable", (env, message) => {
    expect(() => testConfig(env)).toThrow(message);
  });
});
