/** The developer panel over real HTTP: when it exists, what it lists, and when it mints tokens. */
import { generateKeyPairSync } from "node:crypto";
import type { AddressInfo } from "node:net";
import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../server/config.js";
import type { Config } from "../../server/config.js";
import { createPanelRouter } from "../../server/panel/panel.router.js";
import type { PanelDescription } from "../../server/panel/panel.router.js";
import { appRouter } from "../../server/trpc/app-router.js";
import { makeDependencies, startServer, testConfig } from "../support/app.js";
import type { RunningServer } from "../support/app.js";
import { createTestDatabase } from "../support/database.js";
import type { TestDatabase } from "../support/database.js";
import { routerWithEcho } from "../support/extended-router.js";
import { everyResource } from "../support/fixtures.js";
import { describeRule, PROCEDURE_OPERATIONS } from "../../server/kit/access.js";

let testDb: TestDatabase;
const servers: RunningServer[] = [];

beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()));
  await testDb?.drop();
});

async function serverWith(env: NodeJS.ProcessEnv): Promise<string> {
  const server = await startServer(makeDependencies(testDb.db, { config: testConfig(env) }));
  servers.push(server);
  return server.url;
}

function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
}

describe("PANEL_ENABLED", () => {
  const production = { NODE_ENV: "production" };

  it("defaults to on outside production and off in production", () => {
    expect(testConfig({ NODE_ENV: "development" }).panelEnabled).toBe(true);
    expect(testConfig({ NODE_ENV: "test" }).panelEnabled).toBe(true);
    expect(testConfig(production).panelEnabled).toBe(false);
  });

  it("overrides the default either way", () => {
    expect(testConfig({ ...production, PANEL_ENABLED: "true" }).panelEnabled).toBe(true);
    expect(testConfig({ NODE_ENV: "development", PANEL_ENABLED: "false" }).panelEnabled).toBe(false);
  });

  it.each(["yes", "1", "TRUE", ""])("refuses %j with a message naming the variable", (value) => {
    expect(() => testConfig({ PANEL_ENABLED: value })).toThrow(ConfigError);
    expect(() => testConfig({ PANEL_ENABLED: value })).toThrow(/PANEL_ENABLED: must be "true" or "false"/);
  });
});

describe("in production", () => {
  it("without PANEL_ENABLED there is no panel: 404 for the page, its data and dev tokens", async () => {
    const url = await serverWith({ NODE_ENV: "production" });
    for (const path of ["/panel", "/panel/", "/panel/procedures.json", "/panel/panel.js"]) {
      const response = await fetch(url + path);
      expect(response.status, path).toBe(404);
    }
    expect((await postJson(`${url}/panel/dev-token`, {})).status).toBe(404);
    // The API itself is still there.
    expect((await fetch(`${url}/trpc/auth.me`)).status).toBe(401);
  });

  it("with PANEL_ENABLED=true the panel is served, but dev tokens are refused", async () => {
    const url = await serverWith({ NODE_ENV: "production", PANEL_ENABLED: "true" });
    const page = await fetch(`${url}/panel`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("developer panel");

    const description = (await (await fetch(`${url}/panel/procedures.json`)).json()) as PanelDescription;
    expect(description.devTokens).toBe(false);
    expect(description.procedures.map((p) => p.path)).toContain("features.create");

    const refused = await postJson(`${url}/panel/dev-token`, { sub: "mallory", organizationId: "victim-org" });
    expect(refused.status).toBe(404);
    expect(await refused.text()).not.toMatch(/eyJ/); // no JWT of any kind in the answer
  });
});

describe("outside production", () => {
  let url: string;
  beforeAll(async () => {
    url = await serverWith({ NODE_ENV: "development" });
  });

  it("serves the page with a strict content security policy, and its script", async () => {
    const page = await fetch(`${url}/panel`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(page.headers.get("content-security-policy")).toContain("connect-src 'self'");
    expect(page.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    const html = await page.text();
    expect(html).toContain('src="/panel/panel.js"');
    expect(html).not.toContain("{{base}}");

    const script = await fetch(`${url}/panel/panel.js`);
    expect(script.headers.get("content-type")).toMatch(/^text\/javascript/);
    expect(await script.text()).toContain("procedures.json");
  });

  it("lists every procedure of the app router with its kind and its zod schemas as JSON Schema", async () => {
    const description = (await (await fetch(`${url}/panel/procedures.json`)).json()) as PanelDescription;
    expect(description.trpcPath).toBe("/trpc");
    expect(description.devTokens).toBe(true);
    // Every procedure of the router, whatever gets added later; the known ones with their kinds.
    expect(description.procedures.map((p) => p.path)).toEqual(Object.keys(appRouter._def.procedures).sort((a, b) => a.localeCompare(b)));
    expect(description.procedures.map((p) => [p.path, p.type])).toEqual(
      expect.arrayContaining([
        ["auth.me", "query"],
        ["features.byId", "query"],
        ["features.create", "mutation"],
        ["features.delete", "mutation"],
        ["features.list", "query"],
        ["features.update", "mutation"],
      ]),
    );
    const byPath = new Map(description.procedures.map((p) => [p.path, p]));
    expect(byPath.get("auth.me")?.input).toBeNull();
    expect(byPath.get("features.create")?.input).toMatchObject({
      type: "object",
      required: ["name"],
      additionalProperties: false,
      properties: { name: { type: "string", minLength: 2, maxLength: 200 }, status: { enum: ["ACTIVE", "INACTIVE"] } },
    });
    expect(byPath.get("features.list")?.input).toMatchObject({ default: { page: 1, limit: 20 } });
    expect(byPath.get("features.list")?.output).toMatchObject({ properties: { data: { type: "array" } } });
  });

  it("issues a dev token the API accepts, for the sub and organization asked for", async () => {
    const response = await postJson(`${url}/panel/dev-token`, { sub: "dana", organizationId: "org-panel-dev" });
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const { token, expiresAt } = (await response.json()) as { token: string; expiresAt: string };
    expect(Date.parse(expiresAt) - Date.now()).toBeGreaterThan(50 * 60_000);

    const me = await fetch(`${url}/trpc/auth.me`, { headers: { authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200);
    expect(await me.json()).toEqual({ result: { data: { sub: "dana", organizationId: "org-panel-dev", role: "member" } } });
  });

  it("lists each procedure's least role, from its resource's policy; auth.me has none", async () => {
    const description = (await (await fetch(`${url}/panel/procedures.json`)).json()) as PanelDescription;
    const byPath = new Map(description.procedures.map((p) => [p.path, p]));
    expect(byPath.get("auth.me")?.access).toBeUndefined();
    for (const [key, definition] of everyResource) {
      for (const [procedure, operation] of Object.entries(PROCEDURE_OPERATIONS)) {
        const rule = definition.access[operation];
        expect(byPath.get(`${key}.${procedure}`)?.access, `${key}.${procedure}`).toEqual({ role: rule.role, own: rule.own, description: describeRule(rule) });
      }
    }
  });

  it("issues a dev token with the role picked, under JWT_ROLE_CLAIM", async () => {
    const response = await postJson(`${url}/panel/dev-token`, { sub: "dana", organizationId: "org-panel-dev", role: "viewer" });
    const { token, role } = (await response.json()) as { token: string; role: string };
    expect(role).toBe("viewer");
    const me = await fetch(`${url}/trpc/auth.me`, { headers: { authorization: `Bearer ${token}` } });
    expect(((await me.json()) as { result: { data: unknown } }).result.data).toMatchObject({ role: "viewer" });
    const refused = await postJson(`${url}/panel/dev-token`, { role: "boss" });
    expect(refused.status).toBe(400);
  });

  it("defaults the dev token's sub and organization", async () => {
    const body = (await (await postJson(`${url}/panel/dev-token`, {})).json()) as { sub: string; organizationId: string };
    expect(body).toMatchObject({ sub: "developer", organizationId: "dev-org" });
  });

  it("refuses bad dev-token input with per-field messages, and bodies that are not JSON", async () => {
    const bad = await postJson(`${url}/panel/dev-token`, { sub: " ", organizationId: "x".repeat(201), admin: true });
    expect(bad.status).toBe(400);
    const body = (await bad.json()) as { fieldErrors: Record<string, string[]> };
    expect(body.fieldErrors).toMatchObject({ sub: ["must not be empty"], organizationId: ["must be at most 200 characters"] });

    const form = await fetch(`${url}/panel/dev-token`, { method: "POST", body: new URLSearchParams({ sub: "x" }) });
    expect(form.status).toBe(415);

    const broken = await fetch(`${url}/panel/dev-token`, { method: "POST", headers: { "content-type": "application/json" }, body: "{" });
    expect(broken.status).toBe(400);
    expect(await broken.json()).toEqual({ error: "Body is not valid JSON" });
  });

  it("signs dev tokens with the JWT_ISSUER and JWT_AUDIENCE the server checks", async () => {
    const strict = await serverWith({ NODE_ENV: "development", JWT_ISSUER: "kuark-auth", JWT_AUDIENCE: "kuark-features" });
    const { token } = (await (await postJson(`${strict}/panel/dev-token`, { sub: "ivy" })).json()) as { token: string };
    const me = await fetch(`${strict}/trpc/auth.me`, { headers: { authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200);
  });

  it("has no dev tokens with RS256 tokens (JWT_PUBLIC_KEY): the server holds no key to sign them", async () => {
    const { publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const rs256 = await serverWith({ NODE_ENV: "development", JWT_PUBLIC_KEY: publicKey.export({ type: "spki", format: "pem" }).toString() });
    const description = (await (await fetch(`${rs256}/panel/procedures.json`)).json()) as PanelDescription;
    expect(description.devTokens).toBe(false);
    expect((await postJson(`${rs256}/panel/dev-token`, {})).status).toBe(404);
  });

  it("has no dev tokens with an identity provider's published keys (JWT_JWKS_URL): its tokens are the only ones accepted", async () => {
    // Nothing listens there: the keys are never fetched, which the panel does not need.
    const jwks = await serverWith({ NODE_ENV: "development", JWT_JWKS_URL: "http://127.0.0.1:9/.well-known/jwks.json", JWT_ISSUER: "kuark-auth", JWT_AUDIENCE: "kuark-features" });
    const description = (await (await fetch(`${jwks}/panel/procedures.json`)).json()) as PanelDescription;
    expect(description.devTokens).toBe(false);
    expect((await postJson(`${jwks}/panel/dev-token`, {})).status).toBe(404);
  });

  it("is off with PANEL_ENABLED=false", async () => {
    const off = await serverWith({ NODE_ENV: "development", PANEL_ENABLED: "false" });
    expect((await fetch(`${off}/panel`)).status).toBe(404);
    expect((await postJson(`${off}/panel/dev-token`, {})).status).toBe(404);
  });
});

describe("a router with a new procedure", () => {
  it("appears in the panel with no change to the panel", async () => {

    const config: Config = testConfig();
    const app = express().use("/panel", createPanelRouter({ router: routerWithEcho, config }));
    const server = app.listen(0, "127.0.0.1");
    await new Promise<void>((resolve) => server.once("listening", resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const description = (await (await fetch(`http://127.0.0.1:${port}/panel/procedures.json`)).json()) as PanelDescription;
      const echo = description.procedures.find((p) => p.path === "tools.echo");
      expect(echo).toMatchObject({
        type: "query",
        input: { properties: { word: { type: "string", minLength: 3 } }, required: ["word"] },
        output: { properties: { echoed: { type: "string" } } },
      });
      expect(description.procedures).toHaveLength(Object.keys(appRouter._def.procedures).length + 1);
    } finally {
      server.close();
    }
  });
});
