/** What `npm run generate` writes for a resource spec: pure text, computed before anything is written. */
import type { FieldSpec, ResourceSpec } from "./spec.js";
import { snakeCase } from "./spec.js";
import { uniqueIndexName } from "../../server/kit/define.js";

const upperFirst = (name: string) => name.charAt(0).toUpperCase() + name.slice(1);
const enumTypeOf = (spec: ResourceSpec, field: FieldSpec) => `${spec.model}${upperFirst(field.name)}`;
/** Enum, boolean and reference fields are equality filters of list, infinite and onChange. */
const isFilter = (field: FieldSpec) => field.type === "enum" || field.type === "boolean" || field.type === "ref";
/** A reference's relation field (`projectId` -> `project`) and its relation's name, unique in the schema. */
const relationOf = (field: FieldSpec) => field.name.slice(0, -2);
const relationName = (spec: ResourceSpec, field: FieldSpec) => `${spec.table}_${snakeCase(field.name)}`;
/** The back-relation the referenced model gets: `environmentsByProjectId Environment[]`. */
const backRelationOf = (spec: ResourceSpec, field: FieldSpec) => `${spec.key}By${upperFirst(field.name)}`;
/** A list of strings as TypeScript source. */
const list = (values: string[]) => `[${values.map((v) => JSON.stringify(v)).join(", ")}]`;
/** How the entity's words read to a person: `ApiKey` -> `api key`. */
const words = (model: string) => snakeCase(model).replace(/_/g, " ");

/** Each field type's Prisma column and zod output rule (an enum's are its own type, named per resource). */
const TYPES: Record<Exclude<FieldSpec["type"], "enum">, { prisma: string; output: string }> = {
  string: { prisma: "String @db.VarChar(200)", output: "z.string()" },
  text: { prisma: "String", output: "z.string()" },
  int: { prisma: "Int", output: "z.number().int()" },
  number: { prisma: "Float", output: "z.number()" },
  boolean: { prisma: "Boolean", output: "z.boolean()" },
  datetime: { prisma: "DateTime @db.Timestamptz(3)", output: "z.iso.datetime()" },
  ref: { prisma: "String @db.Uuid", output: "z.uuid()" },
};

function prismaType(spec: ResourceSpec, field: FieldSpec): string {
  const base = field.type === "enum" ? enumTypeOf(spec, field) : TYPES[field.type].prisma;
  const [type, ...attributes] = base.split(" ");
  const column = snakeCase(field.name);
  return [`${type}${field.optional ? "?" : ""}`, ...(column === field.name ? [] : [`@map("${column}")`]), ...attributes].join(" ");
}

/** The model (and its enums) to append to prisma/schema.prisma: the same columns and indexes as Feature's. */
export function prismaModel(spec: ResourceSpec): string {
  const enums = spec.fields
    .filter((f) => f.type === "enum")
    .map((f) => `enum ${enumTypeOf(spec, f)} {\n${f.values.map((v) => `  ${v}`).join("\n")}\n}\n`);
  const rows: [string, string][] = [
    ["id", "String @id @default(uuid()) @db.Uuid"],
    ["organizationId", 'String @map("organization_id")'],
    ...spec.fields.map((f): [string, string] => [f.name, prismaType(spec, f)]),
    ["createdById", 'String @map("created_by_id")'],
    ["updatedById", 'String @map("updated_by_id")'],
    ["createdAt", 'DateTime @default(now()) @map("created_at") @db.Timestamptz(3)'],
    ["updatedAt", 'DateTime @updatedAt @map("updated_at") @db.Timestamptz(3)'],
    ["deletedAt", 'DateTime? @map("deleted_at") @db.Timestamptz(3)'],
    ["organization", "Organization @relation(fields: [organizationId], references: [id], onDelete: Cascade)"],
    // A reference is a composite foreign key (organization_id, <ref>_id) -> the other table's (organization_id, id):
    // even hand-written SQL cannot link rows of two organizations. NO ACTION: rows are soft-deleted (the kit
    // applies restrict and cascade); only an organization's removal deletes rows, its own and its children's at once.
    ...spec.fields
      .filter((f) => f.type === "ref")
      .map((f): [string, string] => [
        relationOf(f),
        `${f.ref?.model}${f.optional ? "?" : ""} @relation("${relationName(spec, f)}", fields: [organizationId, ${f.name}], references: [organizationId, id], onDelete: NoAction, onUpdate: NoAction, map: "${relationName(spec, f)}_fkey")`,
      ]),
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  const live = 'where: raw("deleted_at IS NULL")';
  const search = spec.searchField;
  const indexes = [
    `  // The list of one organization, newest first; deleted rows are filtered on the index itself.`,
    `  @@index([organizationId, createdAt(sort: Desc), id(sort: Desc)], map: "${spec.table}_org_live_created_idx", ${live})`,
    ...spec.fields
      .filter(isFilter)
      .map((f) => `  @@index([organizationId, ${f.name}, createdAt(sort: Desc), id(sort: Desc)], map: "${spec.table}_org_${snakeCase(f.name)}_live_created_idx", ${live})`),
    `  // Search: a trigram index serves ILIKE '%term%' for terms of 3+ characters, at any table size.`,
    `  @@index([${search}(ops: raw("gin_trgm_ops"))], type: Gin, map: "${spec.table}_${snakeCase(search)}_trgm_idx", ${live})`,
    `  // Sorted lists (\`sort: { field }\`): one index per sortable field, read forwards or backwards.`,
    ...["updatedAt", ...spec.sortable].map((f) => `  @@index([organizationId, ${f}, id], map: "${spec.table}_org_${snakeCase(f)}_live_sort_idx", ${live})`),
    `  // The target of the composite foreign keys of rows that refer to this one.`,
    `  @@unique([organizationId, id], map: "${spec.table}_org_id_key")`,
    ...(spec.unique.length ? [`  // Unique keys among the organization's live rows: a soft-deleted row frees its key.`] : []),
    ...spec.unique.map((fields) => `  @@unique([organizationId, ${fields.join(", ")}], map: "${uniqueIndexName(spec.table, fields)}", ${live})`),
  ];
  return [
    ...enums,
    `/// ${spec.model}: generated by \`npm run generate -- resource ${spec.model} ...\`; one organization's each.`,
    `model ${spec.model} {`,
    ...rows.map(([name, type]) => `  ${name.padEnd(width)} ${type}`),
    "",
    ...indexes,
    `  @@map("${spec.table}")`,
    "}",
    "",
  ].join("\n");
}

/** Adds the model and the Organization's back-relation (`apiKeys ApiKey[]`) to the schema text. */
export function schemaWith(schema: string, spec: ResourceSpec): string {
  const organization = /model Organization \{\n([\s\S]*?)\n\}/.exec(schema);
  if (!organization) throw new Error("prisma/schema.prisma has no `model Organization { ... }` block");
  const body = organization[1] ?? "";
  const lines = body.split("\n");
  // The back-relation goes after the last field, before the block attributes (@@map).
  const firstAttribute = lines.findIndex((line) => line.trim().startsWith("@@"));
  const insertAt = firstAttribute === -1 ? lines.length : lines.slice(0, firstAttribute).findLastIndex((line) => line.trim() !== "") + 1;
  lines.splice(insertAt, 0, `  ${spec.key} ${spec.model}[]`);
  let updated = schema.replace(organization[0], `model Organization {\n${lines.join("\n")}\n}`);
  for (const field of spec.fields.filter((f) => f.type === "ref")) updated = withBackRelation(updated, spec, field);
  return `${updated.trimEnd()}\n\n${prismaModel(spec)}`;
}

/**
 * The referenced model with the back-relation Prisma needs (`environmentsByProjectId Environment[]`) after
 * its last field, and the unique key `(organizationId, id)` the foreign key targets, if it has none yet.
 */
function withBackRelation(schema: string, spec: ResourceSpec, field: FieldSpec): string {
  const target = field.ref?.model ?? "";
  const block = new RegExp(`model ${target} \\{\\n([\\s\\S]*?)\\n\\}`).exec(schema);
  if (!block) throw new Error(`prisma/schema.prisma has no \`model ${target} { ... }\` block`);
  const lines = (block[1] ?? "").split("\n");
  const firstAttribute = lines.findIndex((line) => line.trim().startsWith("@@") || line.trim().startsWith("//"));
  const fieldEnd = lines.slice(0, firstAttribute === -1 ? lines.length : firstAttribute).findLastIndex((line) => line.trim() !== "") + 1;
  lines.splice(fieldEnd, 0, `  ${backRelationOf(spec, field)} ${spec.model}[] @relation("${relationName(spec, field)}")`);
  if (!lines.some((line) => /@@unique\(\[organizationId, id\]/.test(line))) {
    const mapAt = lines.findIndex((line) => line.trim().startsWith("@@map("));
    const table = /@@map\("([^"]+)"\)/.exec(block[1] ?? "")?.[1] ?? snakeCase(target);
    lines.splice(mapAt === -1 ? lines.length : mapAt, 0, `  @@unique([organizationId, id], map: "${table}_org_id_key")`);
  }
  return schema.replace(block[0], `model ${target} {\n${lines.join("\n")}\n}`);
}

function inputRule(spec: ResourceSpec, field: FieldSpec): string {
  const base = field.type === "enum" ? enumTypeOf(spec, field) : field.type === "ref" ? "ReferenceId()" : `FieldInput.${field.type}()`;
  return field.optional ? `${base}.nullable().optional()` : base;
}

function outputRule(spec: ResourceSpec, field: FieldSpec): string {
  const base = field.type === "enum" ? enumTypeOf(spec, field) : TYPES[field.type].output;
  return field.optional ? `${base}.nullable()` : base;
}

export function contractFile(spec: ResourceSpec, command: string): string {
  const enums = spec.fields
    .filter((f) => f.type === "enum")
    .map((f) => `export const ${enumTypeOf(spec, f)} = z.enum([${f.values.map((v) => JSON.stringify(v)).join(", ")}]);\nexport type ${enumTypeOf(spec, f)} = z.infer<typeof ${enumTypeOf(spec, f)}>;\n`);
  const filters = spec.fields.filter(isFilter).map((f) => `${f.name}: ${f.type === "enum" ? enumTypeOf(spec, f) : f.type === "ref" ? "ReferenceId()" : "z.boolean()"}`);
  const imports = [
    ...(spec.fields.some((f) => f.type !== "enum" && f.type !== "ref") ? ["FieldInput"] : []),
    ...(spec.fields.some((f) => f.type === "ref") ? ["ReferenceId"] : []),
    "resourceContract",
  ];
  return [
    `/** The ${spec.key} contract. Written by \`${command}\`; yours to edit. */`,
    'import { z } from "zod";',
    `import { ${imports.join(", ")} } from "./common.js";`,
    "",
    ...enums,
    `export const ${spec.singular}Contract = resourceContract({`,
    `  key: "${spec.key}",`,
    `  name: "${spec.model}",`,
    "  create: {",
    ...spec.fields.map((f) => `    ${f.name}: ${inputRule(spec, f)},`),
    "  },",
    "  output: {",
    ...spec.fields.map((f) => `    ${f.name}: ${outputRule(spec, f)},`),
    "  },",
    `  filters: {${filters.length ? ` ${filters.join(", ")} ` : ""}},`,
    ...(spec.sortable.length ? [`  sortable: ${list(spec.sortable)},`] : []),
    "});",
    "",
    `/** ${spec.model} as it travels on the wire; timestamps are ISO-8601 strings. */`,
    `export type ${spec.model} = z.infer<typeof ${spec.singular}Contract.entity>;`,
    "",
  ].join("\n");
}

/**
 * A valid value of each field but a reference (the tests fill those with rows they create). `n` makes the
 * search field's text unique, and every field of a unique key or sortable field that can vary.
 */
function sampleValue(spec: ResourceSpec, field: FieldSpec, n: string): string {
  // Varying values make unique keys hold across a test's rows, and sorted lists tell their rows apart.
  const varies = field.name === spec.searchField || spec.sortable.includes(field.name) || spec.unique.some((key) => key.includes(field.name));
  switch (field.type) {
    case "string":
      if (field.name === spec.searchField) return `\`${upperFirst(words(spec.model))} \${${n}}\``;
      return varies ? `\`Some ${words(field.name)} \${${n}}\`` : JSON.stringify(`Some ${words(field.name)}`);
    case "text":
      return JSON.stringify("Some text,\non two lines.");
    case "int":
      return varies ? n : "42";
    case "number":
      return varies ? `${n} + 0.5` : "1.5";
    case "boolean":
      return "true";
    case "datetime":
      // With an offset: the entity returns it in UTC.
      return varies ? `new Date(Date.UTC(2026, 0, 2) + ${n} * 1000).toISOString()` : JSON.stringify("2026-01-02T05:04:05.000+02:00");
    case "enum":
      if (!varies || field.values.length < 2) return JSON.stringify(field.values[0]);
      // A literal where `n` is one (the definition's example must type as the enum), else picked by `n`.
      return /^\d+$/.test(n) ? JSON.stringify(field.values[Number(n) % field.values.length]) : `${list(field.values)}[${n} % ${field.values.length}]`;
    case "ref":
      throw new Error(`a reference (${field.name}) has no sample value: the tests fill it`);
  }
}

function invalidCases(field: FieldSpec): string[] {
  const c = (value: string, message?: string) => `{ field: "${field.name}", value: ${value}${message ? `, message: ${JSON.stringify(message)}` : ""} }`;
  switch (field.type) {
    case "string":
      return [c('"   "', "must not be empty"), c('"a".repeat(201)', "at most 200"), c("42"), c('"a\\u0000b"', "NUL")];
    case "text":
      return [c('"x".repeat(10_001)', "at most 10000"), c("7"), c('"a\\u0000b"', "NUL")];
    case "int":
      return [c("1.5", "integer"), c("2_147_483_648", "at most 2147483647"), c('"42"')];
    case "number":
      return [c('"1.5"'), c("true")];
    case "boolean":
      return [c('"yes"'), c("1")];
    case "datetime":
      return [c('"yesterday"', "ISO-8601"), c('"2026-01-02T03:04:05"', "ISO-8601")];
    case "enum":
      return [c(JSON.stringify(`${field.values.join("_")}_other`))];
    case "ref":
      return [c('"not-a-uuid"', "UUID"), c("42")];
  }
}

export function testFile(spec: ResourceSpec, command: string): string {
  const datetimes = spec.fields.filter((f) => f.type === "datetime");
  // Reference filters are the suite's own (it makes the rows they name).
  const filters = spec.fields.filter((f) => isFilter(f) && f.type !== "ref").map((f) => `${f.name}: ${f.type === "boolean" ? "[true, false]" : list(f.values)}`);
  const valued = spec.fields.filter((f) => f.type !== "ref");
  const firstEnum = spec.fields.find((f) => f.type === "enum" && f.values.length > 1);
  const update = [`${spec.searchField}: "Renamed ${words(spec.model)}"`, ...(firstEnum ? [`${firstEnum.name}: ${JSON.stringify(firstEnum.values.at(-1))}`] : [])];
  return [
    `/** ${spec.key} through the kit's conformance suite. Written by \`${command}\`; add tests of your own below. */`,
    `import { describeResource${datetimes.length ? ", isoUtc" : ""} } from "../../support/resource-suite.js";`,
    "",
    `describeResource("${spec.key}", {`,
    `  sample: (n) => ({ ${valued.map((f) => `${f.name}: ${sampleValue(spec, f, "n")}`).join(", ")} }),`,
    ...(datetimes.length ? [`  returned: { ${datetimes.map((f) => `${f.name}: isoUtc`).join(", ")} },`] : []),
    "  invalid: [",
    ...spec.fields.flatMap(invalidCases).map((line) => `    ${line},`),
    "  ],",
    `  required: ${list(spec.fields.filter((f) => !f.optional).map((f) => f.name))},`,
    `  optional: ${list(spec.fields.filter((f) => f.optional).map((f) => f.name))},`,
    `  update: { ${update.join(", ")} },`,
    `  filters: {${filters.length ? ` ${filters.join(", ")} ` : ""}},`,
    "});",
    "",
  ].join("\n");
}

export function definitionFile(spec: ResourceSpec, command: string): string {
  const example = spec.fields.filter((f) => f.type !== "ref").map((f) => `${f.name}: ${sampleValue(spec, f, "1").replace("${1}", "1")}`);
  const references = spec.fields.filter((f) => f.type === "ref").map((f) => `${f.name}: { to: "${f.ref?.key}", onDelete: "${f.ref?.onDelete}" }`);
  return [
    `/** ${upperFirst(words(spec.key))}, one organization's each. Written by \`${command}\`. */`,
    `import { ${spec.singular}Contract } from "../../contract/${spec.key}.js";`,
    'import { defineResource } from "../../kit/define.js";',
    "",
    `export const ${spec.key} = defineResource({`,
    `  contract: ${spec.singular}Contract,`,
    `  searchField: "${spec.searchField}",`,
    ...(references.length ? [`  references: { ${references.join(", ")} },`] : []),
    ...(spec.unique.length ? [`  unique: [${spec.unique.map(list).join(", ")}],`] : []),
    `  example: { ${example.join(", ")} },`,
    ...(Object.keys(spec.access).length > 0 ? [`  access: { ${Object.entries(spec.access).map(([operation, rule]) => `${operation}: ${JSON.stringify(rule)}`).join(", ")} },`] : []),
    "});",
    "",
  ].join("\n");
}

/** The list of resources (server/resources/definitions.ts) with the resource's import and entry added. */
export function definitionsWith(list: string, spec: ResourceSpec): string {
  const lines = list.split("\n");
  const lastImport = lines.findLastIndex((line) => line.startsWith("import "));
  lines.splice(lastImport + 1, 0, `import { ${spec.key} } from "./${spec.key}/definition.js";`);
  const end = lines.findIndex((line) => line.startsWith("} as const;"));
  if (end === -1) throw new Error("server/resources/definitions.ts has no `} as const;` line closing `definitions`");
  lines.splice(end, 0, `  ${spec.key},`);
  return lines.join("\n");
}
