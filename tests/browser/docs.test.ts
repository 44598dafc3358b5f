/**
 * /docs (Swagger UI from swagger-ui-dist) in Debian's Chromium against a real server: every route of
 * every registered resource is listed, the page has no errors (CSP violations included), and no request
 * leaves the service.
 */
import { mkdirSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeDependencies, startServer, testConfig, tokenFor } from "../support/app.js";
import type { RunningServer } from "../support/app.js";
import { createTestDatabase } from "../support/database.js";
import type { TestDatabase } from "../support/database.js";
import { launchChromium } from "../support/browser.js";
import { everyOperation } from "../rest/registry-routes.js";

const SCREENSHOTS = "test-results/docs";

let testDb: TestDatabase;
let server: RunningServer;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];
const consoleErrors: string[] = [];
const requested: string[] = [];

beforeAll(async () => {
  testDb = await createTestDatabase();
  server = await startServer(makeDependencies(testDb.db, { config: testConfig({ NODE_ENV: "development" }) }));
  browser = await launchChromium();
  mkdirSync(SCREENSHOTS, { recursive: true });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("pageerror", (error) => pageErrors.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error") consoleErrors.push(message.text());
  });
  page.on("request", (request) => requested.push(request.url()));
  page.on("response", (response) => {
    if (response.status() >= 400) consoleErrors.push(`${response.status()} ${response.url()}`);
  });
});
afterAll(async () => {
  await page?.close();
  await browser?.close();
  await server?.close();
  await testDb?.drop();
});

describe("/docs in Chromium", () => {
  it("lists every route of the document, with no page errors and no request leaving the service", async () => {
    await page.goto(`${server.url}/docs`);
    await page.locator(".opblock").first().waitFor();
    const methods = await page.locator(".opblock-summary-method").allTextContents();
    const paths = await Promise.all((await page.locator(".opblock-summary-path").all()).map((node) => node.getAttribute("data-path")));
    const operations = methods.map((method, i) => `${method} ${paths[i]}`);
    expect(operations).toEqual(
      expect.arrayContaining([
        "GET /api/v1/features",
        "POST /api/v1/features",
        "GET /api/v1/features/{id}",
        "PUT /api/v1/features/{id}",
        "PATCH /api/v1/features/{id}",
        "DELETE /api/v1/features/{id}",
      ]),
    );
    // Every route of every registered resource, nested routes of references included, and no other.
    expect(operations.sort()).toEqual(everyOperation().sort());
    // The bearer scheme is offered (the Authorize button).
    expect(await page.locator("button.authorize").count()).toBe(1);
    await page.screenshot({ path: `${SCREENSHOTS}/docs.png` });

    expect(pageErrors).toEqual([]);
    expect(consoleErrors).toEqual([]);
    expect(requested.length).toBeGreaterThan(0);
    const foreign = requested.filter((url) => !url.startsWith(`${server.url}/`) && !url.startsWith("data:"));
    expect(foreign).toEqual([]);
    expect(requested).toContain(`${server.url}/api/v1/openapi.json`);
  });

  it("'Try it out' calls the REST API from the page with a bearer token", async () => {
    const token = tokenFor("docs", `docs-${process.pid}`);
    await page.click("button.authorize");
    await page.fill(".auth-container input", token);
    await page.click(".auth-btn-wrapper button.authorize");
    await page.click("button.btn-done");

    const list = page.locator(".opblock-get", { has: page.locator('[data-path="/api/v1/features"]') });
    await list.locator(".opblock-summary").click();
    await list.locator("button.try-out__btn").click();
    await list.locator("button.execute").click();
    const status = list.locator(".live-responses-table tbody .response-col_status").first();
    await status.waitFor();
    expect((await status.textContent())?.trim()).toBe("200");
    expect(await list.locator(".live-responses-table tbody .response-col_description").first().textContent()).toContain('"total_pages"');

    expect(pageErrors).toEqual([]);
    const foreign = requested.filter((url) => !url.startsWith(`${server.url}/`) && !url.startsWith("data:"));
    expect(foreign).toEqual([]);
    expect(requested.some((url) => url.startsWith(`${server.url}/api/v1/features?`) || url === `${server.url}/api/v1/features`)).toBe(true);
  });
});
