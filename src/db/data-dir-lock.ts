import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer, type Server } from "node:net";
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

// Linux: an abstract Unix socket named after the directory. The kernel lets one process bind it,
// takes it back the moment that process ends (crash, kill -9) and never from a live one, however long
// it is paused; binding is atomic, so processes taking over a dead holder's lock cannot both win.
// Abstract sockets are per network namespace: the lock file below still guards a shared volume.
function kernelLockName(dataDir: string): string | null {
  if (process.platform !== "linux") return null;
  return `\0passkey-idp:${createHash("sha256").update(realpathSync(dataDir)).digest("hex").slice(0, 40)}`;
}

function holdKernelLock(dataDir: string): Promise<Server | null> {
  const name = kernelLockName(dataDir);
  if (name === null) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => socket.destroy());
    server.once("error", (error: NodeJS.ErrnoException) => reject(error.code === "EADDRINUSE" ? new DataDirLockedError(dataDir) : error));
    server.listen({ path: name }, () => resolve(server.unref()));
  });
}

function kernelLockHeld(dataDir: string): Promise<boolean> {
  let name: string | null;
  try {
    name = kernelLockName(dataDir);
  } catch {
    return Promise.resolve(false);
  }
  if (name === null) return Promise.resolve(false);
  return new Promise((resolve) => {
    const socket = connect({ path: name });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

const closeServer = (server: Server | null) => new Promise<void>((done) => (server ? server.close(() => done()) : done()));

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
export async function dataDirHeld(dataDir: string): Promise<boolean> {
  if (await kernelLockHeld(dataDir)) return true;
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
  const kernelLock = await holdKernelLock(dataDir);
  try {
    const release = await acquireLockFile(dataDir, onCompromised);
    writeOwner(dataDir);
    return async () => {
      try {
        rmSync(join(dataDir, OWNER), { force: true });
        await release();
      } finally {
        await closeServer(kernelLock);
      }
    };
  } catch (error) {
    await closeServer(kernelLock);
    throw error;
  }
}

async function acquireLockFile(dataDir: string, onCompromised: (error: Error) => void): Promise<ReleaseLock> {
  try {
    return await acquire(dataDir, onCompromised);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ELOCKED") throw error;
    const owner = readOwner(dataDir);
    if (owner === null || !isProcessGone(owner)) throw new DataDirLockedError(dataDir);
    rmSync(join(dataDir, LOCK), { recursive: true, force: true });
    try {
      return await acquire(dataDir, onCompromised);
    } catch (retryError) {
      // Another process took the freed lock first.
      if ((retryError as NodeJS.ErrnoException).code === "ELOCKED") throw new DataDirLockedError(dataDir);
      throw retryError;
    }
  }
}
