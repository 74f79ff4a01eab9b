import { chmodSync, lstatSync, mkdirSync, statSync } from "node:fs";

/** DATA_DIR is not safe to use: another user owns it or can write to it. */
export class DataDirPermissionError extends Error {
  constructor(dataDir: string, problem: string) {
    super(`DATA_DIR ${dataDir} ${problem}`);
    this.name = "DataDirPermissionError";
  }
}

const OTHERS_WRITE = 0o022;
const OTHERS_ANY = 0o077;

/**
 * DATA_DIR holds the database, the secret key and the operator socket (to which the CLI sends
 * passwords), so, like PostgreSQL's data directory, it must belong to us and nobody else may use it.
 * A missing directory is created 0700. A symlink to it is followed (a common deployment layout)
 * when the link belongs to us or root, which alone can replace it. A directory only others can
 * read (0755: Docker's and PGlite's default) is tightened to 0700: nothing can have been put in
 * it. One others can write to is refused, since anything may have been planted in it already.
 * No-op where there are no uids (Windows).
 * @throws DataDirPermissionError naming what is wrong
 */
export function secureDataDir(dataDir: string): void {
  const uid = process.getuid?.();
  if (uid === undefined) return;
  let link = lstatSync(dataDir, { throwIfNoEntry: false });
  if (!link) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    link = lstatSync(dataDir);
  }
  if (link.isSymbolicLink() && link.uid !== uid && link.uid !== 0) {
    throw new DataDirPermissionError(dataDir, `is a symlink owned by uid ${link.uid}, not by this user (uid ${uid}) or root`);
  }
  const directory = link.isSymbolicLink() ? statSync(dataDir, { throwIfNoEntry: false }) : link;
  if (!directory?.isDirectory()) throw new DataDirPermissionError(dataDir, "is not a directory");
  if (directory.uid !== uid) {
    throw new DataDirPermissionError(dataDir, `is owned by uid ${directory.uid}, not by this user (uid ${uid}); run as its owner`);
  }
  const mode = directory.mode & 0o777;
  if (mode & OTHERS_WRITE) {
    throw new DataDirPermissionError(
      dataDir,
      `is writable by group or others (mode ${mode.toString(8).padStart(4, "0")}); check its contents, then chmod 700 it`,
    );
  }
  if (mode & OTHERS_ANY) chmodSync(dataDir, mode & ~OTHERS_ANY);
}
