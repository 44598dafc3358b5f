// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

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
