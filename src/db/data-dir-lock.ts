import { mkdirSync } from "node:fs";
import { join } from "node:path";
import lockfile from "proper-lockfile";

export class DataDirLockedError extends Error {
  constructor(dataDir: string) {
    super(`DATA_DIR ${dataDir} is in use by another process (is the server already running?)`);
    this.name = "DataDirLockedError";
  }
}

export type ReleaseLock = () => Promise<void>;

/**
 * One process owns the embedded database. PGlite itself does not lock: two
 * processes opening one directory both succeed and corrupt it on concurrent writes.
 */
export async function lockDataDir(dataDir: string, onCompromised: (error: Error) => void): Promise<ReleaseLock> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  try {
    return await lockfile.lock(dataDir, {
      lockfilePath: join(dataDir, "idp.lock"),
      stale: 10_000,
      update: 2_000,
      realpath: false,
      onCompromised,
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ELOCKED") throw new DataDirLockedError(dataDir);
    throw error;
  }
}
