// `prisma generate` wants a native schema-engine binary it never runs; it cannot be
// downloaded on offline machines, so point it at an existing executable instead.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

const cli = "node_modules/prisma/build/index.js";
if (!existsSync(cli)) {
  // A production install without dev dependencies (the Docker image generates the client at build time).
  console.warn("prisma (a dev dependency) is not installed: skipping Prisma client generation");
  process.exit(0);
}

const env = { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.execPath, PRISMA_HIDE_UPDATE_MESSAGE: "1" };
const result = spawnSync(process.execPath, [cli, "generate"], { stdio: "inherit", env });
process.exit(result.status ?? 1);
