/**
 * The contract: every input and output of the API, as zod schemas (shared pieces in `common.ts`, one file a
 * resource). Types are inferred from them, and the typed client computes its published types from them.
 */
export * from "./common.js";
export * from "./roles.js";
export * from "./features.js";
