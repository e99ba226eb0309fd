import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

// Tauri loads the built files from ui/dist; the dev server port matches tauri.conf.json's devUrl.
export default defineConfig({
  plugins: [react()],
  clearScreen: false,
  server: { port: 5173, strictPort: true },
  build: { target: "safari15", outDir: "dist", emptyOutDir: true },
  test: { environment: "jsdom", globals: false, include: ["src/**/*.test.{ts,tsx}"] },
});
