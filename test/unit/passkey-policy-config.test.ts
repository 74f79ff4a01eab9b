import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig, loadDefaults } from "../../src/config.js";
import { coversRegistration, coversSignIn, type PasskeyPolicy } from "../../src/webauthn/passkey-policy.js";
import { makeTestRoot, metadataStatement } from "../helpers/attestation-certificates.js";

const AAGUID = "cb69481e-8ff7-4039-93ec-0a2729a154a8";

// Issue #16: policy.passkeys, read and checked at start-up.
describe("passkey policy settings", () => {
  const dir = mkdtempSync(join(tmpdir(), "idp-passkey-policy-"));

  beforeAll(async () => {
    const root = await makeTestRoot("Acme Keys");
    const other = await makeTestRoot("Other Keys");
    writeFileSync(join(dir, "roots.pem"), `${root.pem}\n${other.pem}\n`);
    writeFileSync(join(dir, "statement.json"), JSON.stringify(metadataStatement(AAGUID.toUpperCase(), "Acme Key 5", root)));
    writeFileSync(join(dir, "empty.pem"), "no certificate here\n");
    writeFileSync(join(dir, "broken.pem"), "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
    writeFileSync(join(dir, "not-json.json"), "{");
    writeFileSync(join(dir, "u2f.json"), JSON.stringify({ ...metadataStatement(AAGUID, "Old key", root), aaguid: undefined }));
    writeFileSync(join(dir, "no-roots.json"), JSON.stringify({ ...metadataStatement(AAGUID, "Acme Key 5", root), attestationRootCertificates: [] }));
    writeFileSync(
      join(dir, "bad-root.json"),
      JSON.stringify({ ...metadataStatement(AAGUID, "Acme Key 5", root), attestationRootCertificates: ["bm90IGEgY2VydA"] }),
    );
  });

  it("is off by default", () => {
    expect(loadConfig({}).policy.passkeys).toMatchObject({ attestation: "none", appliesTo: "everyone", roots: [], statements: [], aaguids: [] });
    expect(loadConfig({}).policy.minimumAcr).toBeNull();
  });

  it("reads roots (every certificate of a PEM file) and metadata statements relative to DATA_DIR, and the environment over config/", () => {
    const policy = loadConfig({
      DATA_DIR: dir,
      PASSKEY_ATTESTATION: "direct",
      PASSKEY_ROOTS: "roots.pem",
      PASSKEY_METADATA_STATEMENTS: join(dir, "statement.json"),
      PASSKEY_AAGUIDS: `${AAGUID.toUpperCase()}, ${AAGUID}`,
      PASSKEY_POLICY_APPLIES_TO: "operators",
    }).policy.passkeys;
    expect(policy).toMatchObject({ attestation: "direct", appliesTo: "operators", aaguids: [AAGUID], approved: "Acme Key 5, Acme Keys, Other Keys" });
    expect(policy.roots).toHaveLength(2);
    expect(policy.roots[0]).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(policy.statements).toEqual([{ aaguid: AAGUID, description: "Acme Key 5", roots: [expect.stringMatching(/^-----BEGIN CERTIFICATE-----/)] }]);

    const defaults = loadDefaults();
    const fromFile = loadConfig(
      { DATA_DIR: dir },
      { ...defaults, policy: { ...defaults.policy, passkeys: { ...defaults.policy.passkeys, attestation: "direct", metadataStatements: ["statement.json"] } } },
    ).policy.passkeys;
    expect(fromFile).toMatchObject({ attestation: "direct", appliesTo: "everyone", roots: [], approved: "Acme Key 5" });
  });

  it.each([
    [{ PASSKEY_ATTESTATION: "indirect" }, "PASSKEY_ATTESTATION (policy.passkeys.attestation) must be none or direct"],
    [{ PASSKEY_ATTESTATION: "direct" }, "is direct but neither PASSKEY_ROOTS (policy.passkeys.roots) nor PASSKEY_METADATA_STATEMENTS"],
    [{ PASSKEY_POLICY_APPLIES_TO: "admins" }, "PASSKEY_POLICY_APPLIES_TO (policy.passkeys.appliesTo) must be one of everyone, operators, passkey-apps"],
    [{ PASSKEY_AAGUIDS: "yubikey" }, 'PASSKEY_AAGUIDS (policy.passkeys.aaguids) lists "yubikey", which is not an AAGUID'],
    [{ PASSKEY_ROOTS: "missing.pem" }, "PASSKEY_ROOTS (policy.passkeys.roots) names a file that cannot be read"],
    [{ PASSKEY_ROOTS: "empty.pem" }, "PASSKEY_ROOTS (policy.passkeys.roots) names a file with no PEM certificate"],
    [{ PASSKEY_ROOTS: "broken.pem" }, "PASSKEY_ROOTS (policy.passkeys.roots) names a file with a certificate that does not parse"],
    [{ PASSKEY_METADATA_STATEMENTS: "not-json.json" }, "not-json.json is not JSON"],
    [{ PASSKEY_METADATA_STATEMENTS: "u2f.json" }, "is not a FIDO2 metadata statement: it has no aaguid"],
    [{ PASSKEY_METADATA_STATEMENTS: "no-roots.json" }, "lists no attestationRootCertificates"],
    [{ PASSKEY_METADATA_STATEMENTS: "bad-root.json" }, "has an attestationRootCertificates entry that is not a base64 DER certificate"],
  ])("refuses %j, naming the setting", (env, message) => {
    expect(() => loadConfig({ DATA_DIR: dir, ...env })).toThrow(ConfigError);
    expect(() => loadConfig({ DATA_DIR: dir, ...env })).toThrow(message);
  });
});

describe("what the passkey policy covers", () => {
  const policy = (appliesTo: PasskeyPolicy["appliesTo"]): PasskeyPolicy => ({
    attestation: "direct",
    appliesTo,
    roots: ["x"],
    statements: [],
    aaguids: [],
    approved: "x",
  });
  const scope = (operator: boolean, passkeyApp: boolean, console: boolean) => ({ operator, passkeyApp, console });

  it("everyone: every registration and sign-in", () => {
    expect(coversRegistration(policy("everyone"), scope(false, false, false))).toBe(true);
    expect(coversSignIn(policy("everyone"), scope(false, false, false))).toBe(true);
  });

  it("operators: their registrations anywhere, their sign-ins to the console", () => {
    expect(coversRegistration(policy("operators"), scope(true, false, false))).toBe(true);
    expect(coversRegistration(policy("operators"), scope(false, true, true))).toBe(false);
    expect(coversSignIn(policy("operators"), scope(true, false, true))).toBe(true);
    expect(coversSignIn(policy("operators"), scope(true, true, false))).toBe(false);
    expect(coversSignIn(policy("operators"), scope(false, false, true))).toBe(false);
  });

  it("passkey-apps: registrations and sign-ins for an app whose minimum is a passkey", () => {
    expect(coversRegistration(policy("passkey-apps"), scope(true, false, true))).toBe(false);
    expect(coversRegistration(policy("passkey-apps"), scope(false, true, false))).toBe(true);
    expect(coversSignIn(policy("passkey-apps"), scope(false, true, false))).toBe(true);
  });

  it("none: nothing", () => {
    const off: PasskeyPolicy = { ...policy("everyone"), attestation: "none" };
    expect(coversRegistration(off, scope(true, true, true))).toBe(false);
    expect(coversSignIn(off, scope(true, true, true))).toBe(false);
  });
});
