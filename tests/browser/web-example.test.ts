/**
 * examples/web in a real browser: the example app is built against the packed `@kuark/features-client` (installed
 * from the tarball into a copy of the app outside the repository), served as static files, and driven through
 * Debian's Chromium (playwright-core, never a downloaded browser) against a real server on a real database:
 * create through the form (and a field message), see it listed, search, filter, page, edit, and delete.
 *
 * Screenshots go to test-results/web-example/; with WEB_EXAMPLE_SCREENSHOT_DOCS=1 one is also copied to
 * docs/web-example.png (the README's picture), so ordinary runs leave the repository untouched.
 */
import { copyFileSync, mkdirSync } from "node:fs";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { chromium } from "playwright-core";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { makeServices, startServer, testConfig, tokenFor } from "../support/app.js";
import type { RunningServer } from "../support/app.js";
import { createTestDatabase } from "../support/database.js";
import type { TestDatabase } from "../support/database.js";
import { packClient, repositoryRoot, sh } from "../client/packed-client.js";

const CHROMIUM = "/usr/bin/chromium";
const SCREENSHOTS = join(repositoryRoot, "test-results", "web-example");
const CONTENT_TYPES: Record<string, string> = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css" };

let workDir: string;
let testDb: TestDatabase;
let server: RunningServer;
let site: Server;
let browser: Browser;
let page: Page;

/** Serves `root` on a loopback port, index.html for any path that is not a file. */
async function serveStatic(root: string): Promise<{ server: Server; origin: string }> {
  const server = createServer((req, res) => {
    const path = normalize(new URL(req.url ?? "/", "http://x").pathname).replace(/^(\.\.[/\\])+/, "");
    const file = join(root, path === "/" ? "index.html" : path);
    readFile(file)
      .catch(() => readFile(join(root, "index.html")))
      .then((body) => {
        res.writeHead(200, { "content-type": CONTENT_TYPES[extname(file)] ?? "text/html" });
        res.end(body);
      })
      .catch(() => res.writeHead(404).end());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), "kuark-web-example-"));
  const tarball = await packClient(workDir);

  // The example as a developer has it, but with the package from the tarball instead of the file: link.
  const app = join(workDir, "web");
  await cp(join(repositoryRoot, "examples", "web"), app, {
    recursive: true,
    filter: (source) => !/[/\\](node_modules|dist)$/.test(source),
  });
  const manifest = JSON.parse(await readFile(join(app, "package.json"), "utf8")) as { dependencies: Record<string, string> };
  manifest.dependencies["@kuark/features-client"] = `file:${tarball}`;
  await writeFile(join(app, "package.json"), JSON.stringify(manifest, null, 2));
  await sh("npm", ["install", "--no-audit", "--no-fund"], app);
  await sh("npm", ["run", "build"], app); // tsc over the app, then vite build

  const served = await serveStatic(join(app, "dist"));
  site = served.server;
  testDb = await createTestDatabase();
  server = await startServer(makeServices(testDb.db, { config: testConfig({ ALLOWED_ORIGINS: served.origin }) }));

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
  page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
  const query = new URLSearchParams({ api: `${server.url}/trpc`, token: tokenFor("ada", `web-org-${process.pid}`) });
  await page.goto(`${served.origin}/?${query.toString()}`);
  mkdirSync(SCREENSHOTS, { recursive: true });
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => (site ? site.close(resolve) : resolve(undefined)));
  await server?.close();
  await testDb?.drop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

const createForm = () => page.getByRole("form", { name: "New feature" });
const featureList = () => page.getByRole("region", { name: "Features" });
const row = (name: string) => featureList().getByRole("row", { name, exact: true });

async function createFeature(name: string, description: string, status: "Active" | "Inactive" = "Active") {
  await createForm().getByLabel("Name").fill(name);
  await createForm().getByLabel("Description").fill(description);
  await createForm().getByLabel("Status").selectOption({ label: status });
  await createForm().getByRole("button", { name: "Create" }).click();
  await expect.poll(() => createForm().getByLabel("Name").inputValue()).toBe("");
}

it("creates, lists, searches, edits and deletes features through the example app", async () => {
  await expect.poll(() => featureList().getByText("No features.").isVisible()).toBe(true);

  // A field message from the server's BAD_REQUEST, read from the error by the app.
  await createForm().getByLabel("Name").fill("x");
  await createForm().getByRole("button", { name: "Create" }).click();
  await expect.poll(() => createForm().getByText("must be at least 2 characters").isVisible()).toBe(true);

  await createFeature("Dark mode", "Night theme for the dashboard");
  await expect.poll(() => row("Dark mode").isVisible()).toBe(true);
  expect(await row("Dark mode").textContent()).toContain("Night theme for the dashboard");
  await createFeature("Audit log", "Who changed what", "Inactive");
  await createFeature("Beta banner", "Shown to early users");
  await expect.poll(() => featureList().getByText("Page 1 of 1 (3 features)").isVisible()).toBe(true);
  await page.screenshot({ path: join(SCREENSHOTS, "1-created.png"), fullPage: true });
  if (process.env.WEB_EXAMPLE_SCREENSHOT_DOCS === "1") {
    mkdirSync(join(repositoryRoot, "docs"), { recursive: true });
    copyFileSync(join(SCREENSHOTS, "1-created.png"), join(repositoryRoot, "docs", "web-example.png"));
  }

  // Search and status filter go to the server.
  await featureList().getByLabel("Search").fill("dark");
  await expect.poll(() => featureList().getByText("(1 features)").isVisible()).toBe(true);
  expect(await row("Audit log").count()).toBe(0);
  await featureList().getByLabel("Search").fill("");
  await featureList().getByLabel("Status filter").selectOption({ label: "Inactive" });
  await expect.poll(() => featureList().getByText("(1 features)").isVisible()).toBe(true);
  expect(await row("Audit log").isVisible()).toBe(true);
  await featureList().getByLabel("Status filter").selectOption({ label: "All" });
  await expect.poll(() => featureList().getByText("(3 features)").isVisible()).toBe(true);

  // Paging: five a page.
  for (const name of ["Export CSV", "Feedback form", "Gradual rollout"]) await createFeature(name, "");
  await expect.poll(() => featureList().getByText("Page 1 of 2 (6 features)").isVisible()).toBe(true);
  await featureList().getByRole("button", { name: "Next" }).click();
  await expect.poll(() => featureList().getByText("Page 2 of 2 (6 features)").isVisible()).toBe(true);
  expect(await featureList().getByRole("row").count()).toBe(2); // the header and one feature
  await featureList().getByRole("button", { name: "Previous" }).click();
  await expect.poll(() => featureList().getByText("Page 1 of 2 (6 features)").isVisible()).toBe(true);
  await row("Gradual rollout").getByRole("button", { name: "Delete" }).click();
  await expect.poll(() => featureList().getByText("(5 features)").isVisible()).toBe(true);

  await row("Dark mode").getByRole("button", { name: "Edit" }).click();
  const editForm = page.getByRole("form", { name: "Edit feature" });
  await editForm.getByLabel("Name").fill("Dark mode v2");
  await editForm.getByLabel("Status").selectOption({ label: "Inactive" });
  await editForm.getByRole("button", { name: "Save" }).click();
  await expect.poll(() => row("Dark mode v2").isVisible()).toBe(true);
  expect(await row("Dark mode v2").textContent()).toContain("INACTIVE");
  expect(await row("Dark mode").count()).toBe(0);
  await page.screenshot({ path: join(SCREENSHOTS, "2-edited.png"), fullPage: true });

  await row("Dark mode v2").getByRole("button", { name: "Delete" }).click();
  await expect.poll(() => row("Dark mode v2").count()).toBe(0);
  await expect.poll(() => featureList().getByText("(4 features)").isVisible()).toBe(true);
  await page.screenshot({ path: join(SCREENSHOTS, "3-deleted.png"), fullPage: true });
});
