// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

/** The one module that may import tRPC's internals (see its header). */
const TRPC_INTERNALS_DOOR = "server/trpc/fast-path/internals.ts";

export default tseslint.config(
  { ignores: ["node_modules/", "dist/", "**/dist/", "server/generated/", ".data/", "coverage/", "test-results/", "bench/results/"] },
  // Type tests of the client package, and the example app: each is type-checked in its own project where
  // `@kuark/features-client` is installed (tests/client, tests/browser/web-example.test.ts run that check).
  { ignores: ["client/typetests/", "examples/"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    // tRPC's internals (not its public API) behind one door: the fast paths reach them through that module alone.
    ignores: [TRPC_INTERNALS_DOOR],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [{ name: "@trpc/server/unstable-core-do-not-import", message: `tRPC's internals are imported by ${TRPC_INTERNALS_DOOR} only: add what you need there.` }],
          patterns: [{ group: ["@trpc/*/dist/*", "@trpc/*/src/*"], message: `Import tRPC's public entry points; its internals go through ${TRPC_INTERNALS_DOOR}.` }],
        },
      ],
    },
  },
  { files: ["**/*.js", "**/*.mjs"], ...tseslint.configs.disableTypeChecked },
  {
    // The developer panel's page script runs in the browser (no bundler, no Node globals).
    files: ["server/panel/static/*.js"],
    languageOptions: {
      sourceType: "module",
      globals: Object.fromEntries(
        ["document", "window", "location", "history", "fetch", "sessionStorage", "performance", "console", "URLSearchParams", "EventSource"].map((name) => [name, "readonly"]),
      ),
    },
  },
  {
    files: ["scripts/*.mjs"],
    languageOptions: { globals: { process: "readonly", console: "readonly" } },
  },
  {
    files: ["client/*.mjs"],
    languageOptions: { globals: { process: "readonly", URL: "readonly" } },
  },
);
