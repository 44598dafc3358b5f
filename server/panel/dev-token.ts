/**
 * One-click tokens for the developer panel.
 *
 * Why this is safe: `createPanelRouter` mounts this handler only when the panel is enabled AND
 * `NODE_ENV` is not `production`, decided once from the parsed config, so a production process has no such
 * route at all (PANEL_ENABLED=true in production shows the panel, never this). With RS256 tokens
 * (JWT_PUBLIC_KEY) the server cannot sign accepted tokens, and the route does not exist either. Outside production the signing
 * key is usually the well-known development key (config.ts), with which anyone can sign tokens anyway. Tokens
 * live one hour, every one is logged, and the body must be JSON: a cross-site form cannot send it, and a
 * cross-site `fetch` is stopped by CORS before it can read the answer.
 */
import type { RequestHandler } from "express";
import { z } from "zod";
import { signAccessToken } from "../auth/token.js";
import { Role } from "../contract/roles.js";
import type { Config } from "../config.js";
import type { Logger } from "../logger.js";

export const DEV_TOKEN_MINUTES = 60;

/** What the panel's "Get dev token" button sends; all have defaults, so `{}` is enough (no role: DEFAULT_ROLE). */
export const DevTokenInput = z.strictObject({
  sub: z.string().trim().min(1, "must not be empty").max(200, "must be at most 200 characters").default("developer"),
  organizationId: z
    .string()
    .trim()
    .min(1, "must not be empty")
    .max(200, "must be at most 200 characters")
    .default("dev-org"),
  /** The token's role claim (under JWT_ROLE_CLAIM); left out: a token without one. */
  role: Role.optional(),
});

export interface DevTokenResponse {
  token: string;
  sub: string;
  organizationId: string;
  /** The role claimed; absent: none (the caller has DEFAULT_ROLE). */
  role?: string;
  expiresAt: string;
}

/** Only for `createPanelRouter`, which decides whether it may exist. */
export function devTokenHandler(config: Config, log: Logger | undefined): RequestHandler {
  if (config.nodeEnv === "production") throw new Error("dev tokens are never issued in production");
  if (config.jwt.publicKey) throw new Error("dev tokens need an HS256 key; JWT_PUBLIC_KEY means RS256 tokens");
  if (config.jwt.jwks) throw new Error("dev tokens need an HS256 key; JWT_JWKS_URL means the identity provider's tokens");
  const { issuer, audience } = config.jwt;
  return (req, res) => {
    if (!req.is("application/json")) {
      res.status(415).json({ error: "Send a JSON body (Content-Type: application/json)" });
      return;
    }
    const parsed = DevTokenInput.safeParse(req.body ?? {});
    if (!parsed.success) {
      res.status(400).json({ error: "Invalid input", fieldErrors: z.flattenError(parsed.error).fieldErrors });
      return;
    }
    const { sub, organizationId, role } = parsed.data;
    // The same key, issuer and audience the verifier checks, so the token works against this server.
    const token = signAccessToken({ sub, organizationId, role, minutes: DEV_TOKEN_MINUTES, issuer, audience, claims: { organization: config.jwt.orgClaim, sub: config.jwt.subClaim, role: config.jwt.roleClaim } }, config.secretKey);
    log?.warn({ sub, organizationId, role }, "developer panel issued a dev token");
    res.setHeader("Cache-Control", "no-store");
    const body: DevTokenResponse = {
      token,
      sub,
      organizationId,
      ...(role && { role }),
      expiresAt: new Date(Date.now() + DEV_TOKEN_MINUTES * 60_000).toISOString(),
    };
    res.json(body);
  };
}
