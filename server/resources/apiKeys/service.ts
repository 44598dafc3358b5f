/**
 * The API keys service: a built-in beside the list of resources (server/resources/definitions.ts), made of
 * the kit's pieces: the organization scope (every statement through `OrgData.scoped`, audit fields stamped
 * by it, soft delete), the change log (an event per create and delete, in the write's transaction, whose
 * notification also tells every instance to drop its cached keys of the organization) and an access policy
 * (`admin` for every operation). Not in the list because it is not a domain resource: its create answers a
 * secret, it has no update, and its secret's hash must never reach a read, an event or the registry-wide tests.
 */
import { newApiKeySecret } from "../../auth/api-keys.js";
import type { ApiKey, ApiKeyCreated } from "../../contract/apiKeys.js";
import { ApiKey as ApiKeySchema } from "../../contract/apiKeys.js";
import type { Pagination } from "../../contract/common.js";
import type { Role } from "../../contract/roles.js";
import { Prisma } from "../../generated/prisma/client.js";
import { atLeast, policyOf, requireRole } from "../../kit/access.js";
import type { AccessPolicy } from "../../kit/access.js";
import { ForbiddenError, NotFoundError } from "../../kit/errors.js";
import type { Actor, OrgData } from "../../kit/scope.js";
import { createStatements, entityShapeOf } from "../../kit/statements.js";
import type { WrittenRow } from "../../kit/statements.js";

/** The key of the built-in: its router key, its change events' resource. */
export const API_KEYS = "apiKeys";
/** The name in messages ("ApiKey not found"), as a resource's name would be. */
export const API_KEY_NAME = "ApiKey";
const MODEL = "OrganizationApiKey";
const TABLE = "api_keys";

/** Only an admin (or owner) sees, makes or deletes keys: a key is a credential of the whole organization. */
export const API_KEYS_POLICY: AccessPolicy = policyOf({ read: "admin", create: "admin", update: "admin", delete: "admin" });

export interface ApiKeyService {
  /** Makes a key with a role no higher than the actor's (else ForbiddenError); the answer holds its secret, once. */
  create(actor: Actor, input: { name: string; role: Role; expiresAt?: string | null | undefined }): Promise<ApiKeyCreated>;
  /** The organization's live keys, newest first. */
  list(actor: Actor, params: { page: number; limit: number }): Promise<{ data: ApiKey[]; pagination: Pagination }>;
  byId(actor: Actor, id: string): Promise<ApiKey>;
  /** Revokes the key: soft-deleted, refused from then on (every instance drops it from its cache). */
  softDelete(actor: Actor, id: string): Promise<{ id: string }>;
}

export interface ApiKeyServiceOptions {
  /** Told after a key of the organization was deleted (committed): this process's verifier drops it at once. */
  onRevoked?: ((organizationId: string) => void) | undefined;
}

export function createApiKeyService(data: OrgData, options: ApiKeyServiceOptions = {}): ApiKeyService {
  // The entity's fields are what statements read and events carry: never `secretHash`.
  const statements = createStatements(API_KEYS, entityShapeOf(ApiKeySchema));
  const scoped = (on: OrgData, actor: Actor) => on.scoped(MODEL, TABLE, actor);

  return {
    async create(actor, input) {
      requireRole(actor, API_KEYS_POLICY.create, `${API_KEYS}.create`);
      // requireRole refused a null role already.
      if (!atLeast(actor.role!, input.role)) {
        throw new ForbiddenError(`${API_KEYS}.create: a key's role (${input.role}) may not be above the creator's (${actor.role})`);
      }
      const { secret, prefix, secretHash } = newApiKeySecret();
      // One statement: the row and its event.
      const [row] = await scoped(data, actor).run<WrittenRow>(
        statements.insert({ name: input.name, role: input.role, prefix, secretHash, expiresAt: input.expiresAt ? new Date(input.expiresAt) : null }),
      );
      return { ...(row!.after as unknown as ApiKey), secret };
    },

    async list(actor, { page, limit }) {
      requireRole(actor, API_KEYS_POLICY.read, `${API_KEYS}.list`);
      const scope = scoped(data, actor);
      const selection = { conditions: [] };
      const rows = await scope.run<{ entity: ApiKey; total: number }>(statements.page(selection, Prisma.sql`t.created_at DESC, t.id DESC`, limit, (page - 1) * limit, undefined));
      const total = rows[0]?.total ?? (await scope.run<{ total: number }>(statements.count(selection, undefined)))[0]?.total ?? 0;
      return { data: rows.map((row) => row.entity), pagination: { page, limit, total, totalPages: Math.ceil(total / limit), totalIsEstimate: false } };
    },

    async byId(actor, id) {
      requireRole(actor, API_KEYS_POLICY.read, `${API_KEYS}.byId`);
      const [row] = await scoped(data, actor).run<{ entity: ApiKey }>(statements.byId(id));
      if (!row) throw new NotFoundError(API_KEY_NAME);
      return row.entity;
    },

    async softDelete(actor, id) {
      requireRole(actor, API_KEYS_POLICY.delete, `${API_KEYS}.delete`);
      // One statement: the key's row read under its lock, its soft delete and its event.
      const [row] = await scoped(data, actor).run<WrittenRow>(statements.softDelete([id], {}, []));
      if (!row?.deleted) throw new NotFoundError(API_KEY_NAME);
      options.onRevoked?.(actor.organizationId);
      return { id };
    },
  };
}
