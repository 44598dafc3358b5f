/**
 * The developer panel: a page that lists every procedure of a router with its input schema, and calls the
 * real tRPC endpoint from the browser (queries by GET `?input=`, mutations by POST, plain JSON).
 *
 * The page is static HTML, CSS and vanilla JS under `static/` (no build step); all it learns about the API
 * comes from `procedures.json`, which `describeProcedures` derives from the router it is given.
 */
import { readFileSync } from "node:fs";
import type { AnyTRPCRouter } from "@trpc/server";
import express from "express";
import type { Config } from "../config.js";
import type { Logger } from "../logger.js";
import { devTokenHandler } from "./dev-token.js";
import { describeProcedures } from "./procedures.js";
import type { ProcedureDescription } from "./procedures.js";

export interface PanelOptions {
  /** Any tRPC router; the panel lists what it holds. */
  router: AnyTRPCRouter;
  config: Config;
  /** Where that router's tRPC middleware is mounted. */
  trpcPath?: string;
  /** Receives a warning for every dev token issued. */
  log?: Logger;
}

/** What `GET <panel>/procedures.json` answers. */
export interface PanelDescription {
  trpcPath: string;
  /** Whether `POST <panel>/dev-token` exists (never in production, nor with RS256 tokens). */
  devTokens: boolean;
  procedures: ProcedureDescription[];
}

function asset(name: string): string {
  return readFileSync(new URL(`./static/${name}`, import.meta.url), "utf8");
}

// The page runs its own script and style only, and talks only to this origin.
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

function escapeAttribute(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The panel as an Express router, to mount with `app.use("/panel", createPanelRouter(...))`. When the panel is
 * disabled (PANEL_ENABLED, see config.ts) the router is empty, so requests fall through to the app's 404.
 */
export function createPanelRouter(options: PanelOptions): express.Router {
  const { router, config, trpcPath = "/trpc", log } = options;
  const panel = express.Router();
  if (!config.panelEnabled) return panel;

  // With JWT_PUBLIC_KEY (RS256) or JWT_JWKS_URL the server holds no key that signs tokens it accepts, so no dev tokens.
  const devTokens = config.nodeEnv !== "production" && !config.jwt.publicKey && !config.jwt.jwks;
  const description: PanelDescription = { trpcPath, devTokens, procedures: describeProcedures(router) };
  const html = asset("index.html");
  const files: Record<string, { type: string; body: string }> = {
    "/panel.js": { type: "text/javascript", body: asset("panel.js") },
    "/panel.css": { type: "text/css", body: asset("panel.css") },
  };

  panel.use((_req, res, next) => {
    res.setHeader("X-Content-Type-Options", "nosniff");
    res.setHeader("Referrer-Policy", "no-referrer");
    res.setHeader("Cache-Control", "no-store");
    next();
  });

  panel.get("/", (req, res) => {
    res.setHeader("Content-Security-Policy", CONTENT_SECURITY_POLICY);
    res.type("html").send(html.replaceAll("{{base}}", escapeAttribute(req.baseUrl)));
  });

  for (const [path, file] of Object.entries(files)) {
    panel.get(path, (_req, res) => {
      res.type(file.type).send(file.body);
    });
  }

  panel.get("/procedures.json", (_req, res) => {
    res.json(description);
  });

  // See dev-token.ts for why this is safe; in production the route does not exist.
  if (devTokens) panel.post("/dev-token", express.json({ limit: "2kb" }), devTokenHandler(config, log));

  // A body express.json() cannot parse: a JSON answer, not Express's default HTML page with a stack.
  panel.use((error: { status?: number; type?: string }, _req: express.Request, res: express.Response, next: express.NextFunction) => {
    if (error.type === "entity.parse.failed" || error.type === "entity.too.large") {
      res.status(error.status ?? 400).json({ error: error.type === "entity.too.large" ? "Body too large" : "Body is not valid JSON" });
      return;
    }
    next(error);
  });

  return panel;
}
