/**
 * The organization boundary, in one layer. Every statement on an org-owned table runs through a
 * `ScopedModel` bound to the caller: the statement is handed the scope's parts (the table, the condition
 * "this organization's live rows", and the organization and the caller as bound parameters) and can name an
 * organization in no other way; every insert takes its `organization_id`, `created_by_id` and
 * `updated_by_id` from them. Services are handed an `OrgData`, never a database client, so an unscoped
 * statement on an org-owned table can only be written through `OrgData.withoutOrganizationScope`, a named
 * escape hatch a reviewer can grep for. The kit's statements themselves are written in one module
 * (./statements.ts), each built from the scope's parts.
 *
 * Statements run on the database driver directly (server/db/sql.ts), not through Prisma's client: the kit's
 * reads and writes are single statements, and Prisma's per-statement cost was most of a write's
 * (bench/results/levers.md). Prisma remains the schema, the migrations and the types; its data model is how
 * the kit checks the resources' definitions at start.
 *
 * The change log (`change_events`, every resource's events) is org-owned too: `OrgData.events` binds its
 * rows to one organization the same way, so `change-log.ts` never takes an organization from anywhere
 * else; so does `OrgData.idempotencyKeys` for the keys of creates (`idempotency.ts`).
 */
import type { Role } from "../contract/roles.js";
import type { PrismaClient } from "../db/database.js";
import type { Sql, Statement } from "../db/sql.js";
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

/** A row as a statement returns it: columns by name (timestamps as `Date`, jsonb parsed). */
export type Row = Record<string, unknown>;

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/** A SQL identifier from the kit's own definitions (never from input), checked and quoted. */
export function sqlIdentifier(name: string): Prisma.Sql {
  if (!IDENTIFIER.test(name)) throw new Error(`not a plain SQL identifier: ${name}`);
  return Prisma.raw(`"${name}"`);
}

/** The schema Prisma's migrations create every table in (schema.prisma names no other). */
const SCHEMA = "public";

/** A table of the kit's, schema-qualified: `"public"."features"`. */
export function sqlTable(name: string): Prisma.Sql {
  if (!IDENTIFIER.test(name)) throw new Error(`not a plain SQL identifier: ${name}`);
  return Prisma.raw(`"${SCHEMA}"."${name}"`);
}

/** What a statement of a `ScopedModel` is built from: the only way it can name an organization or a caller. */
export interface ScopeParts {
  /** The model's table, schema-qualified. */
  table: Prisma.Sql;
  /**
   * The scope as a condition on the table's rows (`alias`, when the statement names the table so): the
   * caller's organization, and rows not soft-deleted. Every statement that reads or changes rows has it.
   */
  live: (alias?: string) => Prisma.Sql;
  /** The caller's organization only, soft-deleted rows included (history outlives a delete). */
  owned: (alias?: string) => Prisma.Sql;
  /** The caller's organization, a bound parameter: what an insert writes into `organization_id`. */
  organizationId: Prisma.Sql;
  /** The caller (`sub`), a bound parameter: what an insert or update writes into the audit fields. */
  actorId: Prisma.Sql;
}

/** One org-owned model, bound to one caller. */
export interface ScopedModel {
  /** The caller's live rows matching every one of `conditions`: `SELECT columns FROM table WHERE <scope> AND ... tail`. */
  select<T = Row>(columns: Prisma.Sql, conditions: Prisma.Sql[], tail?: Prisma.Sql): Promise<T[]>;
  /** Whether a row of the caller's organization matches `conditions`, soft-deleted ones included (history outlives a delete). */
  existsIncludingDeleted(conditions: Prisma.Sql[]): Promise<boolean>;
  /**
   * One statement of the kit's (./statements.ts: a write with its change event, a page with its count),
   * built by `build` from the scope's parts: the rows it reads or changes are under `live()` (or `owned()`),
   * and what it inserts carries `organizationId` and `actorId`.
   */
  run<T = Row>(build: (scope: ScopeParts) => Statement): Promise<T[]>;
}

/**
 * The change log's rows of one organization: statements receive the organization as a bound parameter from
 * here, never from their caller.
 */
export interface ScopedEvents {
  /** Runs the statement `build` makes of the organization id (a bound parameter). */
  run<T = Row>(build: (organizationId: Prisma.Sql) => Prisma.Sql): Promise<T[]>;
}

/**
 * The idempotency keys of one organization's creates (`idempotency_keys`, ./idempotency.ts): statements
 * receive the organization as a bound parameter from here, never from their caller.
 */
export interface ScopedIdempotencyKeys {
  /** Runs the statement `build` makes of the organization id (a bound parameter). */
  run<T = Row>(build: (organizationId: Prisma.Sql) => Prisma.Sql): Promise<T[]>;
}

/** The org-scoped data layer services are given instead of a database client. */
export interface OrgData {
  /** `model` (stored in `table`) as seen by `actor`: its organization's live rows only. */
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
   * The Prisma client itself, outside every organization scope (and outside any transaction of `transaction`).
   * Every use is a place where one organization's rows could reach another's: say why in `reason`, and
   * expect a reviewer to ask. Each call is logged at debug level with its reason, and counted (`onUnscopedAccess`).
   */
  withoutOrganizationScope(reason: string): PrismaClient;
}

export interface OrgDataOptions {
  /** Told of every `withoutOrganizationScope` call, with its reason (a log line at debug level, a counter). */
  onUnscopedAccess?: ((reason: string) => void) | undefined;
}

/** What the scope runs on: the database's statements (server/db/sql.ts) and its Prisma client (data model, escape hatch). */
export interface ScopeDatabase {
  prisma: PrismaClient;
  sql: Sql;
}

export function createOrgData(db: ScopeDatabase, options: OrgDataOptions = {}): OrgData {
  return orgDataOn(db.sql, db, options.onUnscopedAccess);
}

/** The runtime data model every Prisma 7 client carries (its generated schema, read by the query engine). */
function dataModelOf(prisma: PrismaClient): DataModel {
  const model = (prisma as unknown as { _runtimeDataModel?: DataModel })._runtimeDataModel;
  if (!model?.models) throw new Error("this Prisma client has no _runtimeDataModel: the kit's start-up checks need it");
  return model;
}

const qualified = (alias: string | undefined, column: string) => Prisma.raw(alias === undefined ? column : `${sqlIdentifierText(alias)}.${column}`);

/** An alias the kit's statements give a table (`t`, `written`): checked like an identifier, left unquoted. */
function sqlIdentifierText(name: string): string {
  if (!IDENTIFIER.test(name)) throw new Error(`not a plain SQL identifier: ${name}`);
  return name;
}

function orgDataOn(sql: Sql, db: ScopeDatabase, onUnscopedAccess: ((reason: string) => void) | undefined): OrgData {
  return {
    scoped(_model, table, actor) {
      const organizationId = Prisma.sql`${actor.organizationId}`;
      const owned = (alias?: string) => Prisma.sql`${qualified(alias, "organization_id")} = ${organizationId}`;
      const parts: ScopeParts = {
        table: sqlTable(table),
        owned,
        live: (alias) => Prisma.sql`${owned(alias)} AND ${qualified(alias, "deleted_at")} IS NULL`,
        organizationId,
        actorId: Prisma.sql`${actor.sub}`,
      };
      const where = (scope: Prisma.Sql, conditions: Prisma.Sql[]) => Prisma.join([scope, ...conditions], " AND ");
      return {
        select: <T>(columns: Prisma.Sql, conditions: Prisma.Sql[], tail: Prisma.Sql = Prisma.empty) =>
          sql.query<T>(Prisma.sql`SELECT ${columns} FROM ${parts.table} WHERE ${where(parts.live(), conditions)} ${tail}`),
        async existsIncludingDeleted(conditions) {
          const [row] = await sql.query<{ found: boolean }>(Prisma.sql`SELECT EXISTS (SELECT 1 FROM ${parts.table} WHERE ${where(owned(), conditions)}) AS found`);
          return row?.found === true;
        },
        run: <T>(build: (scope: ScopeParts) => Statement) => sql.query<T>(build(parts)),
      };
    },
    events(organizationId) {
      return { run: <T>(build: (organizationId: Prisma.Sql) => Prisma.Sql) => sql.query<T>(build(Prisma.sql`${organizationId}`)) };
    },
    idempotencyKeys(organizationId) {
      return { run: <T>(build: (organizationId: Prisma.Sql) => Prisma.Sql) => sql.query<T>(build(Prisma.sql`${organizationId}`)) };
    },
    transaction(work) {
      return sql.transaction((tx) => work(orgDataOn(tx, db, onUnscopedAccess)));
    },
    get dataModel() {
      return dataModelOf(db.prisma);
    },
    withoutOrganizationScope(reason) {
      onUnscopedAccess?.(reason);
      return db.prisma;
    },
  };
}
