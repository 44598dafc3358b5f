/**
 * Access tokens: JWTs whose `sub` and `organization_id` claims say who calls and for which organization.
 * Verification accepts one algorithm: RS256 when a public key is configured (JWT_PUBLIC_KEY), HS256 with
 * SECRET_KEY otherwise; it requires `exp`, and checks `iss` and `aud` when they are configured.
 * `./authenticator.ts` reads a request's token and hands the verified caller to every surface.
 */
import { createPublicKey, createSecretKey } from "node:crypto";
import jwt from "jsonwebtoken";
import { z } from "zod";
import type { Me } from "../contract/index.js";

/**
 * An identifier claim the database can store and index: PostgreSQL text cannot hold NUL, so a well-signed
 * token carrying one (or a `sub` too long for the audit columns) is invalid credentials, not a 500.
 */
const Identifier = z
  .string()
  .min(1)
  .max(200)
  .refine((value) => !value.includes("\u0000"));

const Claims = z.object({
  sub: Identifier,
  organization_id: Identifier,
  exp: z.number(),
  role: z.string().optional(),
  email: z.string().optional(),
});

export class InvalidTokenError extends Error {
  override name = "InvalidTokenError";
}

export interface VerifyOptions {
  /** HS256 key; used when no `publicKey` is given. */
  secretKey: string;
  /** PEM RSA public key: tokens must then be RS256 (HS256 tokens, even signed with this key's text, are refused). */
  publicKey?: string | undefined;
  clockToleranceSeconds?: number;
  issuer?: string | undefined;
  audience?: string | undefined;
}

/** Who calls, and until when: a verified token's caller and its expiry (ms since the epoch, its `exp`). */
export interface Caller {
  me: Me;
  expiresAt: number;
}

export type TokenVerifier = (token: string) => Caller;

/** Builds the verifier once (keys parsed once); it returns the caller or throws InvalidTokenError. */
export function createTokenVerifier(options: VerifyOptions): TokenVerifier {
  // A KeyObject, not the string: given a string, jsonwebtoken tries `createPublicKey` on it first and
  // catches the failure on every call, which was a quarter of the CPU of a `features.byId` (bench/).
  const key = options.publicKey ? createPublicKey(options.publicKey) : createSecretKey(Buffer.from(options.secretKey, "utf8"));
  const verifyOptions: jwt.VerifyOptions = {
    // Pinned to one algorithm: `alg: none`, every other algorithm, and the RS256/HS256 key-confusion
    // attack are refused by jsonwebtoken itself.
    algorithms: [options.publicKey ? "RS256" : "HS256"],
    clockTolerance: options.clockToleranceSeconds ?? 0,
    ...(options.issuer && { issuer: options.issuer }),
    ...(options.audience && { audience: options.audience }),
  };
  const toleranceMs = (options.clockToleranceSeconds ?? 0) * 1000;
  const verified = new VerifiedTokens(VERIFIED_TOKENS_KEPT);
  return (token) => {
    const cached = verified.get(token);
    if (cached) return cached;
    let payload: string | jwt.JwtPayload;
    try {
      payload = jwt.verify(token, key, verifyOptions);
    } catch (error) {
      throw new InvalidTokenError((error as Error).message);
    }
    // Frozen: one caller object is shared by every request carrying this token.
    const me = Object.freeze(toMe(payload));
    // toMe checked that `exp` is a number; jwt.verify accepts the token until exp + the clock tolerance.
    const expiresAt = (payload as jwt.JwtPayload).exp! * 1000;
    const caller: Caller = Object.freeze({ me, expiresAt });
    verified.set(token, caller, expiresAt + toleranceMs);
    return caller;
  };
}

/** How many verified tokens a process remembers (about 300 bytes each). */
const VERIFIED_TOKENS_KEPT = 10_000;

/**
 * Tokens already verified, keyed by the exact token string (a different byte is a different key, so
 * nothing unverified is ever accepted), each kept only until the token's own expiry; when full, the
 * oldest entry goes. Only successes are kept: a refused token is checked again every time. It saves the
 * HMAC/RSA check and claim parsing on every request of a client that reuses its token.
 * A Map in insertion order is the whole cache: an LRU library would add a dependency for these lines.
 */
class VerifiedTokens {
  private readonly entries = new Map<string, { caller: Caller; keepUntil: number }>();
  constructor(private readonly capacity: number) {}

  get(token: string): Caller | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    if (Date.now() < entry.keepUntil) return entry.caller;
    this.entries.delete(token);
    return undefined;
  }

  set(token: string, caller: Caller, keepUntil: number): void {
    if (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(token, { caller, keepUntil });
  }
}

function toMe(payload: string | jwt.JwtPayload): Me {
  // jsonwebtoken checks `exp` only when present; a token without it would never expire.
  const claims = Claims.safeParse(payload);
  if (!claims.success) throw new InvalidTokenError("missing or invalid claims");
  const { sub, organization_id, role, email } = claims.data;
  return { sub, organizationId: organization_id, ...(role && { role }), ...(email && { email }) };
}

export interface SignOptions {
  sub: string;
  organizationId: string;
  minutes: number;
  role?: string | undefined;
  email?: string | undefined;
  issuer?: string | undefined;
  audience?: string | undefined;
}

export function signAccessToken(options: SignOptions, secretKey: string): string {
  const { sub, organizationId, minutes, role, email, issuer, audience } = options;
  return jwt.sign({ organization_id: organizationId, ...(role && { role }), ...(email && { email }) }, secretKey, {
    algorithm: "HS256",
    subject: sub,
    expiresIn: minutes * 60,
    ...(issuer && { issuer }),
    ...(audience && { audience }),
  });
}
