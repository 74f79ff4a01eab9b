import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    // Two cores: integration suites each own a database and a server.
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: "unit", include: ["test/unit/**/*.test.ts"] } },
      // Suites that open databases start from the run's migrated templates. Each builds its own
      // server and database (no module-level state in src/), so a worker reuses its loaded modules
      // (oidc-provider, Prisma, PGlite's WebAssembly) from one suite to the next.
      {
        extends: true,
        test: {
          name: "server",
          include: ["test/integration/**/*.test.ts", "test/e2e/**/*.test.ts"],
          globalSetup: ["test/setup/database-templates.ts"],
          isolate: false,
        },
      },
    ],
  },
});
