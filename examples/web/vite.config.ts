import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// In this repository the app is an npm workspace: `@kuark/features-client` links to ../../client, and react,
// @tanstack/react-query and @trpc/* are installed once at the root, so the app and the client import the same
// copies (two copies of React are the "Invalid hook call" blank page).
export default defineConfig({
  plugins: [react()],
  server: { port: 5173 },
  preview: { port: 4173 },
});
