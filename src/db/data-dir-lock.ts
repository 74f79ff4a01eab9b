import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import lockfile from "proper-lockfile";
import { currentProcessIdentity, isProcessGone, type ProcessIdentity } from "./process-identity.js";

export class DataDirLockedError extends Error {
  constructor(dataDir: string) {
    super(`DATA_DIR ${dataDir} is in use by another process (is the server already running?)`);
    this.name = "DataDirLockedError";
  }
}

export type ReleaseLock = () => Promise<void>;

const LOCK = "idp.lock";
const OWNER = "idp.lock.owner";
// A holder we cannot check (another container on a shared volume) counts as gone once it stops refreshing.
const STALE_MS = 10_000;

function readOwner(dataDir: string): ProcessIdentity | null {
  try {
    return JSON.parse(readFileSync(join(dataDir, OWNER), "utf8")) as ProcessIdentity;
  } catch {
    return null;
  }
}

function writeOwner(dataDir: string): void {
  const temporary = join(dataDir, `${OWNER}.${process.pid}`);
  writeFileSync(temporary, JSON.stringify(currentProcessIdentity()), { mode: 0o600 });
  renameSync(temporary, join(dataDir, OWNER));
}

function acquire(dataDir: string, onCompromised: (error: Error) => void): Promise<ReleaseLock> {
  return lockfile.lock(dataDir, {
    lockfilePath: join(dataDir, LOCK),
    stale: STALE_MS,
    update: 2_000,
    realpath: false,
    onCompromised,
  });
}

/**
 * Whether another live process holds the lock now, by the rules `lockDataDir` takes it by. Only a
 * hint (the holder may stop, or another start, right after): taking the lock decides.
 */
export function dataDirHeld(dataDir: string): boolean {
  try {
    if (!lockfile.checkSync(dataDir, { lockfilePath: join(dataDir, LOCK), stale: STALE_MS, realpath: false })) return false;
  } catch {
    return false;
  }
  const owner = readOwner(dataDir);
  return owner === null || !isProcessGone(owner);
}

/**
 * One process owns the embedded database. PGlite itself does not lock: two
 * processes opening one directory both succeed and corrupt it on concurrent writes.
 * A lock whose recorded owner has certainly exited (crash, kill -9) is taken over at once.
 * @throws DataDirLockedError while another process holds it
 */
export async function lockDataDir(dataDir: string, onCompromised: (error: Error) => void): Promise<ReleaseLock> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  let release: ReleaseLock;
  try {
    release = await acquire(dataDir, onCompromised);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ELOCKED") throw error;
    const owner = readOwner(dataDir);
    if (owner === null || !isProcessGone(owner)) throw new DataDirLockedError(dataDir);
    rmSync(join(dataDir, LOCK), { recursive: true, force: true });
    try {
      release = await acquire(dataDir, onCompromised);
    } catch (retryError) {
      // Another process took the freed lock first.
      if ((retryError as NodeJS.ErrnoException).code === "ELOCKED") throw new DataDirLockedError(dataDir);
      throw retryError;
    }
  }
  writeOwner(dataDir);
  return async () => {
    rmSync(join(dataDir, OWNER), { force: true });
    await release();
  };
}
