import { ACR, rankOf } from "../auth/assurance.js";

/** A rank no sign-in can reach: an essential request naming only values we do not issue. */
export const UNREACHABLE = Number.POSITIVE_INFINITY;

const PASSKEY_RANK = rankOf(ACR.passkey);
const WEBAUTHN = new Set(["hwk", "swk"]);

export interface Requirement {
  /** The level this authorization needs (0: none). */
  rank: number;
  /** Reaching `rank` is required (an essential request or the operator's minimum), not only preferred. */
  mustMeet: boolean;
  /** The operator's minimum (global or the client's): a user short of it sets up a factor. */
  policyRank: number;
}

export interface UserFactors {
  password: boolean;
  passkeys: number;
  totp: boolean;
  backupCodes: number;
}

export interface StepInput {
  factors: UserFactors;
  requirement: Requirement;
  /** The level reached so far (on a step-up, the session's). */
  acr: string;
  /** Methods verified in this interaction. */
  freshAmr: readonly string[];
  /** A risky silent re-authentication: a factor must be passed afresh whatever the level. */
  force: boolean;
}

export type NextStep =
  | { kind: "finish"; offerPasskey: boolean }
  | { kind: "second_factor"; passkey: boolean; codes: boolean }
  | { kind: "reverify" }
  | { kind: "enrolment"; totp: boolean }
  | { kind: "unmet" }
  | { kind: "sign_in_again" };

/** Every factor the user has was verified in this interaction (what adding a new one needs). */
export function verifiedEverything(factors: UserFactors, freshAmr: readonly string[]): boolean {
  const fresh = new Set(freshAmr);
  if (fresh.size === 0) return false;
  if (factors.password && !fresh.has("pwd")) return false;
  if ((factors.totp || factors.backupCodes > 0) && !fresh.has("otp")) return false;
  if (factors.passkeys > 0 && ![...fresh].some((method) => WEBAUTHN.has(method))) return false;
  return true;
}

/**
 * The sign-in's rules in one pure function: what the interaction asks for next, given what the
 * user has, what the authorization needs and what this interaction verified.
 *
 * - A password alone never signs in a user who has a second factor.
 * - A level the user can reach with a factor they have is asked for (only WebAuthn reaches `passkey`).
 * - A level the operator requires that no factor of theirs reaches is set up inside the sign-in, but
 *   only after this interaction verified every factor they already have: a session cookie alone
 *   (step-up, `max_age`, `prompt=login`) never authorizes adding one.
 * - A passkey is offered after a sign-in only on the same condition.
 */
export function nextStep(input: StepInput): NextStep {
  const { factors, requirement, force } = input;
  const fresh = new Set(input.freshAmr);
  const freshWebauthn = [...fresh].some((method) => WEBAUTHN.has(method));
  const freshCode = fresh.has("otp");
  const hasCodes = factors.totp || factors.backupCodes > 0;
  const hasSecondFactor = hasCodes || factors.passkeys > 0;
  const codesReach = requirement.rank < PASSKEY_RANK;

  if (requirement.rank === UNREACHABLE) return { kind: "unmet" };
  const askPasskey = factors.passkeys > 0 && !freshWebauthn;
  const askCodes = hasCodes && !freshCode;

  if (rankOf(input.acr) < requirement.rank) {
    if (askPasskey || (askCodes && codesReach)) return { kind: "second_factor", passkey: askPasskey, codes: askCodes && codesReach };
    if (requirement.policyRank >= requirement.rank) {
      // Short of the operator's minimum: set one up, once everything the user has is verified here.
      if (fresh.size === 0 || (factors.password && !fresh.has("pwd"))) return { kind: "reverify" };
      if (askCodes) return { kind: "second_factor", passkey: false, codes: true };
      return { kind: "enrolment", totp: codesReach };
    }
    if (requirement.mustMeet) return { kind: "unmet" };
  }

  const passwordOnly = fresh.has("pwd") && !freshCode && !freshWebauthn;
  if (passwordOnly && hasSecondFactor) return { kind: "second_factor", passkey: factors.passkeys > 0, codes: hasCodes };
  if (force && !freshCode && !freshWebauthn) {
    const codes = hasCodes && codesReach;
    if (factors.passkeys === 0 && !codes) return { kind: "sign_in_again" };
    return { kind: "second_factor", passkey: factors.passkeys > 0, codes };
  }
  return { kind: "finish", offerPasskey: factors.passkeys === 0 && verifiedEverything(factors, input.freshAmr) };
}
