/** JWT verification options: clock tolerance, issuer and audience, RS256 with a public key. */
import { generateKeyPairSync } from "node:crypto";
import jwt from "jsonwebtoken";
import { describe, expect, it } from "vitest";
import { rawToken, testConfig } from "../support/app.js";
import { useTokenCheck } from "../support/token-check.js";

const { outcome } = useTokenCheck();

const now = () => Math.floor(Date.now() / 1000);
const claims = { sub: "alice", organization_id: "acme" };

describe("clock tolerance", () => {
  it("defaults to 30 s: a token expired 10 s ago passes, 60 s ago does not", async () => {
    expect(testConfig().jwt.clockToleranceSeconds).toBe(30);
    expect(await outcome({}, rawToken({ ...claims, exp: now() - 10 }))).toBe("ok");
    expect(await outcome({}, rawToken({ ...claims, exp: now() - 60 }))).toBe("UNAUTHORIZED");
  });

  it("is configurable", async () => {
    expect(await outcome({ JWT_CLOCK_TOLERANCE_SECONDS: "0" }, rawToken({ ...claims, exp: now() - 10 }))).toBe("UNAUTHORIZED");
    expect(await outcome({ JWT_CLOCK_TOLERANCE_SECONDS: "120" }, rawToken({ ...claims, exp: now() - 60 }))).toBe("ok");
  });

  it("applies to nbf too", async () => {
    expect(await outcome({}, rawToken({ ...claims, exp: now() + 60, nbf: now() + 10 }))).toBe("ok");
    expect(await outcome({}, rawToken({ ...claims, exp: now() + 600, nbf: now() + 300 }))).toBe("UNAUTHORIZED");
  });
});

describe("issuer and audience", () => {
  const env = { JWT_ISSUER: "https://auth.kuark.io", JWT_AUDIENCE: "features" };

  it("when configured, both must match", async () => {
    expect(await outcome(env, rawToken(claims, { expiresIn: 60, issuer: "https://auth.kuark.io", audience: "features" }))).toBe("ok");
    expect(await outcome(env, rawToken(claims, { expiresIn: 60, issuer: "https://evil.io", audience: "features" }))).toBe("UNAUTHORIZED");
    expect(await outcome(env, rawToken(claims, { expiresIn: 60, issuer: "https://auth.kuark.io", audience: "billing" }))).toBe("UNAUTHORIZED");
    expect(await outcome(env, rawToken(claims, { expiresIn: 60 }))).toBe("UNAUTHORIZED");
  });

  it("when not configured, they are not required", async () => {
    expect(await outcome({}, rawToken(claims, { expiresIn: 60, issuer: "anyone" }))).toBe("ok");
  });
});

describe("RS256 with JWT_PUBLIC_KEY", () => {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const publicPem = publicKey.export({ type: "spki", format: "pem" }).toString();
  const env = { JWT_PUBLIC_KEY: publicPem };

  it("accepts tokens signed by the matching private key", async () => {
    expect(await outcome(env, jwt.sign(claims, privateKey, { algorithm: "RS256", expiresIn: 60 }))).toBe("ok");
  });

  it("accepts the key with escaped newlines, as env files often carry it", async () => {
    expect(await outcome({ JWT_PUBLIC_KEY: publicPem.replace(/\n/g, "\\n") }, jwt.sign(claims, privateKey, { algorithm: "RS256", expiresIn: 60 }))).toBe("ok");
  });

  it("refuses HS256 tokens, also one signed with the public key's text (key confusion)", async () => {
    const confused = jwt.sign(claims, Buffer.from(publicPem), { algorithm: "HS256", expiresIn: 60 });
    expect(await outcome(env, confused)).toBe("UNAUTHORIZED");
    expect(await outcome(env, rawToken(claims, { expiresIn: 60 }))).toBe("UNAUTHORIZED");
  });

  it("refuses tokens of another key pair", async () => {
    const other = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
    expect(await outcome(env, jwt.sign(claims, other, { algorithm: "RS256", expiresIn: 60 }))).toBe("UNAUTHORIZED");
  });

  it("a value that is not an RSA public key stops the configuration", () => {
    expect(() => testConfig({ JWT_PUBLIC_KEY: "not a key" })).toThrow(/JWT_PUBLIC_KEY/);
  });
});
