import { defineConfig } from "tsup";

export default defineConfig({
  entry: { index: "src/index.ts", nats: "src/adapters/nats/index.ts", internal: "src/internal.ts" },
  format: ["esm", "cjs"],
  // Shared chunks in both formats: without them each CommonJS entry carries its own copy of
  // every class, and `err instanceof AcktorError` fails across `acktor` and `acktor/nats`.
  splitting: true,
  dts: true,
  sourcemap: true,
  clean: true,
  target: "es2022",
});
