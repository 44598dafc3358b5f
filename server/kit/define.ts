/**
 * What a resource declares: one `defineResource` call in `server/resources/<key>/definition.ts`, listed in
 * `server/resources/definitions.ts`. The contract declares the resource's key (`features`) and name
 * (`Feature`); everything else that names it is derived here, once: the entity key of its events
 * (`feature`), the Prisma model (`Feature`), the table (`features`) and the REST path (`/api/v1/features`).
 * What cannot be derived from the declaration alone (the table and enum types Prisma maps) is read from
 * Prisma's data model and checked when the services are built (`resolveStorage`), so a mismatch stops
 * the start with a message naming the resource instead of failing a query later.
 *
 * The kit derives the service of each (`service.ts`); the tRPC surface its router (`server/trpc/resource-router.ts`); the app
 * derives its router, REST endpoints, panel and client types from the list.
 */
import type { z } from "zod";
import type { ResourceContract } from "../contract/common.js";
import { policyOf } from "./access.js";
import type { AccessDeclaration, AccessPolicy } from "./access.js";
import type { DataModel, OwnedModel } from "./scope.js";

/** Where a resource's rows live, as derived from its declaration. */
export interface ResourceStorage {
  /** The Prisma model (`Feature`): the resource's name. It has the owned columns: id, organizationId, audit fields, deletedAt. */
  model: OwnedModel;
  /** Its table (`features`): the snake_case of the key, as the model's `@@map` must say. */
  table: string;
  /** The field `search` matches (case-insensitive substring, every character literal). */
  searchField: string;
}

/** The storage checked against Prisma's data model at start, with what only that model says. */
export interface ResolvedStorage extends ResourceStorage {
  /** The PostgreSQL enum type of each enum-typed field (`{ status: "FeatureStatus" }`), for raw SQL. */
  enumTypes: Record<string, string>;
}

/** What deleting a referenced row does while live rows refer to it. */
export type OnDelete = "restrict" | "cascade";

/** A field that holds the id of a row of another registered resource (`projectId` -> `projects`). */
export interface ReferenceDeclaration {
  /** The key of the resource it refers to, as the list of resources files it (`projects`). */
  to: string;
  /**
   * `restrict` (the default): deleting the referenced row is refused (CONFLICT) while live rows refer to
   * it. `cascade`: its soft delete soft-deletes them too, in the same transaction, each with its event.
   */
  onDelete?: OnDelete;
}

export interface ResourceDefinition<TKey extends string = string, TContract extends ResourceContract = ResourceContract> {
  /** The router and services key, camelCase plural: `features`, `apiKeys` (declared by the contract). */
  key: TKey;
  /** The entity's name, `Feature` (declared by the contract): messages say "Feature not found"; it is the Prisma model. */
  name: string;
  /** The entity's key in an `onChange` event, `feature`: the name, lower camelCase. */
  entityKey: string;
  /** The URL segment under /api/v1, kebab-case plural: `features`, `api-keys`. */
  restPath: string;
  contract: TContract;
  storage: ResourceStorage;
  /** Its reference fields, each with the resource it refers to and what that one's delete does. */
  references: Readonly<Record<string, Required<ReferenceDeclaration>>>;
  /** Keys among the organization's live rows: each a list of fields no two live rows share. */
  unique: readonly (readonly string[])[];
  /**
   * A valid create input but for its reference fields: the tests that walk every resource create one per
   * organization with it, each reference filled with a row of the resource it refers to.
   */
  example: Readonly<Record<string, unknown>>;
  /** Who may do what: the declared rules over the default policy (./access.ts). */
  access: AccessPolicy;
}

type FieldOf<TContract extends ResourceContract> = keyof z.output<TContract["entity"]> & string;

export interface ResourceDeclaration<TContract extends ResourceContract, TRefs extends string = never> {
  contract: TContract;
  /** The field `search` matches: one of the entity's text fields. */
  searchField: FieldOf<TContract>;
  /** Its reference fields: `{ projectId: { to: "projects", onDelete: "cascade" } }`. Each is a field of the contract. */
  references?: Record<TRefs, ReferenceDeclaration>;
  /**
   * Keys among the organization's live rows (`[["key"], ["projectId", "name"]]`): a create or update that
   * would give two live rows the same values is CONFLICT; a soft-deleted row frees its key. Each needs its
   * partial unique index in the schema (`<table>_org_<columns>_live_key`).
   */
  unique?: readonly (readonly FieldOf<TContract>[])[];
  /** A valid create input without the reference fields (the tests fill those with rows they create). */
  example: Omit<z.input<TContract["createInput"]>, TRefs>;
  /** The least role of each operation that differs from the default (`{ delete: "admin", update: "member:own" }`). */
  access?: AccessDeclaration;
}

/** The snake_case column of a camelCase field: `createdById` -> `created_by_id`. */
export function columnOf(field: string): string {
  return field.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

/**
 * The name of a unique key's partial index, `projects_org_key_live_key`: the generator writes it into the
 * schema, and the kit knows a broken key by it.
 */
export function uniqueIndexName(table: string, fields: readonly string[]): string {
  return `${table}_org_${fields.map(columnOf).join("_")}_live_key`;
}

/**
 * The function a delete of a referenced row calls to find live rows of `table` naming it in the reference
 * `field` (`restrict`): `kuark_live_flag_states_feature_id`. Each is one migration's (`liveReferrersFunction`),
 * written by the generator with the resource that declares the reference.
 */
export function liveReferrersFunctionName(table: string, field: string): string {
  const name = `kuark_live_${table}_${columnOf(field)}`;
  if (!/^[a-z_][a-z0-9_]*$/.test(name) || name.length > 63) throw new Error(`the reference ${table}.${field} needs a function named ${name}: a plain PostgreSQL identifier of at most 63 characters`);
  return name;
}

/**
 * The migration's SQL of `liveReferrersFunctionName(table, field)`: whether live rows of `table` in
 * `organization` name one of `ids` in the reference. A delete of a referenced row calls it inside its one
 * statement, after it took the organization's lock (server/kit/statements.ts), and it must see rows committed
 * after that statement began: a VOLATILE function takes a fresh snapshot for each query it runs, which the
 * statement's own snapshot is not. Static SQL, so PL/pgSQL keeps its plan per connection (a generic function
 * with dynamic SQL, planned on every call, measured about 600 µs of PostgreSQL's CPU more per delete:
 * bench/results/levers.md).
 */
export function liveReferrersFunction(table: string, field: string): string {
  const name = liveReferrersFunctionName(table, field);
  return [
    `-- CreateFunction (written with the reference by the generator: Prisma's schema has no functions, so it neither diffs nor drops it).`,
    `-- Live rows of "${table}" that name one of ids in ${columnOf(field)}, read with a snapshot of their own (server/kit/define.ts).`,
    `CREATE FUNCTION "${name}"(organization text, ids uuid[]) RETURNS boolean`,
    `LANGUAGE plpgsql VOLATILE STRICT`,
    `AS $$`,
    `BEGIN`,
    `  RETURN EXISTS (SELECT 1 FROM "${table}" WHERE organization_id = organization AND "${columnOf(field)}" = ANY (ids) AND deleted_at IS NULL);`,
    `END`,
    `$$;`,
    ``,
  ].join("\n");
}

/**
 * Declares a resource; the literal types of key and contract are kept for the router and the client.
 * The name must be a Prisma model of an org-owned table: the compiler refuses any other.
 */
export function defineResource<TContract extends ResourceContract & { name: OwnedModel }, TRefs extends FieldOf<TContract> = never>(
  declaration: ResourceDeclaration<TContract, TRefs>,
): ResourceDefinition<TContract["key"], TContract> {
  const { contract, searchField, example } = declaration;
  let access: AccessPolicy;
  try {
    access = policyOf(declaration.access);
  } catch (error) {
    throw new Error(`resource ${contract.key}: its access ${(error as Error).message}`, { cause: error });
  }
  const key: TContract["key"] = contract.key;
  if (!/^[a-z][A-Za-z0-9]*$/.test(key)) throw new Error(`resource key ${JSON.stringify(key)}: must be camelCase (features, apiKeys)`);
  if (!/^[A-Z][A-Za-z0-9]*$/.test(contract.name)) throw new Error(`resource ${key}: its name ${JSON.stringify(contract.name)} must be PascalCase (Feature)`);
  if (!(searchField in contract.entity.shape)) throw new Error(`resource ${key}: its search field ${searchField} is not a field of its entity`);
  const references = Object.fromEntries(
    Object.entries<ReferenceDeclaration>(declaration.references ?? ({})).map(([field, reference]) => {
      if (!field.endsWith("Id") || !(field in contract.entity.shape)) throw new Error(`resource ${key}: the reference ${field} must be a field of its entity whose name ends in Id`);
      return [field, { to: reference.to, onDelete: reference.onDelete ?? "restrict" }];
    }),
  );
  const unique = (declaration.unique ?? []).map((fields) => {
    const unknown = fields.find((field) => !(field in contract.entity.shape));
    if (fields.length === 0 || unknown !== undefined) throw new Error(`resource ${key}: the unique key [${fields.join(", ")}] must name fields of its entity`);
    return [...fields];
  });
  return {
    key,
    name: contract.name,
    entityKey: contract.entityKey,
    restPath: columnOf(key).replace(/_/g, "-"),
    contract,
    storage: { model: contract.name, table: columnOf(key), searchField },
    references,
    unique,
    example: example,
    access,
  };
}

/**
 * The resource's storage checked against Prisma's data model: the model exists, maps to the table the key
 * names, has every field of the entity in the column the kit derives, and says which fields are enums.
 * Throws, naming the resource and what differs, when the schema and the definition disagree.
 */
export function resolveStorage(definition: ResourceDefinition, dataModel: DataModel): ResolvedStorage {
  const { storage, key } = definition;
  const model = dataModel.models[storage.model];
  if (!model) throw new Error(`resource ${key}: prisma/schema.prisma has no model ${storage.model}`);
  const table = model.dbName ?? storage.model;
  if (table !== storage.table) throw new Error(`resource ${key}: model ${storage.model} maps to table ${table}; it must be @@map("${storage.table}")`);
  const fields = new Map(model.fields.map((field) => [field.name, field]));
  for (const name of [...Object.keys(definition.contract.entity.shape), "deletedAt"]) {
    const field = fields.get(name);
    if (!field) throw new Error(`resource ${key}: model ${storage.model} has no field ${name}`);
    const column = field.dbName ?? field.name;
    if (column !== columnOf(name)) throw new Error(`resource ${key}: field ${storage.model}.${name} maps to column ${column}; it must be @map("${columnOf(name)}")`);
  }
  const enumTypes = Object.fromEntries(model.fields.filter((field) => field.kind === "enum").map((field) => [field.name, field.type]));
  return { ...storage, enumTypes };
}

export type EntityOf<C extends ResourceContract> = z.output<C["entity"]>;
export type CreateInputOf<C extends ResourceContract> = z.output<C["createInput"]>;
export type ListParamsOf<C extends ResourceContract> = z.output<C["listInput"]>;
export type InfiniteParamsOf<C extends ResourceContract> = z.output<C["infiniteInput"]>;
export type UpdateDataOf<C extends ResourceContract> = z.output<C["updateInput"]>["data"];
