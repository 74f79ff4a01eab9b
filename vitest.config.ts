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
      // Suites that open databases start from the run's migrated templates.
      {
        extends: true,
        test: { name: "server", include: ["test/integration/**/*.test.ts", "test/e2e/**/*.test.ts"], globalSetup: ["test/setup/database-templates.ts"] },
      },
    ],
  },
});
