/**
 * Authentication assurance levels (the `acr` values) and how they compare. A passkey with user
 * verification is phishing-resistant multi-factor authentication on its own, so it satisfies a
 * request for `mfa`; a password with a one-time code is MFA but not phishing-resistant.
 */
export const ACR = {
  password: "urn:idp:acr:password",
  mfa: "urn:idp:acr:mfa",
  passkey: "urn:idp:acr:passkey",
} as const;

export type Acr = (typeof ACR)[keyof typeof ACR];

/** Lowest first: what discovery publishes as `acr_values_supported`. */
export const ACR_VALUES: readonly Acr[] = [ACR.password, ACR.mfa, ACR.passkey];

const RANK = new Map<string, number>(ACR_VALUES.map((acr, index) => [acr, index + 1]));

/** 0 for anything that is not one of our levels (it satisfies nothing and requires nothing). */
export const rankOf = (acr: string | undefined): number => (acr ? (RANK.get(acr) ?? 0) : 0);

export const isAcr = (value: string): value is Acr => RANK.has(value);

/** RFC 8176 methods that count as a WebAuthn assertion (phishing-resistant). */
const WEBAUTHN_METHODS = new Set(["hwk", "swk"]);

export const usedPasskey = (amr: readonly string[]): boolean => amr.some((method) => WEBAUTHN_METHODS.has(method));

/**
 * Beside `hwk`/`swk`: the passkey passed the operator's attestation policy (issue #16). Sessions
 * carry it, so a session made with an unapproved passkey cannot open an app the policy covers.
 * Not an RFC 8176 value, hence a collision-resistant name (RFC 8176 §2).
 */
export const APPROVED_KEY_METHOD = "urn:idp:amr:approved-key";

/** The level a set of methods reaches: any WebAuthn assertion → passkey; a password plus a one-time code → mfa. */
export function acrForMethods(amr: readonly string[]): Acr {
  if (usedPasskey(amr)) return ACR.passkey;
  if (amr.includes("pwd") && amr.includes("otp")) return ACR.mfa;
  return ACR.password;
}

/**
 * The `acr` to report for a request: the relying party's most preferred requested value the
 * achieved level satisfies (OIDC Core §5.5.1.1: a requested value, not merely an equivalent one),
 * otherwise the achieved level itself.
 */
export function reportedAcr(achieved: string | undefined, requested: readonly string[]): string | undefined {
  const rank = rankOf(achieved);
  return requested.find((value) => isAcr(value) && rankOf(value) <= rank) ?? achieved;
}

/** The lowest level among requested values we know (a request is met by reaching any of them); 0 when none. */
export function lowestRequestedRank(requested: readonly string[]): number {
  const ranks = requested.map(rankOf).filter((rank) => rank > 0);
  return ranks.length === 0 ? 0 : Math.min(...ranks);
}

/** Every method used in the session, old and new, without repeats. */
export const mergeMethods = (earlier: readonly string[], added: readonly string[]) => [...new Set([...earlier, ...added])];
