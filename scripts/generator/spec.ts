/**
 * `npm run generate -- resource <Name> <field>:<type>[?] ... [--search <field>] [--unique <field>[,<field>...]]...
 * [--sort <field>]... [--access <rules>]`: the command line, read into a checked resource spec. A field of type
 * `ref(<Resource>)` or `ref(<Resource>, cascade)` refers to a row of a registered resource. Every refusal is
 * a GeneratorError that says why; nothing is written before the whole spec is valid.
 */
import pluralize from "pluralize";
import { uniqueIndexName } from "../../server/kit/define.js";
import { AccessDeclarationError, declarationOf, parseAccessText, policyOf } from "../../server/kit/access.js";
import type { AccessDeclaration } from "../../server/kit/access.js";

export class GeneratorError extends Error {
  override name = "GeneratorError";
}

export type FieldType = "string" | "text" | "int" | "number" | "boolean" | "datetime" | "enum" | "ref";

/** The resource a `ref(...)` field refers to. */
export interface RefTarget {
  /** Its model, `Project`. */
  model: string;
  /** Its key, `projects`. */
  key: string;
  /** `restrict` (the default) or `cascade`: what deleting the referenced row does to the rows referring to it. */
  onDelete: "restrict" | "cascade";
}

export interface FieldSpec {
  name: string;
  type: FieldType;
  /** Optional fields may be left out or null, and come back as null. */
  optional: boolean;
  /** The values of an `enum(a|b|c)` field. */
  values: string[];
  /** What a `ref(...)` field refers to. */
  ref?: RefTarget;
}

export interface ResourceSpec {
  /** PascalCase singular: `ApiKey`. */
  model: string;
  /** camelCase plural, the router key: `apiKeys`. */
  key: string;
  /** snake_case plural, the table: `api_keys`. */
  table: string;
  /** camelCase singular: `apiKey`. */
  singular: string;
  fields: FieldSpec[];
  /** The `string` field that `search` matches. */
  searchField: string;
  /** Keys among the organization's live rows (`--unique`), each a list of fields. */
  unique: string[][];
  /** Fields lists may be sorted by (`--sort`), beside createdAt and updatedAt. */
  sortable: string[];
  /** `--access read=viewer,update=member:own,...`: the rules that differ from the default policy (server/kit/access.ts). */
  access: AccessDeclaration;
}

/** What the project has already: the models of prisma/schema.prisma and the keys of the list of resources. */
export interface Existing {
  models: Set<string>;
  keys: Set<string>;
}

/** Fields every resource has already, and names its inputs use for something else. */
export const RESERVED_FIELDS = new Set([
  "id",
  "organizationId",
  "organization",
  "createdAt",
  "updatedAt",
  "deletedAt",
  "createdById",
  "updatedById",
  // keys of the list and infinite inputs, where enum and boolean fields become filters
  "page",
  "limit",
  "search",
  "cursor",
  "direction",
  // names JavaScript objects already carry
  "constructor",
  "prototype",
  "toString",
  "valueOf",
  "hasOwnProperty",
]);

const PASCAL = /^[A-Z][a-zA-Z0-9]*$/;
const CAMEL = /^[a-z][a-zA-Z0-9]*$/;
const ENUM_VALUE = /^[A-Za-z][A-Za-z0-9_]*$/;
const TYPES = ["string", "text", "int", "number", "boolean", "datetime"] as const;
/** Models the schema has that are not resources, and names the generated client or Prisma keep. */
const RESERVED_MODELS = new Set(["Organization", "Prisma", "PrismaClient"]);

/** English plural of the last word: `Policy` -> `Policies`, `Box` -> `Boxes`, `ApiKey` -> `ApiKeys`. */
/**
 * The plural of a PascalCase name, by the `pluralize` package's English rules (irregular words, -f/-fe,
 * -y, -is, uncountables) applied to its last word: `Shelf` -> `Shelves`, `Category` -> `Categories`,
 * `ProjectPerson` -> `ProjectPeople`. A word whose plural is itself (`Series`) is refused by the caller.
 */
export function pluralOf(name: string): string {
  const last = /[A-Z][a-z0-9]*$/.exec(name);
  const head = last ? name.slice(0, last.index) : "";
  const word = last ? last[0] : name;
  return head + pluralize(word);
}

export const snakeCase = (name: string) => name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();
const lowerFirst = (name: string) => name.charAt(0).toLowerCase() + name.slice(1);

/** Types a list may be sorted by, and types a unique key may hold (a 10,000-character text cannot be a btree key). */
const SORTABLE_TYPES = new Set<FieldType>(["string", "int", "number", "datetime", "enum"]);
const UNIQUE_TYPES = new Set<FieldType>(["string", "int", "number", "datetime", "enum", "boolean", "ref"]);
/** Unique keys need a field the tests can vary from row to row (rows of a test share their parents). */
const VARYING_TYPES = new Set<FieldType>(["string", "int", "number", "datetime"]);

function parseRef(name: string, inner: string, existing: Existing): RefTarget {
  const [model = "", ...options] = inner.split(",").map((part) => part.trim());
  if (!name.endsWith("Id") || name === "Id") throw new GeneratorError(`reference field "${name}" must end in Id (e.g. projectId:ref(Project))`);
  if (!PASCAL.test(model)) throw new GeneratorError(`field "${name}": ref(${inner}) must name a resource, e.g. ref(Project)`);
  const key = lowerFirst(pluralOf(model));
  if (!existing.models.has(model) || !existing.keys.has(key)) {
    throw new GeneratorError(`field "${name}" refers to ${model}, which is not a registered resource (generate it first)`);
  }
  const unknown = options.find((option) => option !== "cascade" && option !== "restrict");
  if (unknown !== undefined) throw new GeneratorError(`field "${name}": unknown option "${unknown}" of ref(...): use ref(${model}) or ref(${model}, cascade)`);
  return { model, key, onDelete: options.includes("cascade") ? "cascade" : "restrict" };
}

function parseField(arg: string, existing: Existing): FieldSpec {
  const match = /^([^:]+):(.+?)(\?)?$/.exec(arg);
  if (!match?.[1] || !match[2]) throw new GeneratorError(`"${arg}" is not a field: write <name>:<type>, e.g. title:string or notes:text?`);
  const [, name, rawType, optional] = match;
  if (!CAMEL.test(name)) throw new GeneratorError(`field "${name}" is not a camelCase identifier (a lowercase letter, then letters and digits)`);
  if (RESERVED_FIELDS.has(name)) throw new GeneratorError(`field "${name}" is reserved: every resource has it already, or its list input uses the name`);
  const refMatch = /^ref\((.*)\)$/.exec(rawType);
  if (refMatch) return { name, type: "ref", optional: optional === "?", values: [], ref: parseRef(name, refMatch[1] ?? "", existing) };
  const enumMatch = /^enum\((.*)\)$/.exec(rawType);
  if (enumMatch) {
    const values = (enumMatch[1] ?? "").split("|");
    const bad = values.find((v) => !ENUM_VALUE.test(v));
    if (bad !== undefined) throw new GeneratorError(`enum value "${bad}" of field "${name}" is not an identifier (letters, digits, _; a letter first)`);
    if (new Set(values).size !== values.length) throw new GeneratorError(`field "${name}" repeats an enum value`);
    return { name, type: "enum", optional: optional === "?", values };
  }
  if (!(TYPES as readonly string[]).includes(rawType)) {
    throw new GeneratorError(`field "${name}" has an unknown type "${rawType}": use one of ${TYPES.join(", ")}, enum(a|b|c), ref(<Resource>)`);
  }
  return { name, type: rawType as FieldType, optional: optional === "?", values: [] };
}

const USAGE = "usage: npm run generate -- resource <Name> <field>:<type>[?] ... [--search <field>] [--unique <field>[,<field>...]]... [--sort <field>]... [--access <operation>=<role>[:own],...]";

/** Reads `resource <Name> <field>:<type>[?] ... [options]`; `existing` holds the models and router keys taken. */
export function parseResourceArgs(args: string[], existing: Existing): ResourceSpec {
  const [kind, model, ...rest] = args;
  if (kind !== "resource") throw new GeneratorError(USAGE);
  if (!model || !PASCAL.test(model)) throw new GeneratorError(`"${model ?? ""}" is not a PascalCase resource name (e.g. Environment, ApiKey)`);
  if (RESERVED_MODELS.has(model)) throw new GeneratorError(`"${model}" is reserved`);
  const key = lowerFirst(pluralOf(model));
  if (key === lowerFirst(model)) throw new GeneratorError(`${model} is its own plural: choose a name whose plural differs (the list and a row need two names)`);
  if (existing.models.has(model) || existing.keys.has(key) || key === "auth") throw new GeneratorError(`resource ${model} (${key}) already exists`);

  let searchField: string | undefined;
  const uniqueArgs: string[] = [];
  const sortArgs: string[] = [];
  let access: AccessDeclaration = {};
  const fieldArgs: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] ?? "";
    const option = /^--(search|unique|sort)(?:=(.*))?$/.exec(arg);
    if (option) {
      const value = option[2] ?? rest[++i];
      if (!value || value.startsWith("-")) throw new GeneratorError(`--${option[1]} needs a field name`);
      if (option[1] === "search") searchField = value;
      else (option[1] === "unique" ? uniqueArgs : sortArgs).push(value);
    } else if (arg === "--access" || arg.startsWith("--access=")) {
      access = accessOf(arg === "--access" ? rest[++i] : arg.slice("--access=".length));
    } else if (arg.startsWith("-")) {
      throw new GeneratorError(`unknown option ${arg}`);
    } else {
      fieldArgs.push(arg);
    }
  }
  if (fieldArgs.length === 0) throw new GeneratorError("no fields: give at least one, e.g. name:string");
  const fields = fieldArgs.map((arg) => parseField(arg, existing));
  const seen = new Set<string>();
  for (const field of fields) {
    if (seen.has(field.name)) throw new GeneratorError(`field "${field.name}" is given twice`);
    seen.add(field.name);
  }
  const strings = fields.filter((f) => f.type === "string");
  if (searchField !== undefined) {
    const named = fields.find((f) => f.name === searchField);
    if (!named) throw new GeneratorError(`--search names "${searchField}", which is not one of the fields`);
    if (named.type !== "string") throw new GeneratorError(`--search must name a string field; "${searchField}" is ${named.type}`);
  } else {
    searchField = strings[0]?.name;
    if (!searchField) throw new GeneratorError("no string field to search: add one (e.g. name:string), or name one with --search");
  }
  const byName = new Map(fields.map((field) => [field.name, field]));
  for (const field of fields.filter((f) => f.type === "ref")) {
    const relation = field.name.slice(0, -2);
    if (byName.has(relation)) throw new GeneratorError(`field "${relation}" clashes with the relation of the reference ${field.name}: rename one`);
  }
  const unique = uniqueArgs.map((arg) => {
    const names = arg.split(",").map((name) => name.trim());
    if (new Set(names).size !== names.length) throw new GeneratorError(`--unique ${arg} names a field twice`);
    for (const name of names) {
      const field = byName.get(name);
      if (!field) throw new GeneratorError(`--unique names "${name}", which is not one of the fields`);
      if (!UNIQUE_TYPES.has(field.type)) throw new GeneratorError(`--unique: "${name}" is ${field.type}, which cannot be part of a unique key`);
    }
    if (!names.some((name) => VARYING_TYPES.has(byName.get(name)?.type ?? "boolean"))) {
      throw new GeneratorError(`--unique ${arg} needs a string, int, number or datetime field among its fields (a key of references, enums and booleans alone is not supported)`);
    }
    return names;
  });
  const sortable: string[] = [];
  for (const name of sortArgs) {
    const field = byName.get(name);
    if (!field) throw new GeneratorError(`--sort names "${name}", which is not one of the fields`);
    if (!SORTABLE_TYPES.has(field.type)) throw new GeneratorError(`--sort: "${name}" is ${field.type}; sort by a string, int, number, datetime or enum field`);
    if (field.optional) throw new GeneratorError(`--sort: "${name}" is optional; only required fields are sortable (a keyset over NULLs is not supported)`);
    if (sortable.includes(name)) throw new GeneratorError(`--sort ${name} is given twice`);
    sortable.push(name);
  }
  const table = snakeCase(pluralOf(model));
  // PostgreSQL cuts identifiers at 63 bytes; the longest index name the model gets must fit.
  const names = [
    `${table}_org_live_created_idx`,
    `${table}_org_updated_at_live_sort_idx`,
    ...fields.map((f) => `${table}_org_${snakeCase(f.name)}_live_created_idx`),
    ...sortable.map((f) => `${table}_org_${snakeCase(f)}_live_sort_idx`),
    ...unique.map((fieldsOfKey) => uniqueIndexName(table, fieldsOfKey)),
  ];
  const longest = Math.max(...names.map((name) => name.length));
  if (longest > 63) throw new GeneratorError(`names are too long for PostgreSQL index names (${longest} > 63 characters): choose shorter names`);
  return { model, key, table, singular: lowerFirst(model), fields, searchField, unique, sortable, access };
}

/** `--access`'s rules, only those that differ from the default policy. */
function accessOf(text: string | undefined): AccessDeclaration {
  if (!text) throw new GeneratorError("--access needs rules, e.g. --access read=viewer,create=member,update=member:own,delete=admin");
  try {
    return declarationOf(policyOf(parseAccessText(text)));
  } catch (error) {
    if (error instanceof AccessDeclarationError) throw new GeneratorError(`--access: ${error.message}`, { cause: error });
    throw error;
  }
}
