/**
 * The API keys contract (`apiKeys`: create, list, byId, delete): an organization's long-lived credentials,
 * each acting with its own role (docs/credentials.md). A built-in beside the list of resources, not one of
 * them: its create answers the key's secret (once), it has no update, and what identifies a key (the
 * secret's hash) never leaves the server. Imports nothing but zod and the shared pieces.
 */
import { z } from "zod";
import { FieldInput, Pagination, ResourceId } from "./common.js";
import { Role } from "./roles.js";

/** How every API key's secret begins: what tells a key from a JWT, in any header. */
export const API_KEY_PREFIX = "kuark_";

/** An API key as every read answers it: never its secret, only the prefix that tells keys apart. */
export const ApiKey = z.object({
  id: z.uuid(),
  organizationId: z.string(),
  name: z.string(),
  /** The role the key acts with. */
  role: Role,
  /** `kuark_` and the first characters of the secret's random part: how a list tells keys apart. */
  prefix: z.string(),
  /** Null: the key never expires (it can still be deleted). */
  expiresAt: z.iso.datetime().nullable(),
  /** When the key was last used, to the minute (written at most once a minute); null: never. */
  lastUsedAt: z.iso.datetime().nullable(),
  createdById: z.string(),
  updatedById: z.string(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type ApiKey = z.infer<typeof ApiKey>;

/** A moment at least a second ahead (an expiry in the past would make a key that never works). */
const FutureTimestamp = z.iso
  .datetime({ offset: true, error: "must be an ISO-8601 timestamp (2030-01-01T00:00:00Z)" })
  .refine((value) => new Date(value).getTime() > Date.now() + 1_000, "must be in the future");

export const ApiKeyCreateInput = z.strictObject({
  name: FieldInput.string(),
  /** At most the creator's own role: FORBIDDEN otherwise. */
  role: Role,
  /** Left out or null: the key does not expire. */
  expiresAt: FutureTimestamp.nullable().optional(),
});
export type ApiKeyCreateInput = z.input<typeof ApiKeyCreateInput>;

/** The create's answer: the key, and its secret. The only answer that ever holds the secret. */
export const ApiKeyCreated = ApiKey.extend({
  /** `kuark_` + 43 characters (32 random bytes, base64url): send it as `Authorization: Bearer` or `X-API-Key`. */
  secret: z.string(),
});
export type ApiKeyCreated = z.infer<typeof ApiKeyCreated>;

/** The list's input object (REST's query parameters): numbered pages, newest first. */
export const ApiKeyListObject = z.strictObject({
  page: z.number().int().min(1).max(1_000_000).default(1),
  limit: z.number().int().min(1).max(100).default(20),
});
export const ApiKeyListInput = ApiKeyListObject.default({ page: 1, limit: 20 });
export const ApiKeyPage = z.object({ data: z.array(ApiKey), pagination: Pagination });
export const ApiKeyByIdInput = z.strictObject({ id: ResourceId() });
export const ApiKeyDeleteOutput = z.object({ id: z.uuid() });
