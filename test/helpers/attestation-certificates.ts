import { createPrivateKey, type KeyObject, webcrypto } from "node:crypto";
// @peculiar/x509 resolves its services through tsyringe, which needs this polyfill first.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const ECDSA = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const DAY_MS = 86_400_000;
// FIDO's id-fido-gen-ce-aaguid: the model's AAGUID in an attestation certificate (WebAuthn L3 §8.2.1).
const AAGUID_EXTENSION = "1.3.6.1.4.1.45724.1.1.4";

export interface TestRoot {
  certificate: x509.X509Certificate;
  keys: CryptoKeyPair;
  /** As an operator's root file holds it. */
  pem: string;
  /** As a FIDO metadata statement lists it (base64 DER). */
  base64: string;
}

export interface AttestationLeaf {
  der: Buffer;
  signingKey: KeyObject;
  /** The leaf as the issuer of another certificate (what an attacker holding a batch key would try). */
  asIssuer: Pick<TestRoot, "certificate" | "keys">;
}

let serial = 1;
const nextSerial = () => (serial++).toString(16).padStart(2, "0");
const validity = () => ({ notBefore: new Date(Date.now() - DAY_MS), notAfter: new Date(Date.now() + 365 * DAY_MS) });

/** A self-signed attestation root CA, made by the test. */
export async function makeTestRoot(organisation: string): Promise<TestRoot> {
  const keys = (await webcrypto.subtle.generateKey(ECDSA, true, ["sign", "verify"])) as CryptoKeyPair;
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: nextSerial(),
    name: `C=DE, O=${organisation}, CN=${organisation} Attestation Root`,
    ...validity(),
    keys,
    signingAlgorithm: ECDSA,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
  return { certificate, keys, pem: certificate.toString("pem"), base64: certificate.toString("base64") };
}

/** A packed-attestation leaf (WebAuthn L3 §8.2.1: OU "Authenticator Attestation", not a CA) issued by `root`. */
export async function makeAttestationLeaf(
  root: Pick<TestRoot, "certificate" | "keys">,
  aaguid?: Buffer,
  options: { basicConstraints?: boolean } = {},
): Promise<AttestationLeaf> {
  const keys = (await webcrypto.subtle.generateKey(ECDSA, true, ["sign", "verify"])) as CryptoKeyPair;
  const extensions: x509.Extension[] = options.basicConstraints === false ? [] : [new x509.BasicConstraintsExtension(false, undefined, true)];
  // OCTET STRING (16 bytes) inside the extension's value.
  if (aaguid) extensions.push(new x509.Extension(AAGUID_EXTENSION, false, new Uint8Array(Buffer.concat([Buffer.from([0x04, 0x10]), aaguid]))));
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: nextSerial(),
    subject: "C=DE, O=Test Maker, OU=Authenticator Attestation, CN=Test Key Batch 1",
    issuer: root.certificate.subject,
    ...validity(),
    publicKey: keys.publicKey,
    signingKey: root.keys.privateKey,
    signingAlgorithm: ECDSA,
    extensions,
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey));
  return {
    der: Buffer.from(certificate.rawData),
    signingKey: createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" }),
    asIssuer: { certificate, keys },
  };
}

/** A FIDO2 metadata statement naming `root` for `aaguid`, as the MDS publishes one per model. */
export function metadataStatement(aaguid: string, description: string, root: TestRoot) {
  return {
    legalHeader: "Test statement",
    aaguid,
    description,
    authenticatorVersion: 1,
    protocolFamily: "fido2",
    schema: 3,
    upv: [{ major: 1, minor: 0 }],
    authenticationAlgorithms: ["secp256r1_ecdsa_sha256_raw"],
    publicKeyAlgAndEncodings: ["cose"],
    attestationTypes: ["basic_full"],
    userVerificationDetails: [[{ userVerificationMethod: "presence_internal" }]],
    keyProtection: ["hardware", "secure_element"],
    matcherProtection: ["on_chip"],
    attachmentHint: ["external", "wired"],
    tcDisplay: [],
    attestationRootCertificates: [root.base64],
  };
}
