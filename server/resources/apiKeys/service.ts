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
import { atLeast, policyOf, requireRole } from "../../kit/access.js";
import type { AccessPolicy } from "../../kit/access.js";
import { changedFields, createChangeLog } from "../../kit/change-log.js";
import { ForbiddenError, NotFoundError } from "../../kit/errors.js";
import type { Actor, OrgData, Row } from "../../kit/scope.js";
import { wireOf } from "../../kit/wire.js";

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
  // The entity's fields are the columns read: never `secretHash`.
  const wire = wireOf<ApiKey>(ApiKeySchema);
  const scoped = (on: OrgData, actor: Actor) => on.scoped(MODEL, TABLE, actor);
  const logOf = (on: OrgData, actor: Actor) => createChangeLog(on.events(actor.organizationId), API_KEYS, actor.sub);

  return {
    async create(actor, input) {
      requireRole(actor, API_KEYS_POLICY.create, `${API_KEYS}.create`);
      // requireRole refused a null role already.
      if (!atLeast(actor.role!, input.role)) {
        throw new ForbiddenError(`${API_KEYS}.create: a key's role (${input.role}) may not be above the creator's (${actor.role})`);
      }
      const { secret, prefix, secretHash } = newApiKeySecret();
      const entity = await data.transaction(async (tx) => {
        const row = await scoped(tx, actor).create({
          data: { name: input.name, role: input.role, prefix, secretHash, expiresAt: input.expiresAt ? new Date(input.expiresAt) : null },
          select: wire.columns,
        });
        const after = wire.toWire(row) as unknown as Row;
        await logOf(tx, actor).record({ entityId: after.id as string, type: "created", changes: changedFields(null, after), entity: after });
        return after as unknown as ApiKey;
      });
      return { ...entity, secret };
    },

    async list(actor, { page, limit }) {
      requireRole(actor, API_KEYS_POLICY.read, `${API_KEYS}.list`);
      const scope = scoped(data, actor);
      const [total, rows] = await Promise.all([
        scope.count(),
        scope.findMany({ orderBy: [{ createdAt: "desc" }, { id: "desc" }], skip: (page - 1) * limit, take: limit, select: wire.columns }),
      ]);
      return { data: rows.map(wire.toWire), pagination: { page, limit, total, totalPages: Math.ceil(total / limit), totalIsEstimate: false } };
    },

    async byId(actor, id) {
      requireRole(actor, API_KEYS_POLICY.read, `${API_KEYS}.byId`);
      const row = await scoped(data, actor).findFirst({ where: { id }, select: wire.columns });
      if (!row) throw new NotFoundError(API_KEY_NAME);
      return wire.toWire(row);
    },

    async softDelete(actor, id) {
      requireRole(actor, API_KEYS_POLICY.delete, `${API_KEYS}.delete`);
      await data.transaction(async (tx) => {
        const log = logOf(tx, actor);
        await log.lockOrganization();
        const scope = scoped(tx, actor);
        const current = await scope.findFirst({ where: { id }, select: wire.columns });
        if (!current) throw new NotFoundError(API_KEY_NAME);
        const { count } = await scope.softDeleteMany({ where: { id } });
        if (count !== 1) throw new NotFoundError(API_KEY_NAME);
        const deletedAt = new Date().toISOString();
        await log.record({ entityId: id, type: "deleted", changes: { deletedAt: { before: null, after: deletedAt } }, entity: wire.toWire(current) });
      });
      options.onRevoked?.(actor.organizationId);
      return { id };
    },
  };
}
