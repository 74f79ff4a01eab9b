import { X509Certificate } from "node:crypto";
import { badRequest, forbidden } from "../errors.js";

// Loaded at the first attested registration, like the rest of SimpleWebAuthn (see passkey-service.ts).
const webAuthnHelpers = () => import("@simplewebauthn/server/helpers");

export const POLICY_SCOPES = ["everyone", "operators", "passkey-apps"] as const;
export type PolicyScope = (typeof POLICY_SCOPES)[number];

/** The roots a FIDO metadata statement names for one authenticator model. */
export interface MetadataRoots {
  /** Lower case, with dashes. */
  readonly aaguid: string;
  readonly description: string;
  readonly roots: readonly string[];
}

/** `policy.passkeys` (issue #16), validated at start-up; certificates are PEM. */
export interface PasskeyPolicy {
  readonly attestation: "none" | "direct";
  readonly appliesTo: PolicyScope;
  /** Roots any attestation may chain to, whatever its AAGUID. */
  readonly roots: readonly string[];
  readonly statements: readonly MetadataRoots[];
  /** Lower-case AAGUIDs allowed; empty: any whose attestation verifies. */
  readonly aaguids: readonly string[];
  /** How refusals name what is approved: the statements' descriptions and the roots' organisations. */
  readonly approved: string;
}

export const NO_PASSKEY_POLICY: PasskeyPolicy = Object.freeze({
  attestation: "none",
  appliesTo: "everyone",
  roots: [],
  statements: [],
  aaguids: [],
  approved: "",
});

/** Who a ceremony is for, which decides whether the policy covers it. */
export interface CeremonyScope {
  /** The account's role is operator. */
  operator: boolean;
  /** A sign-in to an app whose minimum (its own or the site's) is a passkey. */
  passkeyApp: boolean;
  /** A sign-in to the operator console. */
  console: boolean;
}

export const NO_APP: Omit<CeremonyScope, "operator"> = Object.freeze({ passkeyApp: false, console: false });

/** Registrations the policy checks. `operators` looks at the registering account's role only. */
export function coversRegistration(policy: PasskeyPolicy, scope: CeremonyScope): boolean {
  if (policy.attestation === "none") return false;
  if (policy.appliesTo === "everyone") return true;
  return policy.appliesTo === "operators" ? scope.operator : scope.passkeyApp;
}

/** Sign-ins in which only passkeys registered under the policy count. */
export function coversSignIn(policy: PasskeyPolicy, scope: CeremonyScope): boolean {
  if (policy.attestation === "none") return false;
  if (policy.appliesTo === "everyone") return true;
  return policy.appliesTo === "operators" ? scope.operator && scope.console : scope.passkeyApp;
}

const attestationRequired = (policy: PasskeyPolicy) =>
  badRequest(
    "passkey_policy.attestation_required",
    `This site accepts only approved security keys (${policy.approved}), and this passkey does not show which model it is. Use one of the approved security keys.`,
    { approved: policy.approved },
  );
const untrustedAttestation = (policy: PasskeyPolicy) =>
  badRequest(
    "passkey_policy.untrusted_attestation",
    `This site accepts only approved security keys (${policy.approved}), and this key's maker certificate is not one the site trusts. Use one of the approved security keys.`,
    { approved: policy.approved },
  );
const aaguidNotAllowed = (policy: PasskeyPolicy) =>
  badRequest(
    "passkey_policy.aaguid_not_allowed",
    `This site accepts only approved security keys (${policy.approved}), and this model is not on its list. Use one of the approved security keys.`,
    { approved: policy.approved },
  );
export const signInNeedsApprovedKey = () =>
  forbidden(
    "passkey_policy.approved_key_required",
    "This app accepts only passkeys registered as approved security keys, and this one is not. Sign in with an approved security key, or add one on your account page.",
  );

export interface AttestationFacts {
  fmt: string;
  aaguid: string;
  attestationObject: Uint8Array<ArrayBuffer>;
}

/**
 * The policy's checks on an attestation SimpleWebAuthn has verified (its signature and format rules):
 * it must carry a certificate chain (not "none" nor self attestation) reaching an operator root or
 * the roots of the metadata statement for its AAGUID, and the AAGUID must be allowed. SimpleWebAuthn's
 * own MetadataService/SettingsService are process-wide and would refuse registrations outside the
 * policy's scope too (and bind every server in the process to one policy); the caller decides here
 * what a failure means.
 * @throws AppError passkey_policy.attestation_required | untrusted_attestation | aaguid_not_allowed (400)
 */
export async function assertAttestationAllowed(policy: PasskeyPolicy, facts: AttestationFacts): Promise<void> {
  if (facts.fmt === "none") throw attestationRequired(policy);
  const { convertCertBufferToPEM, decodeAttestationObject, getCertificateInfo, validateCertificatePath } = await webAuthnHelpers();
  let x5c: Uint8Array<ArrayBuffer>[] | undefined;
  try {
    x5c = decodeAttestationObject(facts.attestationObject).get("attStmt").get("x5c");
  } catch {
    throw untrustedAttestation(policy);
  }
  // Self attestation is signed by the credential's own key: it proves nothing about the maker.
  if (!x5c || x5c.length === 0) throw attestationRequired(policy);
  const aaguid = facts.aaguid.toLowerCase();
  const statementRoots = policy.statements.filter((statement) => statement.aaguid === aaguid).flatMap((statement) => statement.roots);
  const anchors = [...policy.roots, ...statementRoots];
  // validateCertificatePath passes a chain when it has no anchors at all: none is a refusal here.
  if (anchors.length === 0) throw untrustedAttestation(policy);
  if (!isStrictChain(x5c, getCertificateInfo, policy.aaguids.length > 0)) throw untrustedAttestation(policy);
  try {
    await validateCertificatePath(x5c.map(convertCertBufferToPEM), anchors);
  } catch {
    throw untrustedAttestation(policy);
  }
  if (policy.aaguids.length > 0 && !policy.aaguids.includes(aaguid)) throw aaguidNotAllowed(policy);
}

const BASIC_CONSTRAINTS = "2.5.29.19";
// FIDO's id-fido-gen-ce-aaguid: the model the maker certified, which authData must match (SimpleWebAuthn checks that).
const AAGUID_EXTENSION = "1.3.6.1.4.1.45724.1.1.4";

type CertificateInfo = (certificate: Uint8Array<ArrayBuffer>) => {
  parsedCertificate: { tbsCertificate: { extensions?: { extnID: string }[] } };
};

/**
 * What SimpleWebAuthn's path validation leaves unchecked (issue #16 red team): each certificate is
 * issued and signed by the next, every issuer is a CA, and the leaf is an end-entity one that says
 * so (FIDO packed: basicConstraints CA false). With an AAGUID allow-list the leaf must name its model:
 * a batch key someone extracted could otherwise sign leaves for any AAGUID.
 */
function isStrictChain(x5c: Uint8Array<ArrayBuffer>[], info: CertificateInfo, needsAaguid: boolean): boolean {
  try {
    const certificates = x5c.map((der) => new X509Certificate(der));
    const leafExtensions = (info(x5c[0] as Uint8Array<ArrayBuffer>).parsedCertificate.tbsCertificate.extensions ?? []).map((extension) => extension.extnID);
    if (!leafExtensions.includes(BASIC_CONSTRAINTS) || certificates[0]?.ca !== false) return false;
    if (needsAaguid && !leafExtensions.includes(AAGUID_EXTENSION)) return false;
    return certificates.every((certificate, index) => {
      const issuer = certificates[index + 1];
      if (!issuer) return true;
      return issuer.ca && certificate.checkIssued(issuer) && certificate.verify(issuer.publicKey);
    });
  } catch {
    return false;
  }
}
