/**
 * The interactive reference of the REST API at /docs: Swagger UI from the `swagger-ui-dist` npm package,
 * served by this process (no CDN), reading the document at `openApiUrl`.
 *
 * Why swagger-ui-dist: it is the FastAPI service's own /docs page (the same UI its users know), a
 * prebuilt bundle with no build step, maintained by SmartBear. Only the files the page loads are
 * served, plus a small initializer of ours, so the page runs no inline script.
 */
import { createRequire } from "node:module";
import express from "express";
import type { Config } from "../config.js";

const require = createRequire(import.meta.url);
const ASSETS: Record<string, { file: string; type: string }> = {
  "/swagger-ui.css": { file: require.resolve("swagger-ui-dist/swagger-ui.css"), type: "text/css" },
  "/swagger-ui-bundle.js": { file: require.resolve("swagger-ui-dist/swagger-ui-bundle.js"), type: "text/javascript" },
  "/favicon-32x32.png": { file: require.resolve("swagger-ui-dist/favicon-32x32.png"), type: "image/png" },
};

/**
 * Swagger UI styles its widgets with inline `style` attributes and draws icons from data: URLs; it runs
 * only the scripts served here, and talks to this origin only (the online validator is turned off below).
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const page = (base: string) => `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Kuark Features service: REST API</title>
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <link rel="icon" type="image/png" href="${base}/favicon-32x32.png">
  <link rel="stylesheet" href="${base}/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="${base}/swagger-ui-bundle.js"></script>
  <script src="${base}/init.js"></script>
</body>
</html>
`;

const initializer = (openApiUrl: string) => `"use strict";
window.ui = SwaggerUIBundle({
  url: ${JSON.stringify(openApiUrl)},
  dom_id: "#swagger-ui",
  deepLinking: true,
  // null: never send the document to validator.swagger.io (the page talks to this service only).
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
`;

export interface DocsOptions {
  config: Pick<Config, "docsEnabled">;
  /** Where the OpenAPI document is served: "/api/v1/openapi.json". */
  openApiUrl: string;
}

/** Mount with `app.use("/docs", createDocsRouter(...))`; empty (so a 404) when DOCS_ENABLED is off. */
export function createDocsRouter({ config, openApiUrl }: DocsOptions): express.Router {
  const docs = express.Router();
  if (!config.docsEnabled) return docs;
  const init = initializer(openApiUrl);

  docs.get("/", (req, res) => {
    res.setHeader("Content-Security-Policy", CONTENT_SECURITY_POLICY);
    res.setHeader("Cache-Control", "no-store");
    // The asset URLs are absolute, so /docs and /docs/ both work (baseUrl is where the router is mounted).
    res.type("html").send(page(req.baseUrl.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)));
  });
  docs.get("/init.js", (_req, res) => {
    res.type("text/javascript").send(init);
  });
  for (const [path, asset] of Object.entries(ASSETS)) {
    docs.get(path, (_req, res) => {
      res.type(asset.type).sendFile(asset.file, { maxAge: "1h" });
    });
  }
  return docs;
}
