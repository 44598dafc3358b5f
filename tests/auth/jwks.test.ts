/**
 * Tokens of an identity provider's published keys (JWT_JWKS_URL): a JWKS server of the test's own (a real
 * node:http server on a free port) publishes an RSA key (RS256) and an EC P-256 key (ES256), then rotates
 * to a third, then stops answering, then stops; a real listening service verifies tokens against it over
 * tRPC and REST, and the test counts the JWKS server's requests. The service runs in this process
 * (`startServer`), with the 30 s refetch window shortened; a second test starts `npm start`'s process
 * with the real window, and the configuration it refuses.
 */
import { generateKeyPairSync, randomUUID } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import jwt from "jsonwebtoken";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { createDependencies } from "../../server/dependencies.js";
import { procedurePaths } from "../../server/trpc/app-router.js";
import { memoryLogger, rawToken, startServer, testConfig } from "../support/app.js";
import type { RunningServer } from "../support/app.js";
import { createTestDatabase, databaseKind } from "../support/database.js";
import type { TestDatabase } from "../support/database.js";
import { cleanEnv, projectRoot, startServiceProcess, stopServiceProcess } from "../support/service-process.js";

const ISSUER = "https://kuark.eu.auth0.example/";
const AUDIENCE = "https://features.kuark.io";
/** The refetch window of the in-process service, and its fetch timeout. */
const WINDOW_MS = 2_500;
const TIMEOUT_MS = 1_000;

interface SigningKey {
  kid: string;
  algorithm: "RS256" | "ES256";
  privateKey: KeyObject;
  /** As published: the public JWK with its `kid` (and `alg`, when `withAlg`). */
  jwk: object;
}

function signingKey(kid: string, algorithm: "RS256" | "ES256", withAlg = true): SigningKey {
  const { privateKey, publicKey } = algorithm === "RS256" ? generateKeyPairSync("rsa", { modulusLength: 2048 }) : generateKeyPairSync("ec", { namedCurve: "P-256" });
  return { kid, algorithm, privateKey, jwk: { ...publicKey.export({ format: "jwk" }), kid, use: "sig", ...(withAlg && { alg: algorithm }) } };
}

/** A new token each call (its `jti`), so none is answered from the cache of verified tokens. */
function tokenOf(key: SigningKey, options: { claims?: object; sign?: jwt.SignOptions } = {}): string {
  const claims = { sub: "alice", "https://kuark.io/org_id": "acme", jti: randomUUID(), ...options.claims };
  return jwt.sign(claims, key.privateKey, { algorithm: key.algorithm, keyid: key.kid, issuer: ISSUER, audience: AUDIENCE, expiresIn: 300, ...options.sign });
}

/** The test's identity provider: serves `{ keys }` at /.well-known/jwks.json, counting requests; or holds them unanswered. */
async function startJwksServer() {
  let keys: object[] = [];
  let hanging = false;
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests++;
    if (hanging) return; // never answered: the service's fetch must time out
    if (req.url !== "/.well-known/jwks.json") return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    requests: () => requests,
    publish: (...published: SigningKey[]) => void (keys = published.map((key) => key.jwk)),
    hang: () => void (hanging = true),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error("timed out waiting");
    await sleep(20);
  }
}

const rsa = signingKey("rsa-2024", "RS256");
// Published without `alg`, as some providers do: its type (EC P-256) says ES256.
const ec = signingKey("ec-2024", "ES256", false);
const rotated = signingKey("rsa-2025", "RS256");
const unpublished = signingKey("nobody-published-this", "RS256");

describe("JWKS: tokens of published keys, on a running service", () => {
  let jwks: Awaited<ReturnType<typeof startJwksServer>>;
  let database: TestDatabase;
  let server: RunningServer;
  const { log, lines } = memoryLogger("info");
  /** Every status the service answered, to find no 500 among them. */
  const statuses: number[] = [];

  /** `auth.me` over tRPC: the caller, or the HTTP status it was refused with; and how long it took. */
  const me = async (token: string) => {
    const started = performance.now();
    const res = await fetch(`${server.url}/trpc/auth.me`, { headers: { authorization: `Bearer ${token}` } });
    statuses.push(res.status);
    const body = (await res.json()) as { result?: { data: unknown } };
    return { status: res.status, caller: body.result?.data, ms: performance.now() - started };
  };
  /** The features list over REST: its status. */
  const rest = async (token: string) => {
    const res = await fetch(`${server.url}/api/v1/features`, { headers: { authorization: `Bearer ${token}` } });
    statuses.push(res.status);
    await res.arrayBuffer();
    return res.status;
  };

  beforeAll(async () => {
    jwks = await startJwksServer();
    jwks.publish(rsa, ec);
    database = await createTestDatabase();
    const config = testConfig({
      JWT_JWKS_URL: jwks.url,
      JWT_JWKS_TIMEOUT_MS: String(TIMEOUT_MS),
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
      JWT_ORG_CLAIM: "https://kuark.io/org_id",
      LOG_LEVEL: "info",
      RATE_LIMIT_PER_IP: "0",
      RATE_LIMIT_PER_ORG: "0",
    });
    server = await startServer(createDependencies(config, database.db, log, { procedurePaths, jwksRefetchWindowMs: WINDOW_MS }));
  });
  afterAll(async () => {
    await server?.close();
    await database?.drop();
    await jwks?.stop();
  });

  it("fetches the keys at start, accepts a token of each while published (tRPC and REST), and refetches for none of them", async () => {
    await until(() => jwks.requests() === 1);
    expect(await me(tokenOf(rsa))).toMatchObject({ status: 200, caller: { sub: "alice", organizationId: "acme", role: "member" } });
    expect(await me(tokenOf(ec))).toMatchObject({ status: 200, caller: { sub: "alice", organizationId: "acme" } });
    expect(await rest(tokenOf(rsa))).toBe(200);
    expect(await rest(tokenOf(ec))).toBe(200);
    expect(jwks.requests()).toBe(1);
  });

  it("refuses a token without kid, an HS256 token, a wrong issuer or audience, a key's kid under another algorithm, and fetches nothing for them", async () => {
    const noKid = jwt.sign({ sub: "alice", "https://kuark.io/org_id": "acme" }, rsa.privateKey, { algorithm: "RS256", issuer: ISSUER, audience: AUDIENCE, expiresIn: 300 });
    const refused = [
      noKid,
      // HS256 with the service's own SECRET_KEY, and naming a published kid.
      rawToken({ sub: "alice", "https://kuark.io/org_id": "acme" }, { expiresIn: 300, issuer: ISSUER, audience: AUDIENCE, keyid: rsa.kid }),
      tokenOf(rsa, { sign: { issuer: "https://evil.example/" } }),
      tokenOf(ec, { sign: { audience: "https://billing.kuark.io" } }),
      // The RSA key's kid on an ES256 token of another key.
      tokenOf({ ...ec, kid: rsa.kid }),
      // Published key, bad claims: the usual rules apply.
      tokenOf(rsa, { claims: { "https://kuark.io/org_id": "" } }),
    ];
    for (const token of refused) {
      expect((await me(token)).status).toBe(401);
      expect(await rest(token)).toBe(401);
    }
    expect(jwks.requests()).toBe(1);
  });

  it("refetches once for a burst of unknown kids, then not again within the window", async () => {
    await sleep(WINDOW_MS);
    const before = jwks.requests();
    const burst = await Promise.all(Array.from({ length: 10 }, () => me(tokenOf(unpublished))));
    expect(burst.map((answer) => answer.status)).toEqual(Array(10).fill(401));
    expect(jwks.requests()).toBe(before + 1);
    const again = await Promise.all([...Array.from({ length: 5 }, () => me(tokenOf(unpublished))), ...Array.from({ length: 5 }, () => rest(tokenOf(unpublished)))]);
    expect(again.map((answer) => (typeof answer === "number" ? answer : answer.status))).toEqual(Array(10).fill(401));
    expect(jwks.requests()).toBe(before + 1);
  });

  it("accepts a key published by a rotation within the refetch window, and refuses the key it retired", async () => {
    jwks.publish(ec, rotated);
    const published = Date.now();
    const before = jwks.requests();
    let answer = await me(tokenOf(rotated));
    while (answer.status !== 200 && Date.now() - published < 2 * WINDOW_MS) {
      expect(answer.status).toBe(401);
      await sleep(100);
      answer = await me(tokenOf(rotated));
    }
    expect(answer).toMatchObject({ status: 200, caller: { sub: "alice", organizationId: "acme" } });
    // Within one window of the last fetch (made by the burst above), plus the time to answer.
    expect(Date.now() - published).toBeLessThan(WINDOW_MS + 1_000);
    expect(jwks.requests()).toBe(before + 1);
    expect(await rest(tokenOf(rotated))).toBe(200);
    expect(await rest(tokenOf(ec))).toBe(200);
    // The retired key's new tokens: refused, and (within the window) without a fetch.
    expect((await me(tokenOf(rsa))).status).toBe(401);
    expect(jwks.requests()).toBe(before + 1);
  });

  it("with the endpoint not answering: held keys keep working at once, an unknown kid is 401 after the fetch timeout", async () => {
    jwks.hang();
    await sleep(WINDOW_MS);
    const before = jwks.requests();
    const unknown = me(tokenOf(unpublished));
    await until(() => jwks.requests() === before + 1);
    // While that fetch hangs, a held key's token does not wait for it.
    const held = await me(tokenOf(rotated));
    expect(held.status).toBe(200);
    expect(held.ms).toBeLessThan(TIMEOUT_MS / 2);
    const refused = await unknown;
    expect(refused.status).toBe(401);
    expect(refused.ms).toBeGreaterThanOrEqual(TIMEOUT_MS * 0.9);
    expect(refused.ms).toBeLessThan(TIMEOUT_MS + 1_500);
    expect(await rest(tokenOf(ec))).toBe(200);
    expect(jwks.requests()).toBe(before + 1);
  });

  it("with the endpoint stopped: held keys keep working, an unknown kid is 401 within the fetch timeout", async () => {
    await jwks.stop();
    await sleep(WINDOW_MS);
    expect(await rest(tokenOf(rotated))).toBe(200);
    const refused = await me(tokenOf(unpublished));
    expect(refused.status).toBe(401);
    expect(refused.ms).toBeLessThan(TIMEOUT_MS + 500);
    expect((await me(tokenOf(ec))).status).toBe(200);
    // Within the window after that failed fetch: refused at once, no fetch tried.
    const atOnce = await me(tokenOf(unpublished));
    expect(atOnce.status).toBe(401);
    expect(atOnce.ms).toBeLessThan(TIMEOUT_MS / 2);
  });

  it("answered no 500, logged no error, and one warning per failed fetch (the hung one and the refused one)", () => {
    expect(statuses).not.toContain(500);
    const entries = lines.map((line) => JSON.parse(line) as { level: number; msg: string });
    expect(entries.filter((entry) => entry.level >= 50)).toEqual([]);
    expect(entries.filter((entry) => entry.msg.startsWith("JWKS fetch failed"))).toHaveLength(2);
  });
});

describe("JWKS configuration", () => {
  const jwksEnv = { JWT_JWKS_URL: "https://tenant.example/.well-known/jwks.json", JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE };

  it("requires JWT_ISSUER and JWT_AUDIENCE with JWT_JWKS_URL, saying so", () => {
    expect(() => testConfig({ JWT_JWKS_URL: jwksEnv.JWT_JWKS_URL, JWT_AUDIENCE: AUDIENCE })).toThrow(/JWT_ISSUER: is required when JWT_JWKS_URL is set/);
    expect(() => testConfig({ JWT_JWKS_URL: jwksEnv.JWT_JWKS_URL, JWT_ISSUER: ISSUER })).toThrow(/JWT_AUDIENCE: is required when JWT_JWKS_URL is set/);
    expect(testConfig(jwksEnv).jwt.jwks).toEqual({ url: jwksEnv.JWT_JWKS_URL, timeoutMs: 5_000 });
  });

  it("refuses JWT_JWKS_URL with JWT_PUBLIC_KEY, a URL that is not http(s), http in production, and a timeout out of range", () => {
    const publicKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ type: "spki", format: "pem" }).toString();
    expect(() => testConfig({ ...jwksEnv, JWT_PUBLIC_KEY: publicKey })).toThrow(/JWT_JWKS_URL: cannot be set together with JWT_PUBLIC_KEY/);
    expect(() => testConfig({ ...jwksEnv, JWT_JWKS_URL: "ftp://tenant.example/jwks.json" })).toThrow(/JWT_JWKS_URL: must be an http:\/\/ or https:\/\/ URL/);
    expect(() => testConfig({ ...jwksEnv, NODE_ENV: "production", JWT_JWKS_URL: "http://tenant.example/jwks.json" })).toThrow(/JWT_JWKS_URL: must be https:\/\/ when NODE_ENV=production/);
    expect(() => testConfig({ ...jwksEnv, JWT_JWKS_TIMEOUT_MS: "0" })).toThrow(/JWT_JWKS_TIMEOUT_MS/);
    // Production needs no SECRET_KEY when tokens come from published keys.
    expect(testConfig({ ...jwksEnv, NODE_ENV: "production", SECRET_KEY: undefined }).jwt.jwks?.url).toBe(jwksEnv.JWT_JWKS_URL);
  });

  it("npm start refuses to start without JWT_ISSUER, saying so", async () => {
    const error = (await promisify(execFile)(process.execPath, ["--import", "tsx", "server/main.ts"], {
      cwd: projectRoot,
      env: { ...cleanEnv(), JWT_JWKS_URL: jwksEnv.JWT_JWKS_URL, JWT_AUDIENCE: AUDIENCE },
    }).catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(error.code).toBe(1);
    expect(error.stderr).toContain("JWT_ISSUER: is required when JWT_JWKS_URL is set");
  });

  it("npm run token refuses to sign: the service would refuse its HS256 token", async () => {
    const error = (await promisify(execFile)(process.execPath, ["--import", "tsx", "scripts/token.ts", "--sub", "alice", "--org", "acme"], {
      cwd: projectRoot,
      env: { ...cleanEnv(), ...jwksEnv },
    }).catch((e: unknown) => e)) as { code: number; stderr: string; stdout: string };
    expect(error.code).toBe(2);
    expect(error.stderr).toContain("JWT_JWKS_URL is set");
    expect(error.stdout).toBe("");
  });

  it("npm start's process verifies a published key's tokens (with the real 30 s window: one fetch at start, none for a burst just after)", async () => {
    const jwks = await startJwksServer();
    onTestFinished(() => jwks.stop());
    jwks.publish(ec);
    let env: NodeJS.ProcessEnv;
    if (databaseKind === "postgres") {
      const database = await createTestDatabase();
      await database.db.close(); // the service opens its own pool
      onTestFinished(() => database.drop());
      env = { DATABASE_URL: database.url };
    } else {
      const dataDir = await mkdtemp(path.join(tmpdir(), "kuark-jwks-"));
      onTestFinished(() => rm(dataDir, { recursive: true, force: true }));
      env = { PGLITE_DATA_DIR: dataDir };
    }
    const service = await startServiceProcess({ ...env, JWT_JWKS_URL: jwks.url, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE, JWT_ORG_CLAIM: "https://kuark.io/org_id" });
    onTestFinished(() => stopServiceProcess(service).then(() => undefined));
    const get = (url: string, token: string) => fetch(`${service.url}${url}`, { headers: { authorization: `Bearer ${token}` } }).then((res) => res.status);
    await until(() => jwks.requests() === 1);
    expect(await get("/trpc/auth.me", tokenOf(ec))).toBe(200);
    expect(await get("/api/v1/features", tokenOf(ec))).toBe(200);
    const burst = await Promise.all(Array.from({ length: 10 }, () => get("/trpc/auth.me", tokenOf(rsa))));
    expect(burst).toEqual(Array(10).fill(401));
    expect(jwks.requests()).toBe(1);
    // No warning about the development key: no token is verified with it.
    expect(service.output()).not.toContain("DEVELOPMENT key");
  }, 90_000); // a process start, migrations included, on a shared machine
});
