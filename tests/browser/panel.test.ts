/**
 * The developer panel in a real browser (Debian's Chromium through playwright-core, never a downloaded one)
 * against a real server on a real database: dev token, a mutation, a query, and field messages.
 *
 * Screenshots go to test-results/; with PANEL_SCREENSHOT_DOCS=1 the first is also copied to docs/panel.png
 * (the README's picture), so ordinary runs leave the repository untouched.
 */
import { copyFileSync, mkdirSync } from "node:fs";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import * as trpcExpress from "@trpc/server/adapters/express";
import express from "express";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from "vitest";
import { createPanelRouter } from "../../server/panel/panel.router.js";
import type { AppDependencies } from "../../server/dependencies.js";
import type { Context } from "../../server/trpc/context.js";
import { appRouter } from "../../server/trpc/app-router.js";
import { contextFor, makeDependencies, startServer, testConfig, tokenFor } from "../support/app.js";
import type { RunningServer } from "../support/app.js";
import { createTestDatabase } from "../support/database.js";
import type { TestDatabase } from "../support/database.js";
import { routerWithEcho } from "../support/extended-router.js";
import { launchChromium } from "../support/browser.js";

const SCREENSHOTS = "test-results/panel";

let testDb: TestDatabase;
let deps: AppDependencies;
let server: RunningServer;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  testDb = await createTestDatabase();
  deps = makeDependencies(testDb.db, { config: testConfig({ NODE_ENV: "development" }) });
  server = await startServer(deps);
  browser = await launchChromium();
  mkdirSync(SCREENSHOTS, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await testDb?.drop();
});
beforeEach(async () => {
  page = await browser.newPage({ viewport: { width: 1280, height: 820 } });
});
afterEach(async () => {
  await page.close();
});

interface Outcome {
  status: string;
  /** The result pane's text: the data on success, the whole error answer on failure. */
  result: string;
  errorCode: string | null;
  fieldErrors: string[];
}

async function openPanel(baseUrl: string): Promise<void> {
  await page.goto(`${baseUrl}/panel`);
  await page.locator("nav button[data-path]").first().waitFor();
}

/** The procedures the list shows, in order. */
async function listedPaths(): Promise<(string | null)[]> {
  const buttons = await page.locator("nav button[data-path]").all();
  return Promise.all(buttons.map((button) => button.getAttribute("data-path")));
}

/** Waits until "Get dev token" has filled the token field (a string expression: tsconfig has no DOM types). */
async function waitForToken(): Promise<void> {
  await expect.poll(() => page.inputValue("#token"), { timeout: 10_000 }).toMatch(/^.{21,}$/);
}

/** Picks a procedure in the list, types `input` (as JSON) unless undefined, presses Run and reads the answer. */
async function run(path: string, input?: unknown): Promise<Outcome> {
  await page.click(`nav button[data-path="${path}"]`);
  if (input !== undefined) await page.fill("#input", JSON.stringify(input, null, 2));
  await page.click("#run");
  await page.locator('#result-panel[data-state="done"]').waitFor();
  const errorShown = await page.locator("#error").isVisible();
  return {
    status: (await page.textContent("#status")) ?? "",
    result: (await page.textContent("#result")) ?? "",
    errorCode: errorShown ? await page.textContent("#error-code") : null,
    fieldErrors: await page.locator("#field-errors li").allTextContents(),
  };
}

describe("developer panel in Chromium", () => {
  it("shows each procedure's role, and a viewer's dev token is refused a write with FORBIDDEN", async () => {
    await openPanel(server.url);
    expect(await page.textContent('nav button[data-path="features.delete"] .role-tag')).toBe("member+");
    expect(await page.textContent('nav button[data-path="auth.me"] .role-tag')).toBe("any");
    await page.click('nav button[data-path="features.list"]');
    expect(await page.textContent("#proc-role")).toBe("Requires the role viewer or above");

    await page.fill("#dev-sub", "vera");
    await page.fill("#dev-org", `org-browser-viewer-${process.pid}`);
    await page.selectOption("#dev-role", "viewer");
    await page.click("#dev-token");
    await waitForToken();
    expect(await page.textContent("#token-info")).toContain("as viewer");
    expect(JSON.parse((await run("auth.me")).result)).toMatchObject({ role: "viewer" });
    const refused = await run("features.create", { name: "Not for viewers" });
    expect(refused.status).toMatch(/^403 /);
    expect(refused.errorCode).toBe("FORBIDDEN");
    expect((await run("features.list")).status).toMatch(/^200 /);
  });

  it("gets a dev token with one click, creates a feature, and finds it with features.list", async () => {
    const org = `org-browser-${process.pid}`;
    await openPanel(server.url);
    expect(await listedPaths()).toEqual(Object.keys(appRouter._def.procedures).sort((a, b) => a.localeCompare(b)));
    expect(await listedPaths()).toEqual(expect.arrayContaining(["auth.me", "features.create", "features.list"]));

    await page.fill("#dev-sub", "pat");
    await page.fill("#dev-org", org);
    await page.click("#dev-token");
    await waitForToken();
    expect(await page.textContent("#token-info")).toContain(`pat @ ${org}`);

    const me = await run("auth.me");
    expect(me.status).toMatch(/^200 /);
    expect(JSON.parse(me.result)).toEqual({ sub: "pat", organizationId: org, role: "member" });

    // The input starts as an example generated from the JSON Schema.
    await page.click('nav button[data-path="features.create"]');
    expect(JSON.parse(await page.inputValue("#input"))).toEqual({ name: "", description: "", status: "ACTIVE" });
    const created = await run("features.create", { name: "Panel-made feature", description: "typed in a browser" });
    expect(created.status).toMatch(/^200 /);
    expect(created.errorCode).toBeNull();
    const feature = JSON.parse(created.result) as { id: string; organizationId: string; createdById: string };
    expect(feature).toMatchObject({ name: "Panel-made feature", organizationId: org, createdById: "pat", status: "ACTIVE" });

    await page.click('nav button[data-path="features.list"]');
    expect(JSON.parse(await page.inputValue("#input"))).toEqual({ page: 1, limit: 20 });
    const listed = await run("features.list");
    expect(listed.status).toMatch(/^200 /);
    const listedPage = JSON.parse(listed.result) as { data: { id: string; name: string }[]; pagination: { total: number } };
    expect(listedPage.data.map((f) => [f.id, f.name])).toEqual([[feature.id, "Panel-made feature"]]);
    expect(listedPage.pagination.total).toBe(1);
    await page.screenshot({ path: `${SCREENSHOTS}/features-list.png` });
  });

  it("starts a subscription, shows its events as they happen, and stops it", async () => {
    const org = `org-browser-live-${process.pid}`;
    await openPanel(server.url);
    await page.fill("#dev-sub", "pat");
    await page.fill("#dev-org", org);
    await page.click("#dev-token");
    await waitForToken();
    await page.click('nav button[data-path="features.onChange"]');
    expect(await page.textContent("#run")).toBe("Start");
    await page.click("#run");
    await expect.poll(async () => (await page.textContent("#status")) ?? "", { timeout: 10_000 }).toMatch(/^subscribed/);
    expect(await page.textContent("#run")).toBe("Stop");
    const token = tokenFor("someone", org);
    const created = await fetch(`${server.url}/trpc/features.create`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "Seen live in the panel" }),
    });
    expect(created.status).toBe(200);
    await expect.poll(async () => (await page.textContent("#result")) ?? "", { timeout: 10_000 }).toContain("Seen live in the panel");
    expect(await page.textContent("#status")).toContain("1 event");
    const events = JSON.parse((await page.textContent("#result")) ?? "[]") as { id: string; data: { type: string; feature: { createdById: string } } }[];
    expect(events[0]?.data).toMatchObject({ type: "created", feature: { createdById: "someone" } });
    await page.screenshot({ path: `${SCREENSHOTS}/subscription.png` });
    await page.click("#run");
    expect(await page.textContent("#status")).toBe("stopped");
    expect(await page.textContent("#run")).toBe("Start");
  });

  it("shows the field message of a one-character name", async () => {
    await openPanel(server.url);
    await page.click("#dev-token");
    await waitForToken();

    const refused = await run("features.create", { name: "x" });
    expect(refused.status).toMatch(/^400 /);
    expect(refused.errorCode).toBe("BAD_REQUEST");
    expect(refused.fieldErrors).toEqual(["name: must be at least 2 characters"]);
    expect(await page.textContent("#error-message")).toBe("Invalid input");

    const screenshot = `${SCREENSHOTS}/field-error.png`;
    await page.screenshot({ path: screenshot });
    if (process.env.PANEL_SCREENSHOT_DOCS === "1") {
      mkdirSync("docs", { recursive: true });
      copyFileSync(screenshot, "docs/panel.png");
    }
  });

  it("shows UNAUTHORIZED when no token is set", async () => {
    await openPanel(server.url);
    await page.fill("#token", "");
    const refused = await run("features.list");
    expect(refused.status).toMatch(/^401 /);
    expect(refused.errorCode).toBe("UNAUTHORIZED");
    expect(refused.fieldErrors).toEqual([]);
  });

  it("lists and runs a procedure added to the router, with no change to the panel", async () => {

    const app = express()
      .use("/panel", createPanelRouter({ router: routerWithEcho, config: deps.config }))
      .use(
        "/trpc",
        trpcExpress.createExpressMiddleware({
          router: routerWithEcho,
          createContext: ({ req }): Context => contextFor(deps, req.headers.authorization, "browser"),
        }),
      );
    const extra: Server = app.listen(0, "127.0.0.1");
    await new Promise<void>((resolve) => extra.once("listening", resolve));
    try {
      await openPanel(`http://127.0.0.1:${(extra.address() as AddressInfo).port}`);
      await page.click('nav button[data-path="tools.echo"]');
      expect(await page.textContent("#proc-type")).toBe("query");
      expect(JSON.parse(await page.inputValue("#input"))).toEqual({ word: "" });
      expect(JSON.parse((await page.textContent("#input-schema")) ?? "")).toMatchObject({ properties: { word: { minLength: 3 } } });

      const echoed = await run("tools.echo", { word: "hello" });
      expect(JSON.parse(echoed.result)).toEqual({ echoed: "HELLO" });
      const refused = await run("tools.echo", { word: "hi" });
      expect(refused.fieldErrors).toEqual(["word: must be at least 3 characters"]);
    } finally {
      extra.closeAllConnections();
      extra.close();
    }
  });
});
