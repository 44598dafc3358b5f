/**
 * `npm run generate -- resource <Name> <field>:<type>[?] ... [--search <field>] [--access <rules>]`: a new org-scoped resource in one
 * command. It writes the Prisma model and its migration (through the same offline schema engine as
 * `npm run db:migration`), the contract, the resource's definition, its line in the list of resources, and a test file; then
 * regenerates the Prisma client. It refuses a bad command line writing nothing, and says why.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { PrismaPGliteWithExtensions, createPGlite } from "../server/db/pglite.js";
import { diffMigrationsToSchema, schemaPath } from "../server/db/schema-engine.js";
import { GeneratorError, parseResourceArgs } from "./generator/spec.js";
import { OPERATIONS, policyOf, ruleText } from "../server/kit/access.js";
import { liveReferrersFunction } from "../server/kit/define.js";
import type { AccessDeclaration } from "../server/kit/access.js";
import { contractFile, definitionFile, definitionsWith, schemaWith, testFile } from "./generator/templates.js";
import { writeMigration } from "./support/migrations.js";

const root = path.resolve(import.meta.dirname, "..");
const definitionsPath = path.join(root, "server/resources/definitions.ts");
const args = process.argv.slice(2);
const command = `npm run generate -- ${args.join(" ")}`;

async function main(): Promise<void> {
  const [schema, list] = await Promise.all([readFile(schemaPath, "utf8"), readFile(definitionsPath, "utf8")]);
  const models = new Set([...schema.matchAll(/^(?:model|enum) (\w+)/gm)].map((m) => m[1] ?? ""));
  const keys = new Set([...list.matchAll(/^ {2}(\w+),$/gm)].map((m) => m[1] ?? ""));
  const spec = parseResourceArgs(args, { models, keys });
  const enumNames = spec.fields.filter((f) => f.type === "enum").map((f) => `${spec.model}${f.name.charAt(0).toUpperCase()}${f.name.slice(1)}`);
  const clash = enumNames.find((name) => models.has(name));
  if (clash) throw new GeneratorError(`the enum type ${clash} exists already in prisma/schema.prisma`);

  const files = new Map<string, string>([
    [path.join(root, `server/contract/${spec.key}.ts`), contractFile(spec, command)],
    [path.join(root, `server/resources/${spec.key}/definition.ts`), definitionFile(spec, command)],
    [path.join(root, `tests/kit/resources/${spec.key}.test.ts`), testFile(spec, command)],
  ]);
  for (const file of files.keys()) {
    if (existsSync(file)) throw new GeneratorError(`${path.relative(root, file)} exists already`);
  }
  const newSchema = schemaWith(schema, spec);

  // The migration is computed before anything is written: a schema the engine refuses leaves no trace.
  const shadow = createPGlite();
  const { exitCode, script } = await diffMigrationsToSchema(new PrismaPGliteWithExtensions(shadow), newSchema).finally(() => shadow.close());
  if (exitCode === 0) throw new Error("the schema engine found nothing to migrate for the new model");

  await writeFile(schemaPath, newSchema);
  // A restrict reference's check of live rows, which a delete of the row it names calls (server/kit/define.ts).
  const restricting = spec.fields.filter((field) => field.ref?.onDelete === "restrict").map((field) => liveReferrersFunction(spec.table, field.name));
  const migration = await writeMigration(`add_${spec.table}`, [script, ...restricting].join("\n"));
  for (const [file, content] of files) {
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, content);
  }
  await writeFile(definitionsPath, definitionsWith(list, spec));

  const generate = spawnSync(process.execPath, [path.join(root, "scripts/prisma-generate.mjs")], { cwd: root, stdio: "pipe", encoding: "utf8" });
  if (generate.status !== 0) throw new Error(`prisma generate failed:\n${generate.stdout}${generate.stderr}`);

  const written = [schemaPath, path.join(migration, "migration.sql"), ...files.keys(), definitionsPath].map((f) => `  ${path.relative(root, f)}`);
  console.log(
    [
      `Resource ${spec.model}: procedures ${spec.key}.create | list | infinite | byId | update | delete | history | onChange, and /api/v1/${spec.table.replace(/_/g, "-")}, searching "${spec.searchField}"; access ${describePolicy(spec.access)}.`,
      "Wrote:",
      ...written,
      "Next: npm test (the new test file runs with the rest); on PostgreSQL, npm run db:migrate applies the migration; the embedded database migrates itself on start.",
    ].join("\n"),
  );
}

try {
  await main();
} catch (error) {
  console.error(error instanceof GeneratorError ? `generate: ${error.message}. Nothing was written.` : error);
  process.exit(error instanceof GeneratorError ? 2 : 1);
}
// The WASM schema engine leaves a 10 s timer behind (its advisory-lock timeout): exit now.
process.exit(0);

/** `read=viewer, create=member, ...`: the whole policy the resource gets. */
function describePolicy(declaration: AccessDeclaration): string {
  const policy = policyOf(declaration);
  return OPERATIONS.map((operation) => `${operation}=${ruleText(policy[operation])}`).join(", ");
}
