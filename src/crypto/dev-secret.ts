import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Development only: the root secret lives in DATA_DIR/secret-key, created on first
 * start with owner-only permissions. Production sets SECRET_KEY instead.
 */
export function loadOrCreateDevSecret(dataDir: string): Buffer {
  const path = join(dataDir, "secret-key");
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  try {
    return Buffer.from(readFileSync(path, "utf8").trim(), "base64url");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const secret = randomBytes(32);
  try {
    writeFileSync(path, `${secret.toString("base64url")}\n`, { mode: 0o600, flag: "wx" });
    return secret;
  } catch (error) {
    // Another process created it first: use theirs.
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return Buffer.from(readFileSync(path, "utf8").trim(), "base64url");
    throw error;
  }
}
