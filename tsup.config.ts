import { defineConfig } from "tsup";

export default defineConfig({
  entry: {
    index: "src/index.ts",
    nats: "src/adapters/nats/index.ts",
    // `acktor/nats` under package.json's "browser" condition: the same exports, connecting over
    // WebSocket only, so it reaches neither @nats-io/transport-node nor any node:* module.
    "nats.browser": "src/adapters/nats/browser.ts",
    internal: "src/internal.ts",
    // `npx acktor serve`: package.json's "bin".
    bin: "src/cli/acktor.ts",
  },
  format: ["esm", "cjs"],
  // Shared chunks in both formats: without them each CommonJS entry carries its own copy of
  // every class, and `err instanceof AcktorError` fails across `acktor` and `acktor/nats`
  // (either of its builds: the browser entry shares the adapter's chunks too).
  splitting: true,
  // The producer and consumer are `AsyncDisposable` (`await using`), so their declarations
  // name `Symbol.asyncDispose`: each declaration file brings the lib that declares it, rather
  // than failing for users whose tsconfig lacks it (no @types/node, lib es2022).
  dts: { banner: '/// <reference lib="esnext.disposable" />' },
  sourcemap: true,
  clean: true,
  target: "es2022",
});
