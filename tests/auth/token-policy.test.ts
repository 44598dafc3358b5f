/**
 * What a well-signed token must still be (issue 21, items 5 and 8): identifiers that are well-formed,
 * non-blank, without control characters (no two organizations may alias); a bounded lifetime
 * (JWT_MAX_LIFETIME_MINUTES); no `iat` in the future; no `crit` header; and a production SECRET_KEY of 32+
 * characters. Text input with a lone surrogate is bad input naming the field, never silently changed.
 */
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { rawToken, TEST_SECRET, testConfig } from "../support/app.js";
import { useTestApp } from "../support/fixtures.js";
import { useTokenCheck } from "../support/token-check.js";

const check = useTokenCheck();

const now = () => Math.floor(Date.now() / 1000);
const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
/** An HS256 token of any payload, written by hand: jsonwebtoken's `sign` refuses some of these claims. */
function handSigned(payload: object): string {
  const unsigned = `${b64({ alg: "HS256", typ: "JWT" })}.${b64(payload)}`;
  return `${unsigned}.${createHmac("sha256", TEST_SECRET).update(unsigned).digest("base64url")}`;
}

const outcome = (token: string, env: NodeJS.ProcessEnv = {}) => check.outcome(env, token);

describe("identifier claims", () => {
  it("refuse lone surrogates (which would alias two organizations), blanks and control characters", async () => {
    for (const organization of ["alias\ud800", "alias\udfff", "   ", "acme\u0007", "ac\nme"]) {
      expect(await outcome(rawToken({ sub: "alice", organization_id: organization, exp: now() + 60 })), JSON.stringify(organization)).toBe("UNAUTHORIZED");
    }
    expect(await outcome(rawToken({ sub: "\udfffalice", organization_id: "acme", exp: now() + 60 }))).toBe("UNAUTHORIZED");
    // Well-formed text beyond ASCII is fine.
    expect(await outcome(rawToken({ sub: "zoë 👩‍💻", organization_id: "société-ü", exp: now() + 60 }))).toBe("ok");
  });
});

describe("token lifetime", () => {
  it("refuses a token living longer than JWT_MAX_LIFETIME_MINUTES (default 1440), with or without iat", async () => {
    expect(testConfig().jwt.maxLifetimeMinutes).toBe(1440);
    expect(await outcome(rawToken({ sub: "alice", organization_id: "acme", iat: now(), exp: now() + 1440 * 60 }))).toBe("ok");
    expect(await outcome(rawToken({ sub: "alice", organization_id: "acme", iat: now(), exp: now() + 1441 * 60 }))).toBe("UNAUTHORIZED");
    expect(await outcome(rawToken({ sub: "alice", organization_id: "acme", exp: now() + 100 * 365 * 86_400 }, { noTimestamp: true }))).toBe("UNAUTHORIZED");
    expect(await outcome(rawToken({ sub: "alice", organization_id: "acme", exp: 1e308 }))).toBe("UNAUTHORIZED");
    expect(await outcome(rawToken({ sub: "alice", organization_id: "acme", iat: now(), exp: now() + 1441 * 60 }), { JWT_MAX_LIFETIME_MINUTES: "2000" })).toBe("ok");
  });

  it("refuses an iat beyond the clock tolerance in the future, or not a number", async () => {
    expect(await outcome(rawToken({ sub: "alice", organization_id: "acme", iat: now() + 10, exp: now() + 600 }))).toBe("ok");
    expect(await outcome(rawToken({ sub: "alice", organization_id: "acme", iat: now() + 600, exp: now() + 900 }))).toBe("UNAUTHORIZED");
    expect(await outcome(handSigned({ sub: "alice", organization_id: "acme", iat: now(), exp: now() + 600 }))).toBe("ok");
    expect(await outcome(handSigned({ sub: "alice", organization_id: "acme", iat: String(now()), exp: now() + 600 }))).toBe("UNAUTHORIZED");
  });

  it("is checked at start against the lifetime of the service's own tokens", () => {
    expect(() => testConfig({ ACCESS_TOKEN_EXPIRE_MINUTES: "2000" })).toThrow(/ACCESS_TOKEN_EXPIRE_MINUTES/);
    expect(testConfig({ ACCESS_TOKEN_EXPIRE_MINUTES: "2000", JWT_MAX_LIFETIME_MINUTES: "2000" }).accessTokenExpireMinutes).toBe(2000);
  });
});

describe("headers and keys", () => {
  it("refuses a token with a crit header (an extension this service does not understand)", async () => {
    expect(await outcome(rawToken({ sub: "alice", organization_id: "acme", exp: now() + 60 }, { header: { alg: "HS256", crit: ["exp"] } }))).toBe("UNAUTHORIZED");
  });

  it("refuses a production SECRET_KEY under 32 characters, naming it", () => {
    expect(() => testConfig({ NODE_ENV: "production", SECRET_KEY: "x".repeat(31) })).toThrow("SECRET_KEY: must be at least 32 characters when NODE_ENV=production");
    expect(testConfig({ NODE_ENV: "production", SECRET_KEY: "x".repeat(32) }).secretKey).toHaveLength(32);
  });
});

describe("text input with a lone surrogate", () => {
  const t = useTestApp({ server: true, config: testConfig({ RATE_LIMIT_PER_IP: "0", RATE_LIMIT_PER_ORG: "0" }) });
  const LONE = "must be well-formed Unicode (no lone surrogates)";

  it("is bad input naming the field on tRPC and REST, and nothing is stored", async () => {
    const owner = t.newOrg();
    const headers = { authorization: `Bearer ${owner.token}`, "content-type": "application/json" };
    // JSON.stringify writes a lone surrogate as the escape \ud800, valid JSON.
    const trpc = await fetch(`${t.server.url}/trpc/features.create`, { method: "POST", headers, body: JSON.stringify({ name: "Dark \ud800 mode" }) });
    expect(trpc.status).toBe(400);
    expect(((await trpc.json()) as { error: { data: { fieldErrors: Record<string, string[]> } } }).error.data.fieldErrors).toEqual({ name: [LONE] });
    const rest = await fetch(`${t.server.url}/api/v1/features`, { method: "POST", headers, body: JSON.stringify({ name: "Dark mode", description: "\udfff" }) });
    expect(rest.status).toBe(422);
    expect(await rest.json()).toEqual({ detail: [{ loc: ["body", "description"], msg: LONE, type: "custom" }] });
    expect((await owner.api.features.list()).pagination.total).toBe(0);
  });
});
