/**
 * Access tokens: HS256 JWTs whose `sub` and `organization_id` claims say who calls and for which
 * organization. Verification accepts HS256 only, and requires `exp`.
 */
import jwt from "jsonwebtoken";
import { z } from "zod";
import type { Me } from "../contract/index.js";

const Claims = z.object({
  sub: z.string().min(1),
  organization_id: z.string().min(1).max(200),
  exp: z.number(),
  role: z.string().optional(),
  email: z.string().optional(),
});

export class InvalidTokenError extends Error {
  override name = "InvalidTokenError";
}

/** Verifies a compact JWT and returns the caller; throws InvalidTokenError for any defect. */
export function verifyAccessToken(token: string, secretKey: string): Me {
  let payload: string | jwt.JwtPayload;
  try {
    // `algorithms` pinned: `alg: none` and every other algorithm are refused by jsonwebtoken itself.
    payload = jwt.verify(token, secretKey, { algorithms: ["HS256"] });
  } catch (error) {
    throw new InvalidTokenError((error as Error).message);
  }
  // jsonwebtoken checks `exp` only when present; a token without it would never expire.
  const claims = Claims.safeParse(payload);
  if (!claims.success) throw new InvalidTokenError("missing or invalid claims");
  const { sub, organization_id, role, email } = claims.data;
  return { sub, organizationId: organization_id, ...(role && { role }), ...(email && { email }) };
}

/** Extracts the token of an `Authorization: Bearer <token>` header. */
export function bearerToken(header: string | undefined): string {
  const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
  if (!match?.[1]) throw new InvalidTokenError("missing bearer token");
  return match[1];
}

export interface SignOptions {
  sub: string;
  organizationId: string;
  minutes: number;
  role?: string;
  email?: string;
}

export function signAccessToken(options: SignOptions, secretKey: string): string {
  const { sub, organizationId, minutes, role, email } = options;
  return jwt.sign({ organization_id: organizationId, ...(role && { role }), ...(email && { email }) }, secretKey, {
    algorithm: "HS256",
    subject: sub,
    expiresIn: minutes * 60,
  });
}
