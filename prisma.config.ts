import { defineConfig } from "prisma/config";

// Only `prisma generate` reads this file; migrations run through src/db/migrate.ts
// (the WebAssembly schema engine) and stay readable by `prisma migrate deploy`.
export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
});
