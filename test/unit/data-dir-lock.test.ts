import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DataDirLockedError, dataDirHeld, lockDataDir } from "../../src/db/data-dir-lock.js";
import { currentProcessIdentity, type ProcessIdentity } from "../../src/db/process-identity.js";

const onCompromised = (error: Error) => {
  throw error;
};

/** What a process killed while holding the lock leaves behind: a fresh lock directory and its owner record. */
function leaveLockOf(dataDir: string, owner: ProcessIdentity): void {
  mkdirSync(join(dataDir, "idp.lock"));
  writeFileSync(join(dataDir, "idp.lock.owner"), JSON.stringify(owner));
}

async function pidOfExitedProcess(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""]);
  await new Promise((exited) => child.once("exit", exited));
  return child.pid as number;
}

describe("DATA_DIR lock", () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), "idp-lock-"));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it("refuses a second holder while the first runs, and is free again once released", async () => {
    const release = await lockDataDir(dataDir, onCompromised);
    await expect(lockDataDir(dataDir, onCompromised)).rejects.toBeInstanceOf(DataDirLockedError);
    await release();
    expect(existsSync(join(dataDir, "idp.lock.owner"))).toBe(false);
    await (await lockDataDir(dataDir, onCompromised))();
  });

  // Red team #12 F2: a server paused (SIGSTOP, docker pause) for longer than the lock file's stale
  // threshold stopped refreshing it, and a CLI then opened the database under it.
  it("refuses while the holder lives, however long since it last refreshed the lock file", async () => {
    const release = await lockDataDir(dataDir, onCompromised);
    try {
      const longAgo = new Date(Date.now() - 60_000);
      utimesSync(join(dataDir, "idp.lock"), longAgo, longAgo);
      await expect(lockDataDir(dataDir, onCompromised)).rejects.toBeInstanceOf(DataDirLockedError);
      expect(await dataDirHeld(dataDir)).toBe(true);
    } finally {
      await release().catch(() => {});
    }
  });

  it("takes over at once a lock whose owner has exited", async () => {
    leaveLockOf(dataDir, { ...currentProcessIdentity(), pid: await pidOfExitedProcess() });
    const release = await lockDataDir(dataDir, onCompromised);
    await release();
  });

  it.skipIf(!existsSync("/proc/self/stat"))("takes over a lock whose pid now belongs to a process started at another time (pid reuse)", async () => {
    const self = currentProcessIdentity();
    leaveLockOf(dataDir, { ...self, startTicks: (self.startTicks as number) - 1 });
    const release = await lockDataDir(dataDir, onCompromised);
    await release();
  });

  it("refuses a live owner: same pid and start time", async () => {
    leaveLockOf(dataDir, currentProcessIdentity());
    await expect(lockDataDir(dataDir, onCompromised)).rejects.toBeInstanceOf(DataDirLockedError);
  });

  it("refuses an owner it cannot check (another host or container on a shared volume) while the lock is fresh", async () => {
    leaveLockOf(dataDir, { ...currentProcessIdentity(), pid: await pidOfExitedProcess(), scope: "other-host||" });
    await expect(lockDataDir(dataDir, onCompromised)).rejects.toBeInstanceOf(DataDirLockedError);
  });

  it("tells whether a live process holds it, by the rules the lock is taken by (the CLI forwards then)", async () => {
    expect(await dataDirHeld(join(dataDir, "not-created-yet"))).toBe(false);
    expect(await dataDirHeld(dataDir)).toBe(false);
    const release = await lockDataDir(dataDir, onCompromised);
    expect(await dataDirHeld(dataDir)).toBe(true);
    await release();
    expect(await dataDirHeld(dataDir)).toBe(false);

    leaveLockOf(dataDir, { ...currentProcessIdentity(), pid: await pidOfExitedProcess() });
    expect(await dataDirHeld(dataDir)).toBe(false);
    rmSync(join(dataDir, "idp.lock"), { recursive: true });
    leaveLockOf(dataDir, { ...currentProcessIdentity(), pid: await pidOfExitedProcess(), scope: "other-host||" });
    expect(await dataDirHeld(dataDir)).toBe(true);
    // Not refreshed for longer than the stale threshold: lockDataDir would take it over.
    const longAgo = new Date(Date.now() - 60_000);
    utimesSync(join(dataDir, "idp.lock"), longAgo, longAgo);
    expect(await dataDirHeld(dataDir)).toBe(false);
  });
});
