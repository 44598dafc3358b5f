import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

export default defineConfig({
  plugins: [react()],
  // `@kuark/features-client` is a symlink to ../../client (a `file:` dependency): resolve its imports (react,
  // @tanstack/react-query, @trpc/*) from this app's node_modules, so there is one copy of each.
  resolve: { preserveSymlinks: true },
  server: { port: 5173 },
  preview: { port: 4173 },
});
