/**
 * What the panel knows about a router: every procedure's path, kind, and input and output as JSON Schema,
 * generated from the procedures' own zod schemas, so a new procedure shows up with no change here.
 *
 * Why not a panel package: trpc-panel supports tRPC 10 only; trpc-ui 1.0.15 (its latest release) declares
 * `zod: ^3` and throws "Cannot read properties of undefined (reading 'typeName')" on a zod 4 schema, because it
 * walks zod 3's internal `_def.typeName`; trpc-playground wants tRPC 10 and zod 3. zod 4 has a JSON Schema
 * generator of its own (`z.toJSONSchema`), and tRPC keeps each procedure's parsers on `_def`, so a page that
 * renders JSON Schema needs nothing else.
 * @see https://zod.dev/json-schema
 */
import type { AnyTRPCRouter } from "@trpc/server";
import { z } from "zod";
import type { core } from "zod";

/** A JSON Schema document, as `z.toJSONSchema` returns it. */
export type JsonSchema = Record<string, unknown>;

export interface ProcedureDescription {
  /** The dotted path the client calls, `features.create`. */
  path: string;
  type: "query" | "mutation" | "subscription";
  /** `null`: the procedure takes no input. `{}`: it takes one the panel cannot describe (see `note`). */
  input: JsonSchema | null;
  /** `null`: no output schema, anything the resolver returns. */
  output: JsonSchema | null;
  /** The least role the procedure requires (server/kit/access.ts); absent: any caller with a valid token (`auth.me`). */
  access?: { role: string; own: boolean; description: string };
  note?: string;
}

/**
 * Both are tRPC internals (`_def.inputs` is typed, `_def.output` is not); they have been stable across v11.
 * @see https://github.com/trpc/trpc/blob/main/packages/server/src/unstable-core-do-not-import/procedureBuilder.ts
 */
interface ProcedureDef {
  type: ProcedureDescription["type"];
  inputs: unknown[];
  output?: unknown;
  /** What `.meta()` gave: a resource procedure's `{ access }` (server/kit/access.ts `accessMetaOf`). */
  meta?: { access?: { role: string; own: boolean; description: string } };
}

function isZodSchema(parser: unknown): parser is core.$ZodType {
  return typeof parser === "object" && parser !== null && "_zod" in parser;
}

function jsonSchemaOf(parser: unknown, io: "input" | "output"): { schema: JsonSchema; note?: string } {
  if (!isZodSchema(parser)) return { schema: {}, note: `the ${io} is not a zod schema` };
  try {
    // "any" instead of throwing on what JSON Schema cannot say (dates, transforms' results, bigints).
    return { schema: z.toJSONSchema(parser, { io, unrepresentable: "any" }) };
  } catch (error) {
    return { schema: {}, note: `the ${io} schema cannot be shown: ${(error as Error).message}` };
  }
}

/**
 * Describes every procedure of `router`, sorted by path. Procedures of `lazy()` sub-routers appear once they
 * have been loaded (tRPC lists them only then).
 */
export function describeProcedures(router: AnyTRPCRouter): ProcedureDescription[] {
  // At run time `_def.procedures` is flat, keyed by the dotted path (its declared type is the nested record).
  const procedures = router._def.procedures as Record<string, { _def: ProcedureDef }>;
  return Object.entries(procedures)
    .map(([path, procedure]): ProcedureDescription => {
      const { type, inputs, output, meta } = procedure._def;
      const notes: string[] = [];
      let input: JsonSchema | null = null;
      if (inputs.length > 0) {
        // Chained `.input()` calls: tRPC merges the objects, which is what `allOf` says.
        const parts = inputs.map((parser) => jsonSchemaOf(parser, "input"));
        parts.forEach((part) => part.note && notes.push(part.note));
        input = parts.length === 1 ? parts[0]!.schema : { allOf: parts.map((part) => part.schema) };
      }
      const out = output === undefined ? undefined : jsonSchemaOf(output, "output");
      if (out?.note) notes.push(out.note);
      const access = meta?.access && { role: meta.access.role, own: meta.access.own, description: meta.access.description };
      return { path, type, input, output: out?.schema ?? null, ...(access && { access }), ...(notes.length > 0 && { note: notes.join("; ") }) };
    })
    .sort((a, b) => a.path.localeCompare(b.path));
}
