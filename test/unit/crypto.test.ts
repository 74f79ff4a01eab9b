import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { deriveKeys } from "../../src/crypto/derived-keys.js";
import { constantTimeEqual, sha256 } from "../../src/crypto/hash.js";
import { createPasswordHasher } from "../../src/crypto/password.js";
import { open, seal } from "../../src/crypto/secret-box.js";

describe("secret box", () => {
  const key = randomBytes(32);

  it("round-trips and never repeats a ciphertext", () => {
    const a = seal(key, "private jwk", "signing-key:1");
    expect(open(key, a, "signing-key:1")).toBe("private jwk");
    expect(seal(key, "private jwk", "signing-key:1")).not.toBe(a);
    expect(a).not.toContain("private");
  });

  it("refuses another key, another context, and tampering", () => {
    const sealed = seal(key, "secret", "ctx");
    expect(() => open(randomBytes(32), sealed, "ctx")).toThrow();
    expect(() => open(key, sealed, "other-ctx")).toThrow();
    const body = Buffer.from(sealed.slice(3), "base64url");
    body[14] = (body[14] ?? 0) ^ 1;
    expect(() => open(key, `v1.${body.toString("base64url")}`, "ctx")).toThrow();
    expect(() => open(key, "v2.abc", "ctx")).toThrow("unsupported");
  });
});

describe("derived keys", () => {
  it("gives independent, stable keys per purpose", () => {
    const secret = randomBytes(32);
    const a = deriveKeys(secret);
    expect(deriveKeys(secret)).toEqual(a);
    expect(a.dataKey.toString("base64url")).not.toBe(a.cookieKeys[0]);
    expect(a.deviceKey.equals(a.hashKey)).toBe(false);
    expect(deriveKeys(randomBytes(32)).dataKey.equals(a.dataKey)).toBe(false);
  });
});

describe("hashing", () => {
  it("hashes deterministically and compares in constant time", () => {
    expect(sha256("abc")).toBe("ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
    expect(constantTimeEqual("a", "a")).toBe(true);
    expect(constantTimeEqual("a", "b")).toBe(false);
    expect(constantTimeEqual("a", "ab")).toBe(false);
  });
});

describe("password hasher", () => {
  const hasher = createPasswordHasher({ memoryCostKiB: 19456, timeCost: 2, parallelism: 1 });

  it("uses argon2id with the configured parameters", async () => {
    const hash = await hasher.hash("correct horse");
    expect(hash).toMatch(/^\$argon2id\$v=19\$/);
    expect(hash.split("$")[3]?.split(",").sort()).toEqual(["m=19456", "p=1", "t=2"]);
    await expect(hasher.verify(hash, "correct horse")).resolves.toBe(true);
    await expect(hasher.verify(hash, "wrong horse")).resolves.toBe(false);
  });

  it("answers false for a missing hash after doing the same work", async () => {
    await expect(hasher.verify(null, "anything")).resolves.toBe(false);
    await expect(hasher.verify("not-a-hash", "anything")).resolves.toBe(false);
  });
});
