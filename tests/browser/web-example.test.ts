/**
 * examples/web in a real browser, both ways a developer gets it, each driven through Debian's Chromium
 * (playwright-core, never a downloaded browser) against a real server on a real database: create through the
 * form (and a field message), see it listed, search, filter, page, edit, and delete.
 *
 * - **workspace**: the README's steps in this repository: `npm run build` at the root, then the Vite dev server
 *   (`npm run dev -w examples/web`), the app resolving `@kuark/features-client` through the npm workspace link.
 *   Two copies of React here are a blank page with "Invalid hook call"; every page error fails the test.
 * - **packed**: the app copied outside the repository with the packed `@kuark/features-client` tarball in place
 *   of the workspace link, installed from the registry on its own, built with `npm run build` (tsc, vite build)
 *   and served as static files.
 *
 * Screenshots go to test-results/web-example/; with WEB_EXAMPLE_SCREENSHOT_DOCS=1 one is also copied to
 * docs/web-example.png (the README's picture), so ordinary runs leave the repository untouched.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { copyFileSync, mkdirSync, realpathSync } from "node:fs";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/support/throwaway-postgres.js";
import { makeDependencies, startServer, testConfig, tokenFor } from "../support/app.js";
import type { RunningServer } from "../support/app.js";
import { createTestDatabase } from "../support/database.js";
import type { TestDatabase } from "../support/database.js";
import { buildLock, clientDir, installedPackageDir, packClient, repositoryRoot, sh } from "../client/packed-client.js";
import { launchChromium } from "../support/browser.js";

const SCREENSHOTS = join(repositoryRoot, "test-results", "web-example");
const CONTENT_TYPES: Record<string, string> = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css" };
const appDir = join(repositoryRoot, "examples", "web");

/** Where the example app is served from, and how to stop it. */
interface Site {
  origin: string;
  close(): Promise<void>;
}

/** Serves `root` on a loopback port, index.html for any path that is not a file. */
async function serveStatic(root: string): Promise<Site> {
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
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The app built against the packed tarball, in a copy outside the repository. */
async function packedSite(workDir: string): Promise<Site> {
  const tarball = await packClient(workDir);
  // The example as a developer has it, but with the package from the tarball instead of the workspace link.
  const app = join(workDir, "web");
  await cp(appDir, app, { recursive: true, filter: (source) => !/[/\\](node_modules|dist)$/.test(source) });
  const manifest = JSON.parse(await readFile(join(app, "package.json"), "utf8")) as { dependencies: Record<string, string> };
  manifest.dependencies["@kuark/features-client"] = `file:${tarball}`;
  await writeFile(join(app, "package.json"), JSON.stringify(manifest, null, 2));
  await sh("npm", ["install", "--no-audit", "--no-fund"], app);
  await sh("npm", ["run", "build"], app); // tsc over the app, then vite build
  return serveStatic(join(app, "dist"));
}

/**
 * The README's steps in the repository: `npm run build` (client/dist), then `npm run dev -w examples/web`.
 * Both run under the client's build lock, held until the dev server stops: another test file packing the
 * client rebuilds client/dist in place, which the dev server would reload mid-test.
 */
async function workspaceDevSite(): Promise<Site> {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const dev: ChildProcess = spawn(
    "flock",
    [buildLock, "sh", "-c", `npm run build && exec npm run dev -w examples/web -- --host 127.0.0.1 --port ${port} --strictPort`],
    { cwd: repositoryRoot, detached: true, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  dev.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  dev.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => dev.once("exit", resolve));
  const stop = async () => {
    if (dev.exitCode === null && dev.signalCode === null) process.kill(-dev.pid!, "SIGTERM"); // its whole process group
    await exited;
  };

  const deadline = Date.now() + 300_000;
  for (;;) {
    const ready = await fetch(origin).then((response) => response.ok, () => false);
    if (ready) break;
    if (dev.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`the example's dev server did not start (exit ${dev.exitCode}):\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return { origin, close: stop };
}

const scenarios = [
  { key: "workspace", name: "workspace: npm run build, then the Vite dev server on the linked client", site: () => workspaceDevSite() },
  { key: "packed", name: "packed: built against the client tarball outside the repository", site: (workDir: string) => packedSite(workDir) },
];

describe.each(scenarios)("the example app, $name", ({ key, site: startSite }) => {
  let workDir: string;
  let site: Site;
  let testDb: TestDatabase;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  /** Uncaught exceptions and console errors of the page, but for the HTTP errors the scenario provokes. */
  const pageErrors: string[] = [];

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), "kuark-web-example-"));
    site = await startSite(workDir);
    testDb = await createTestDatabase();
    server = await startServer(makeDependencies(testDb.db, { config: testConfig({ ALLOWED_ORIGINS: site.origin }) }));

    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
    page.on("pageerror", (error) => pageErrors.push(`${error.name}: ${error.message}`));
    page.on("console", (message) => {
      if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) pageErrors.push(message.text());
    });
    await page.goto(appUrl());
    mkdirSync(SCREENSHOTS, { recursive: true });
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await site?.close();
    await server?.close();
    await testDb?.drop();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  const appUrl = () => `${site.origin}/?${new URLSearchParams({ api: `${server.url}/trpc`, token: tokenFor("ada", `web-org-${process.pid}`) }).toString()}`;
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

  it("creates, lists, searches, edits and deletes features through the example app, with no page error", async () => {
    // A page error (two copies of React: "Invalid hook call") ends the wait with the errors as its value.
    const firstRender = async () => (pageErrors.length > 0 ? pageErrors : await featureList().getByText("No features.").isVisible());
    await expect.poll(firstRender, { timeout: 20_000 }).toBe(true); // the dev server transforms on first load

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
    await page.screenshot({ path: join(SCREENSHOTS, `${key}-1-created.png`), fullPage: true });
    if (process.env.WEB_EXAMPLE_SCREENSHOT_DOCS === "1" && key === "workspace") {
      mkdirSync(join(repositoryRoot, "docs"), { recursive: true });
      copyFileSync(join(SCREENSHOTS, `${key}-1-created.png`), join(repositoryRoot, "docs", "web-example.png"));
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
    await page.screenshot({ path: join(SCREENSHOTS, `${key}-2-edited.png`), fullPage: true });

    await row("Dark mode v2").getByRole("button", { name: "Delete" }).click();
    await expect.poll(() => row("Dark mode v2").count()).toBe(0);
    await expect.poll(() => featureList().getByText("(4 features)").isVisible()).toBe(true);
    await page.screenshot({ path: join(SCREENSHOTS, `${key}-3-deleted.png`), fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it("shows a change made in one page in a second page without a reload, and a feature's history in its edit view", async () => {
    const second = await browser.newPage({ viewport: { width: 1100, height: 760 } });
    second.on("pageerror", (error) => pageErrors.push(`${error.name}: ${error.message}`));
    try {
      await second.goto(appUrl());
      const secondList = () => second.getByRole("region", { name: "Features" });
      await expect.poll(() => secondList().getByRole("status", { name: "Live updates" }).textContent(), { timeout: 20_000 }).toContain("on");
      const loads = { count: 0 };
      second.on("load", () => loads.count++);

      await createFeature("Live toggle", "Made in the first page");
      await expect.poll(() => secondList().getByRole("row", { name: "Live toggle", exact: true }).isVisible(), { timeout: 5_000 }).toBe(true);
      await row("Live toggle").getByRole("button", { name: "Edit" }).click();
      const editForm = page.getByRole("form", { name: "Edit feature" });
      await editForm.getByLabel("Status").selectOption({ label: "Inactive" });
      await editForm.getByRole("button", { name: "Save" }).click();
      await expect.poll(async () => (await secondList().getByRole("row", { name: "Live toggle", exact: true }).textContent()) ?? "", { timeout: 5_000 }).toContain("INACTIVE");
      expect(loads.count).toBe(0); // no reload

      // The second page's edit view: who changed it, and what the status said before.
      await secondList().getByRole("row", { name: "Live toggle", exact: true }).getByRole("button", { name: "Edit" }).click();
      const history = second.getByRole("region", { name: "History" });
      await expect.poll(() => history.textContent(), { timeout: 5_000 }).toContain("created by ada");
      expect(await history.textContent()).toContain('status: "ACTIVE" → "INACTIVE"');
      await second.screenshot({ path: join(SCREENSHOTS, `${key}-4-live-history.png`), fullPage: true });
      expect(pageErrors).toEqual([]);
    } finally {
      await second.close();
    }
  }, 60_000);
});

describe("the workspace install", () => {
  it("gives the example app and the client one copy of React, TanStack Query and tRPC", () => {
    const client = realpathSync(clientDir); // where a bundler resolves the linked client's own imports from
    for (const name of ["react", "@tanstack/react-query", "@trpc/client", "@trpc/server", "@trpc/tanstack-react-query"]) {
      expect(installedPackageDir(name, client), name).toBe(installedPackageDir(name, appDir));
    }
    expect(realpathSync(installedPackageDir("@kuark/features-client", appDir))).toBe(client);
  });
});
