/** The org-scoped procedure: which tokens get in, and what `auth.me` says about them. */
import { generateKeyPairSync } from "node:crypto";
import { TRPCError } from "@trpc/server";
import jwt from "jsonwebtoken";
import { describe, expect, it } from "vitest";
import { createCallerFactory } from "../../server/trpc/init.js";
import { appRouter } from "../../server/trpc/app-router.js";
import { callerFor, contextFor, makeDependencies, rawToken, TEST_SECRET, testConfig, tokenFor } from "../support/app.js";
import { useTestApp } from "../support/fixtures.js";

const createCaller = createCallerFactory(appRouter);
const t = useTestApp();

const now = () => Math.floor(Date.now() / 1000);
const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
const valid = { sub: "alice", organization_id: "acme" };

const rejected: Array<[string, string | undefined]> = [
  ["no token at all", undefined],
  ["an empty token", ""],
  ["garbage", "not-a-jwt"],
  ["a truncated token", tokenFor("alice", "acme").slice(0, -10)],
  ["a bad signature", rawToken(valid, { expiresIn: 60 }, "another-secret-0123456789")],
  ["alg none", `${b64({ alg: "none", typ: "JWT" })}.${b64({ ...valid, exp: now() + 60 })}.`],
  ["HS512 with the right secret", rawToken(valid, { expiresIn: 60, algorithm: "HS512" })],
  [
    "RS256",
    jwt.sign({ ...valid }, generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey, { algorithm: "RS256", expiresIn: 60 }),
  ],
  ["an expired token", rawToken({ ...valid, exp: now() - 120 })],
  ["no exp", rawToken(valid)],
  ["no sub", rawToken({ organization_id: "acme" }, { expiresIn: 60 })],
  ["no organization_id", rawToken({ sub: "alice" }, { expiresIn: 60 })],
  ["an empty organization_id", rawToken({ sub: "alice", organization_id: "" }, { expiresIn: 60 })],
  ["a numeric organization_id", rawToken({ sub: "alice", organization_id: 7 }, { expiresIn: 60 })],
  // Well signed, but text PostgreSQL cannot store (a 500 before) or a sub too long for the audit columns.
  ["a NUL in organization_id", rawToken({ sub: "alice", organization_id: "acme\u0000" }, { expiresIn: 60 })],
  ["a NUL in sub", rawToken({ sub: "al\u0000ice", organization_id: "acme" }, { expiresIn: 60 })],
  ["a sub over 200 characters", rawToken({ sub: "a".repeat(201), organization_id: "acme" }, { expiresIn: 60 })],
];

describe("orgProcedure refuses", () => {
  it.each(rejected)("%s", async (_label, token) => {
    const call = callerFor(t.deps, token).features.list();
    const error = await call.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TRPCError);
    expect((error as TRPCError).code).toBe("UNAUTHORIZED");
    // Generic: nothing about which check failed.
    expect((error as TRPCError).message).toBe("Invalid or missing credentials");
  });

  it("a valid token under another scheme than Bearer", async () => {
    const error = await createCaller(contextFor(t.deps, `Basic ${tokenFor("alice", "acme")}`))
      .auth.me()
      .catch((e: unknown) => e);
    expect((error as TRPCError).code).toBe("UNAUTHORIZED");
  });
});

describe("auth.me", () => {
  it("returns the verified claims", async () => {
    const me = await callerFor(t.deps, tokenFor("alice", "acme", { role: "admin", email: "alice@acme.io" })).auth.me();
    expect(me).toEqual({ sub: "alice", organizationId: "acme", role: "admin", email: "alice@acme.io" });
  });

  it("omits the optional claims when absent", async () => {
    expect(await callerFor(t.deps, tokenFor("bob", "globex")).auth.me()).toEqual({ sub: "bob", organizationId: "globex", role: "member" });
  });

  it("accepts a token from Kuark's issuer with extra claims", async () => {
    const token = rawToken({ ...valid, iat: now(), jti: "x", scope: "read" }, { expiresIn: 60 }, TEST_SECRET);
    expect(await callerFor(t.deps, token).auth.me()).toEqual({ sub: "alice", organizationId: "acme", role: "member" });
  });
});

describe("verified tokens are remembered until they expire, and only the exact token", () => {
  it("a token accepted once is refused after its exp", async () => {
    // No clock tolerance (30 s by default), so the token's exp is the end.
    const deps = makeDependencies(t.testDb.db, { config: testConfig({ JWT_CLOCK_TOLERANCE_SECONDS: "0" }) });
    const token = rawToken({ ...valid, exp: now() + 2 });
    expect(await callerFor(deps, token).auth.me()).toEqual({ sub: "alice", organizationId: "acme", role: "member" });
    expect(await callerFor(deps, token).auth.me()).toEqual({ sub: "alice", organizationId: "acme", role: "member" });
    await new Promise((resolve) => setTimeout(resolve, (now() + 3) * 1000 - Date.now()));
    const error = await callerFor(deps, token)
      .auth.me()
      .catch((e: unknown) => e);
    expect((error as TRPCError).code).toBe("UNAUTHORIZED");
  });

  it("a remembered token with one character changed is checked, and refused", async () => {
    const token = tokenFor("alice", "acme");
    expect(await callerFor(t.deps, token).auth.me()).toEqual({ sub: "alice", organizationId: "acme", role: "member" });
    const last = token.at(-1) === "A" ? "B" : "A";
    for (const tampered of [token.slice(0, -1) + last, token + "x", ` ${token}`.trim().slice(1)]) {
      const error = await callerFor(t.deps, tampered)
        .auth.me()
        .catch((e: unknown) => e);
      expect((error as TRPCError).code).toBe("UNAUTHORIZED");
    }
  });

  it("each caller gets the claims of its own token", async () => {
    const tokens = Array.from({ length: 50 }, (_, i) => tokenFor(`user-${i}`, `org-${i % 7}`));
    for (let round = 0; round < 2; round++) {
      for (const [i, token] of tokens.entries()) expect(await callerFor(t.deps, token).auth.me()).toEqual({ sub: `user-${i}`, organizationId: `org-${i % 7}`, role: "member" });
    }
  });
});
