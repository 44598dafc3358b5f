/**
 * Access tokens: JWTs whose `sub` and `organization_id` claims say who calls and for which organization.
 * Verification accepts one algorithm: RS256 when a public key is configured (JWT_PUBLIC_KEY), HS256 with
 * SECRET_KEY (or one of SECRET_KEY_PREVIOUS, while a rotation goes on) otherwise; or, with an identity
 * provider's published keys (JWT_JWKS_URL, `./jwks.ts`), the algorithm of the key the token names. It requires `exp`, and
 * checks `iss` and `aud` when they are configured. The organization and caller claims are named by
 * JWT_ORG_CLAIM and JWT_SUB_CLAIM (an identity provider's `org_id` or `https://kuark.io/org_id`, say). The role
 * claim (JWT_ROLE_CLAIM) becomes the caller's effective role here, once per token: mapped by ROLE_MAP, or
 * DEFAULT_ROLE when the token has none; a value that is neither a role nor mapped is kept as `unknownRole`.
 * `./authenticator.ts` reads a request's token and hands the verified caller to every surface.
 */
import { createPublicKey, createSecretKey } from "node:crypto";
import type { KeyObject } from "node:crypto";
import jwt from "jsonwebtoken";
import { z } from "zod";
import { isWellFormed } from "../contract/common.js";
import { Role } from "../contract/index.js";
import type { Me } from "../contract/index.js";

/**
 * An identifier claim the database can store, index and tell apart: PostgreSQL text cannot hold NUL, a lone
 * surrogate would be stored as U+FFFD (so `"a\ud800"` and `"a\udfff"` would name one organization), and
 * a blank or control-character name is nobody's. A well-signed token carrying one (or a `sub` too long for
 * the audit columns) is invalid credentials, not a 500 and not an alias.
 */
const Identifier = z
  .string()
  .min(1)
  .max(200)
  .refine((value) => isWellFormed(value) && value.trim().length > 0 && !/\p{Cc}/u.test(value));

/** The claims read besides the caller and organization, whatever those are named. */
const OtherClaims = z.object({
  exp: z.number(),
  iat: z.number().optional(),
  email: z.string().optional(),
});

/** Which claims name the organization, the caller and its role (JWT_ORG_CLAIM, JWT_SUB_CLAIM, JWT_ROLE_CLAIM). */
export interface ClaimNames {
  organization: string;
  sub: string;
  /** Unset: `role`. */
  role?: string | undefined;
}

const DEFAULT_CLAIMS: ClaimNames = { organization: "organization_id", sub: "sub" };
const DEFAULT_ROLE_CLAIM = "role";

/** How a token's role claim becomes a role (DEFAULT_ROLE, ROLE_MAP). */
export interface RoleResolution {
  /** The role of a token without a role claim. */
  defaultRole: Role;
  /** An identity provider's values and the roles they are (`{ "org:admin": "admin" }`); a role's own name needs no entry. */
  map: Readonly<Record<string, Role>>;
}

const DEFAULT_RESOLUTION: RoleResolution = { defaultRole: "member", map: {} };

/** The effective role of a claimed one: mapped first, then a role by its own name; else unknown (no access). */
export function resolveRole(claimed: string | undefined, resolution: RoleResolution): Pick<Me, "role" | "unknownRole"> {
  if (claimed === undefined || claimed === "") return { role: resolution.defaultRole };
  const mapped = Object.hasOwn(resolution.map, claimed) ? resolution.map[claimed] : undefined;
  if (mapped !== undefined) return { role: mapped };
  const known = Role.safeParse(claimed);
  return known.success ? { role: known.data } : { unknownRole: claimed };
}

export class InvalidTokenError extends Error {
  override name = "InvalidTokenError";
}

export interface VerifyOptions {
  /** HS256 key; used when no `publicKey` is given. */
  secretKey: string;
  /** Earlier HS256 keys, still accepted for verification (a rotation of `secretKey`). */
  previousSecretKeys?: string[] | undefined;
  claims?: ClaimNames | undefined;
  /** Unset: role-less tokens are members, and no value is mapped. */
  roles?: RoleResolution | undefined;
  /** The longest lifetime a token may have (`exp - iat`, or `exp - now` without `iat`); unset: no limit. */
  maxLifetimeMinutes?: number | undefined;
  /** PEM RSA public key: tokens must then be RS256 (HS256 tokens, even signed with this key's text, are refused). */
  publicKey?: string | undefined;
  /** Set: each token's key and algorithm come from here (published keys, `./jwks.ts`), never from `publicKey` or a secret key. */
  resolveKey?: KeyResolver | undefined;
  clockToleranceSeconds?: number;
  issuer?: string | undefined;
  audience?: string | undefined;
}

/** The key that verifies one token, and the one algorithm the token may then have. */
export interface ResolvedKey {
  key: KeyObject;
  algorithm: jwt.Algorithm;
}

/** A token's key: at once, or a promise when it must be fetched; throws (or rejects with) InvalidTokenError. */
export type KeyResolver = (token: string) => ResolvedKey | Promise<ResolvedKey>;

/** Who calls, and until when: a verified token's caller and its expiry (ms since the epoch, its `exp`). */
export interface Caller {
  me: Me;
  expiresAt: number;
}

/**
 * Verifies a token: the caller, or InvalidTokenError (thrown, or the promise's rejection). A verifier
 * answers at once when it can (a JWT of a configured key, a token verified before) and returns a promise
 * only when it has to wait (fetching a published key, looking a key up).
 */
export type TokenVerifier = (token: string) => Caller | Promise<Caller>;

/** Builds the verifier once (keys parsed once); it returns the caller or throws InvalidTokenError. */
export function createTokenVerifier(options: VerifyOptions): TokenVerifier {
  // A KeyObject, not the string: given a string, jsonwebtoken tries `createPublicKey` on it first and
  // catches the failure on every call, which was a quarter of the CPU of a `features.byId` (bench/).
  // The current key first: a token of a previous key costs one failed check more, once (verified tokens are remembered).
  const keys = options.publicKey
    ? [createPublicKey(options.publicKey)]
    : [options.secretKey, ...(options.previousSecretKeys ?? [])].map((secret) => createSecretKey(Buffer.from(secret, "utf8")));
  const claimNames = options.claims ?? DEFAULT_CLAIMS;
  const roles = options.roles ?? DEFAULT_RESOLUTION;
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
  const accept = (token: string, candidates: KeyObject[], pinned: jwt.VerifyOptions): Caller => {
    const payload = verifiedPayload(token, candidates, pinned);
    // Frozen: one caller object is shared by every request carrying this token.
    const me = Object.freeze(toMe(payload, claimNames, roles));
    checkLifetime(payload as jwt.JwtPayload, toleranceMs, options.maxLifetimeMinutes);
    // toMe checked that `exp` is a number; jwt.verify accepts the token until exp + the clock tolerance.
    const expiresAt = (payload as jwt.JwtPayload).exp! * 1000;
    const caller: Caller = Object.freeze({ me, expiresAt });
    verified.set(token, caller, expiresAt + toleranceMs);
    return caller;
  };
  const { resolveKey } = options;
  if (resolveKey) {
    // Pinned to the key's one algorithm, as above (an HS256 token never reaches a published key).
    const withKey = (token: string, { key, algorithm }: ResolvedKey) => accept(token, [key], { ...verifyOptions, algorithms: [algorithm] });
    return (token) => {
      const cached = verified.get(token);
      if (cached) return cached;
      const resolved = resolveKey(token);
      return resolved instanceof Promise ? resolved.then((key) => withKey(token, key)) : withKey(token, resolved);
    };
  }
  return (token) => verified.get(token) ?? accept(token, keys, verifyOptions);
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

/**
 * The payload of `token` verified with the first of `keys` whose signature matches. Only a bad signature
 * moves on to the next key; any other refusal (expired, wrong issuer) is the answer.
 */
function verifiedPayload(token: string, keys: KeyObject[], verifyOptions: jwt.VerifyOptions): string | jwt.JwtPayload {
  for (const [index, key] of keys.entries()) {
    let verified: jwt.Jwt;
    try {
      verified = jwt.verify(token, key, { ...verifyOptions, complete: true });
    } catch (error) {
      const badSignature = error instanceof jwt.JsonWebTokenError && error.message === "invalid signature";
      if (!badSignature || index === keys.length - 1) throw new InvalidTokenError((error as Error).message);
      continue;
    }
    // RFC 7515 4.1.11: a header extension the recipient does not understand must be refused (none is understood here).
    if ((verified.header as { crit?: unknown }).crit !== undefined) throw new InvalidTokenError("unsupported crit header");
    return verified.payload;
  }
  throw new InvalidTokenError("no key to verify with");
}

/** A token issued in the future, or living longer than `maxLifetimeMinutes`, is refused (`exp` was checked by jsonwebtoken). */
function checkLifetime(payload: jwt.JwtPayload, toleranceMs: number, maxLifetimeMinutes: number | undefined): void {
  const now = Date.now();
  const issuedAt = payload.iat === undefined ? undefined : payload.iat * 1000;
  if (issuedAt !== undefined && issuedAt > now + toleranceMs) throw new InvalidTokenError("token issued in the future");
  if (maxLifetimeMinutes === undefined) return;
  const lifetimeMs = payload.exp! * 1000 - (issuedAt ?? now);
  if (lifetimeMs > maxLifetimeMinutes * 60_000) throw new InvalidTokenError(`token lives longer than ${maxLifetimeMinutes} minutes`);
}

function toMe(payload: string | jwt.JwtPayload, names: ClaimNames, roles: RoleResolution): Me {
  if (typeof payload !== "object") throw new InvalidTokenError("missing or invalid claims");
  // jsonwebtoken checks `exp` only when present; a token without it would never expire.
  const others = OtherClaims.safeParse(payload);
  const sub = Identifier.safeParse(payload[names.sub]);
  const organizationId = Identifier.safeParse(payload[names.organization]);
  const role = z.string().optional().safeParse(payload[names.role ?? DEFAULT_ROLE_CLAIM]);
  if (!others.success || !sub.success || !organizationId.success || !role.success) throw new InvalidTokenError("missing or invalid claims");
  const { email } = others.data;
  return { sub: sub.data, organizationId: organizationId.data, ...resolveRole(role.data, roles), ...(email && { email }) };
}

export interface SignOptions {
  sub: string;
  organizationId: string;
  minutes: number;
  role?: string | undefined;
  email?: string | undefined;
  issuer?: string | undefined;
  audience?: string | undefined;
  /** The claim names the service reads (JWT_ORG_CLAIM, JWT_SUB_CLAIM, JWT_ROLE_CLAIM), so its own tokens carry them. */
  claims?: ClaimNames | undefined;
}

/** An HS256 token signed with `secretKey` (SECRET_KEY: never a previous key), for development and tests. */
export function signAccessToken(options: SignOptions, secretKey: string): string {
  const { sub, organizationId, minutes, role, email, issuer, audience } = options;
  const names = options.claims ?? DEFAULT_CLAIMS;
  const subject = names.sub === "sub" ? { subject: sub } : {};
  const payload = {
    [names.organization]: organizationId,
    ...(names.sub !== "sub" && { [names.sub]: sub }),
    ...(role && { [names.role ?? DEFAULT_ROLE_CLAIM]: role }),
    ...(email && { email }),
  };
  return jwt.sign(payload, secretKey, {
    algorithm: "HS256",
    ...subject,
    expiresIn: minutes * 60,
    ...(issuer && { issuer }),
    ...(audience && { audience }),
  });
}
