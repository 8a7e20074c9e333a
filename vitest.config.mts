import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig(async () => {
  const migrations = await readD1Migrations("./migrations");
  return {
    test: {
      // Call records are logged as one line per call; keep test output quiet.
      onConsoleLog: (log: string) => !log.includes('"event":"sluice.call"'),
      projects: [
        {
          // The gateway's own tests, inside workerd against real local D1 and Durable Objects.
          plugins: [
            cloudflareTest({
              wrangler: { configPath: "./wrangler.toml" },
              remoteBindings: false,
              miniflare: {
                bindings: {
                  ADMIN_TOKEN: "test-admin-token-0123456789",
                  TEST_MIGRATIONS: migrations,
                },
              },
            }),
          ],
          test: {
            name: "workers",
            setupFiles: ["./test/setup.ts"],
            include: ["test/**/*.test.ts"],
            exclude: ["test/browser/**", "test/workerd/**", "test/node/**"],
            testTimeout: 20_000,
            // One module graph for every file (141 s → ~25 s wall here): storage is shared across files anyway,
            // so every test makes its own keys and ids, and restores its mocks (vi.restoreAllMocks) after itself.
            // Passes in shuffled order too (--sequence.shuffle).
            isolate: false,
          },
        },
        {
          // Plain Node: the setup script against a stub wrangler, the deploy bundle's size and binding types.
          test: {
            name: "node",
            environment: "node",
            include: ["test/node/**/*.test.ts"],
            testTimeout: 30_000,
          },
        },
        {
          // The production bundle served on workerd (scripts/serve-lib.mjs), driven from Node: real Chromium
          // (test/browser) and load against loopback upstreams (test/workerd).
          test: {
            name: "bundle",
            environment: "node",
            include: ["test/browser/**/*.test.ts", "test/workerd/**/*.test.ts"],
            testTimeout: 60_000,
            hookTimeout: 120_000,
            fileParallelism: false,
          },
        },
      ],
    },
  };
});
