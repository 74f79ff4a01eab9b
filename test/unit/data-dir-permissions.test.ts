import { chmodSync, chownSync, lchownSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DataDirPermissionError, secureDataDir } from "../../src/db/data-dir-permissions.js";

const NOBODY = 65534;
// Making a file another user's takes root (CI runs the suite as root).
const asRoot = process.getuid?.() === 0;

describe("DATA_DIR permissions", () => {
  let parent: string;
  beforeEach(() => {
    parent = mkdtempSync(join(tmpdir(), "idp-perms-"));
  });
  afterEach(() => rmSync(parent, { recursive: true, force: true }));
  const modeOf = (path: string) => statSync(path).mode & 0o777;

  it("creates a missing DATA_DIR owner-only", () => {
    const dataDir = join(parent, "a", "data");
    secureDataDir(dataDir);
    expect(modeOf(dataDir)).toBe(0o700);
  });

  it("tightens a directory others can only read (0755, Docker's and PGlite's default) to 0700", () => {
    const dataDir = join(parent, "data");
    mkdirSync(dataDir);
    chmodSync(dataDir, 0o755);
    secureDataDir(dataDir);
    expect(modeOf(dataDir)).toBe(0o700);
  });

  it.each([0o777, 0o770, 0o702, 0o1777])("refuses a directory others can write to (%o), leaving it as it is", (mode) => {
    const dataDir = join(parent, "data");
    mkdirSync(dataDir);
    chmodSync(dataDir, mode);
    expect(() => secureDataDir(dataDir)).toThrow(DataDirPermissionError);
    expect(() => secureDataDir(dataDir)).toThrow(`DATA_DIR ${dataDir} is writable by group or others`);
    expect(statSync(dataDir).mode & 0o7777).toBe(mode);
  });

  it("refuses a file, and a symlink to nothing", () => {
    writeFileSync(join(parent, "file"), "");
    expect(() => secureDataDir(join(parent, "file"))).toThrow("is not a directory");
    symlinkSync(join(parent, "missing"), join(parent, "dangling"));
    expect(() => secureDataDir(join(parent, "dangling"))).toThrow("is not a directory");
  });

  it("follows a symlink of ours to a directory of ours, and checks (and tightens) the directory", () => {
    const target = join(parent, "volume");
    mkdirSync(target, { mode: 0o755 });
    chmodSync(target, 0o755);
    symlinkSync(target, join(parent, "data"));
    secureDataDir(join(parent, "data"));
    expect(modeOf(target)).toBe(0o700);
    chmodSync(target, 0o777);
    expect(() => secureDataDir(join(parent, "data"))).toThrow("is writable by group or others");
  });

  it.skipIf(!asRoot)("refuses a directory owned by another user, and a symlink another user owns (needs root to chown)", () => {
    const dataDir = join(parent, "data");
    mkdirSync(dataDir, { mode: 0o700 });
    chownSync(dataDir, NOBODY, NOBODY);
    expect(() => secureDataDir(dataDir)).toThrow(`DATA_DIR ${dataDir} is owned by uid ${NOBODY}, not by this user (uid 0)`);

    const ours = join(parent, "ours");
    mkdirSync(ours, { mode: 0o700 });
    symlinkSync(ours, join(parent, "link"));
    lchownSync(join(parent, "link"), NOBODY, NOBODY);
    expect(() => secureDataDir(join(parent, "link"))).toThrow(`is a symlink owned by uid ${NOBODY}`);
  });
});
