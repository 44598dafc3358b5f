/**
 * Claim names (JWT_ORG_CLAIM, JWT_SUB_CLAIM) for an identity provider's tokens, and the rotation of the
 * shared secret (SECRET_KEY_PREVIOUS): tokens of an earlier key keep working beside the new one, while
 * `npm run token` signs with SECRET_KEY alone.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import jwt from "jsonwebtoken";
import { describe, expect, it } from "vitest";
import { rawToken, TEST_SECRET, testConfig } from "../support/app.js";
import { cleanEnv, projectRoot } from "../support/service-process.js";
import { useTokenCheck } from "../support/token-check.js";

const { me } = useTokenCheck();

const hour = () => Math.floor(Date.now() / 1000) + 3600;
const ORG_URL = "https://kuark.io/org_id";
const OLD_SECRET = "the-previous-secret-key-0123456789";

describe("JWT_ORG_CLAIM and JWT_SUB_CLAIM", () => {
  it("read the organization from a namespaced claim, and the caller from a claim of another name", async () => {
    const token = rawToken({ [ORG_URL]: "acme", user_id: "alice", exp: hour() });
    expect(await me({ JWT_ORG_CLAIM: ORG_URL, JWT_SUB_CLAIM: "user_id" }, token)).toEqual({ sub: "alice", organizationId: "acme", role: "member" });
    // With the default names the same token names no organization: refused.
    expect(await me({}, token)).toBe("UNAUTHORIZED");
  });

  it("apply the usual rules to the values: NUL, too long, empty or not a string is refused", async () => {
    const env = { JWT_ORG_CLAIM: ORG_URL };
    for (const value of ["ac\u0000me", "x".repeat(201), "", 42]) {
      expect(await me(env, rawToken({ [ORG_URL]: value, sub: "alice", exp: hour() }))).toBe("UNAUTHORIZED");
    }
    // The default claim is not read once another is named.
    expect(await me(env, rawToken({ organization_id: "acme", sub: "alice", exp: hour() }))).toBe("UNAUTHORIZED");
  });

  it("name the claims of the service's own tokens too (npm run token), which it then accepts", async () => {
    const env = { JWT_ORG_CLAIM: ORG_URL, JWT_SUB_CLAIM: "user_id" };
    const { stdout } = await promisify(execFile)("npm", ["run", "-s", "token", "--", "--sub", "alice", "--org", "acme"], {
      cwd: projectRoot,
      env: { ...cleanEnv(), SECRET_KEY: TEST_SECRET, ...env },
    });
    const token = stdout.trim();
    expect(jwt.decode(token)).toMatchObject({ [ORG_URL]: "acme", user_id: "alice" });
    expect(await me(env, token)).toEqual({ sub: "alice", organizationId: "acme", role: "member" });
  });

  it("are refused empty at start, naming the variable", () => {
    expect(() => testConfig({ JWT_ORG_CLAIM: "" })).toThrow(/JWT_ORG_CLAIM/);
  });
});

describe("SECRET_KEY_PREVIOUS", () => {
  const claims = { sub: "alice", organization_id: "acme" };

  it("accepts tokens of a previous key beside the current one, and refuses them once it is dropped", async () => {
    const old = rawToken({ ...claims, exp: hour() }, {}, OLD_SECRET);
    const current = rawToken({ ...claims, exp: hour() });
    const rotating = { SECRET_KEY_PREVIOUS: `another-retired-secret-0123456789, ${OLD_SECRET}` };
    expect(await me(rotating, old)).toEqual({ sub: "alice", organizationId: "acme", role: "member" });
    expect(await me(rotating, current)).toEqual({ sub: "alice", organizationId: "acme", role: "member" });
    expect(await me({}, old)).toBe("UNAUTHORIZED");
    // A previous key does not revive what its token's claims refuse.
    expect(await me(rotating, rawToken({ ...claims, exp: hour() - 7200 }, {}, OLD_SECRET))).toBe("UNAUTHORIZED");
    expect(await me(rotating, rawToken({ ...claims, exp: hour() }, {}, "a-key-nobody-configured-0123456789"))).toBe("UNAUTHORIZED");
  });

  it("refuses a previous key shorter than 16 characters at start", () => {
    expect(() => testConfig({ SECRET_KEY_PREVIOUS: "short" })).toThrow(/SECRET_KEY_PREVIOUS/);
  });

  it("npm run token signs with SECRET_KEY only", async () => {
    const { stdout } = await promisify(execFile)("npm", ["run", "-s", "token", "--", "--sub", "alice", "--org", "acme"], {
      cwd: projectRoot,
      env: { ...cleanEnv(), SECRET_KEY: TEST_SECRET, SECRET_KEY_PREVIOUS: OLD_SECRET },
    });
    const token = stdout.trim();
    expect(() => jwt.verify(token, TEST_SECRET, { algorithms: ["HS256"] })).not.toThrow();
    expect(() => jwt.verify(token, OLD_SECRET, { algorithms: ["HS256"] })).toThrow("invalid signature");
  });
});
