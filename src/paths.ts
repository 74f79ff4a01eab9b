import { resolve } from "node:path";

/** The repository (or image) root: config/, views/ and prisma/ live here, beside src/ or dist/. */
export const PROJECT_ROOT = resolve(import.meta.dirname, "..");
