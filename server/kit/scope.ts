/**
 * The organization boundary, in one layer. Every read, update and delete of an org-owned model goes through
 * a `ScopedModel` bound to the caller: it adds `organizationId` and `deletedAt: null` to every filter (after
 * the caller's own conditions, so they cannot be overridden), and stamps every create with `organizationId`,
 * `createdById` and `updatedById` from the caller. Services are handed an `OrgData`, never the Prisma client,
 * so an unscoped query of an org-owned model can only be written through `OrgData.withoutOrganizationScope`,
 * a named escape hatch a reviewer can grep for.
 *
 * Why a scoped repository rather than a Prisma client extension (`$extends` with a `query` hook): the hook
 * would have to be built per caller (the organization differs per request), a new extended client per
 * request; and raw SQL (the bounded count, the planner estimate) would bypass it. Here the same object
 * scopes Prisma calls and raw SQL alike.
 *
 * The change log (`change_events`, every resource's events) is org-owned too: `OrgData.events` binds its
 * rows to one organization the same way, so `change-log.ts` never writes an organization condition itself;
 * so does `OrgData.idempotencyKeys` for the keys of creates (`idempotency.ts`).
 */
import type { Role } from "../contract/roles.js";
import type { PrismaClient } from "../db/database.js";
import { Prisma } from "../generated/prisma/client.js";

/** Who acts, in which organization, and as what: always from the verified token. */
export interface Actor {
  sub: string;
  organizationId: string;
  /** The effective role (./access.ts); null: the token claims a role the service does not know, which has no access. */
  role: Role | null;
  /** The role claimed when it is not known (for the refusal's message). */
  unknownRole?: string;
}

/**
 * The models an organization owns: every model but `Organization` itself, the change log and the
 * idempotency keys of creates (generated ones included).
 */
export type OwnedModel = Exclude<Prisma.ModelName, "Organization" | "ChangeEvent" | "IdempotencyKey">;

/** What the kit reads of Prisma's data model (`PrismaClient._runtimeDataModel`), per model. */
export interface DataModel {
  models: Record<string, { dbName: string | null; fields: readonly { name: string; kind: string; type: string; dbName?: string | null }[] }>;
}

/** A row as selected: the kit reads columns by name and converts them for the wire itself. */
export type Row = Record<string, unknown>;
type Where = Record<string, unknown>;
type Data = Record<string, unknown>;
type Select = Record<string, true>;
type OrderBy = Record<string, "asc" | "desc">[];

/** The part of a Prisma model delegate the kit uses, seen without its per-model types. */
interface Delegate {
  findFirst(args: { where: Where; select: Select }): Promise<Row | null>;
  findMany(args: { where: Where; orderBy?: OrderBy; skip?: number; take?: number; select: Select }): Promise<Row[]>;
  count(args: { where: Where }): Promise<number>;
  create(args: { data: Data; select: Select }): Promise<Row>;
  updateManyAndReturn(args: { where: Where; data: Data; select: Select }): Promise<Row[]>;
  updateMany(args: { where: Where; data: Data }): Promise<{ count: number }>;
}

/** Conditions no caller may set: the scope owns them. */
const SCOPE_KEYS = ["organizationId", "organization", "deletedAt"] as const;

function withoutScopeKeys(data: Data): Data {
  const copy = { ...data };
  for (const key of SCOPE_KEYS) delete copy[key];
  return copy;
}

/** One org-owned model, bound to one caller. */
export interface ScopedModel {
  findFirst(args: { where: Where; select: Select }): Promise<Row | null>;
  findMany(args: { where?: Where; orderBy?: OrderBy; skip?: number; take?: number; select: Select }): Promise<Row[]>;
  count(args?: { where?: Where }): Promise<number>;
  /** Creates a row of the caller's organization, created and updated by the caller. */
  create(args: { data: Data; select: Select }): Promise<Row>;
  /** Updates the caller's live rows matching `where`, stamping `updatedById`. */
  updateManyAndReturn(args: { where: Where; data: Data; select: Select }): Promise<Row[]>;
  updateMany(args: { where: Where; data: Data }): Promise<{ count: number }>;
  /** Soft-deletes the caller's live rows matching `where` (sets `deletedAt`, stamps `updatedById`). */
  softDeleteMany(args: { where: Where }): Promise<{ count: number }>;
  /** Whether a row of the caller's organization matches `where`, soft-deleted ones included (history outlives a delete). */
  existsIncludingDeleted(args: { where: Where }): Promise<boolean>;
  /**
   * Raw SQL over the model's table, scoped: `statement` receives the table and a WHERE condition that
   * already holds the scope, AND-ed with `conditions`.
   */
  queryRaw<T>(conditions: Prisma.Sql[], statement: (from: { table: Prisma.Sql; where: Prisma.Sql }) => Prisma.Sql): Promise<T[]>;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/** A SQL identifier from the kit's own definitions (never from input), checked and quoted. */
export function sqlIdentifier(name: string): Prisma.Sql {
  if (!IDENTIFIER.test(name)) throw new Error(`not a plain SQL identifier: ${name}`);
  return Prisma.raw(`"${name}"`);
}

/**
 * The change log's rows of one organization: every read is filtered to it, and raw SQL receives the
 * organization as a bound parameter from here, never from its caller.
 */
export interface ScopedEvents {
  findMany<A extends Prisma.ChangeEventFindManyArgs>(args: A): Promise<Prisma.ChangeEventGetPayload<A>[]>;
  findFirst<A extends Prisma.ChangeEventFindFirstArgs>(args: A): Promise<Prisma.ChangeEventGetPayload<A> | null>;
  /** Runs the statement `build` makes of the organization id (a bound parameter). */
  executeRaw(build: (organizationId: Prisma.Sql) => Prisma.Sql): Promise<number>;
}

/**
 * The idempotency keys of one organization's creates (`idempotency_keys`): raw SQL only (./idempotency.ts
 * says why), which receives the organization as a bound parameter from here, never from its caller.
 */
export interface ScopedIdempotencyKeys {
  /** Runs the query `build` makes of the organization id (a bound parameter). */
  queryRaw<T>(build: (organizationId: Prisma.Sql) => Prisma.Sql): Promise<T[]>;
  /** Runs the statement `build` makes of the organization id (a bound parameter). */
  executeRaw(build: (organizationId: Prisma.Sql) => Prisma.Sql): Promise<number>;
}

/** The org-scoped data layer services are given instead of the Prisma client. */
export interface OrgData {
  /** `model` as seen by `actor`: its organization's live rows only. */
  scoped(model: OwnedModel, table: string, actor: Actor): ScopedModel;
  /** The change log as seen by one organization: its events only. */
  events(organizationId: string): ScopedEvents;
  /** The idempotency keys of one organization's creates. */
  idempotencyKeys(organizationId: string): ScopedIdempotencyKeys;
  /** Runs `work` in one database transaction: everything it does through `data` commits or rolls back together. */
  transaction<T>(work: (data: OrgData) => Promise<T>): Promise<T>;
  /** Prisma's data model (models, tables, fields), for checking the resources' definitions at start. */
  readonly dataModel: DataModel;
  /**
   * The Prisma client itself, outside every organization scope. Every use is a place where one
   * organization's rows could reach another's: say why in `reason`, and expect a reviewer to ask.
   * Each call is logged at debug level with its reason, and counted (`onUnscopedAccess`).
   */
  withoutOrganizationScope(reason: string): PrismaClient;
}

export interface OrgDataOptions {
  /** Told of every `withoutOrganizationScope` call, with its reason (a log line at debug level, a counter). */
  onUnscopedAccess?: ((reason: string) => void) | undefined;
}

export function createOrgData(prisma: PrismaClient, options: OrgDataOptions = {}): OrgData {
  const { onUnscopedAccess } = options;
  return orgDataOn(prisma, onUnscopedAccess, (work) => prisma.$transaction((tx) => work(orgDataOn(tx, onUnscopedAccess, inTransaction))));
}

/** Already in a transaction: nested work joins it. */
const inTransaction = <T>(work: (data: OrgData) => Promise<T>, data?: OrgData) => work(data as OrgData);

/** The runtime data model every Prisma 7 client carries (its generated schema, read by the query engine). */
function dataModelOf(prisma: PrismaClient | Prisma.TransactionClient): DataModel {
  const model = (prisma as unknown as { _runtimeDataModel?: DataModel })._runtimeDataModel;
  if (!model?.models) throw new Error("this Prisma client has no _runtimeDataModel: the kit's start-up checks need it");
  return model;
}

function orgDataOn(
  prisma: PrismaClient | Prisma.TransactionClient,
  onUnscopedAccess: ((reason: string) => void) | undefined,
  transaction: <T>(work: (data: OrgData) => Promise<T>, data?: OrgData) => Promise<T>,
): OrgData {
  const delegates = prisma as unknown as Record<string, Delegate>;
  return {
    scoped(model, table, actor) {
      const delegate = delegates[model.charAt(0).toLowerCase() + model.slice(1)];
      if (!delegate) throw new Error(`no Prisma model ${model}`);
      const tableSql = sqlIdentifier(table);
      const scope = { organizationId: actor.organizationId, deletedAt: null };
      const scoped = (where: Where = {}): Where => ({ ...where, ...scope });
      const stamped = (data: Data): Data => ({ ...withoutScopeKeys(data), updatedById: actor.sub });
      return {
        findFirst: (args) => delegate.findFirst({ ...args, where: scoped(args.where) }),
        findMany: (args) => delegate.findMany({ ...args, where: scoped(args.where) }),
        count: (args) => delegate.count({ where: scoped(args?.where) }),
        create: (args) =>
          delegate.create({
            ...args,
            data: { ...withoutScopeKeys(args.data), organizationId: actor.organizationId, createdById: actor.sub, updatedById: actor.sub },
          }),
        updateManyAndReturn: (args) => delegate.updateManyAndReturn({ ...args, where: scoped(args.where), data: stamped(args.data) }),
        updateMany: (args) => delegate.updateMany({ where: scoped(args.where), data: stamped(args.data) }),
        softDeleteMany: (args) => delegate.updateMany({ where: scoped(args.where), data: { deletedAt: new Date(), updatedById: actor.sub } }),
        existsIncludingDeleted: async (args) => (await delegate.count({ where: { ...args.where, organizationId: actor.organizationId } })) > 0,
        queryRaw<T>(conditions: Prisma.Sql[], statement: (from: { table: Prisma.Sql; where: Prisma.Sql }) => Prisma.Sql) {
          const where = Prisma.join([Prisma.sql`organization_id = ${actor.organizationId}`, Prisma.sql`deleted_at IS NULL`, ...conditions], " AND ");
          return prisma.$queryRaw<T[]>(statement({ table: tableSql, where }));
        },
      };
    },
    events(organizationId) {
      const inOrganization = <A extends { where?: Prisma.ChangeEventWhereInput | undefined }>(args: A): A => ({
        ...args,
        where: { ...args.where, organizationId },
      });
      return {
        findMany: (args) => prisma.changeEvent.findMany(inOrganization(args)) as never,
        findFirst: (args) => prisma.changeEvent.findFirst(inOrganization(args)) as never,
        executeRaw: (build) => prisma.$executeRaw(build(Prisma.sql`${organizationId}`)),
      };
    },
    idempotencyKeys(organizationId) {
      return {
        queryRaw: <T>(build: (organizationId: Prisma.Sql) => Prisma.Sql) => prisma.$queryRaw<T[]>(build(Prisma.sql`${organizationId}`)),
        executeRaw: (build) => prisma.$executeRaw(build(Prisma.sql`${organizationId}`)),
      };
    },
    transaction(work) {
      return transaction(work, this);
    },
    get dataModel() {
      return dataModelOf(prisma);
    },
    // Inside a transaction this is the transaction's client: the same calls, the same commit.
    withoutOrganizationScope(reason) {
      onUnscopedAccess?.(reason);
      return prisma as PrismaClient;
    },
  };
}
