// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", "dist/", "**/dist/", "server/generated/", ".data/", "coverage/", "test-results/", "bench/results/"] },
  // Type tests of the client package: compiled in a project that installs the packed package (tests/client).
  { ignores: ["client/typetests/"] },
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
        ["document", "window", "location", "history", "fetch", "sessionStorage", "performance", "console"].map((name) => [name, "readonly"]),
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
