import { describe, expect, it } from "vitest";
import { ACR, rankOf } from "../../src/auth/assurance.js";
import { nextStep, type StepInput, UNREACHABLE, verifiedEverything } from "../../src/interactions/next-step.js";

const none = { rank: 0, mustMeet: false, policyRank: 0 };
const policy = (acr: string) => ({ rank: rankOf(acr), mustMeet: true, policyRank: rankOf(acr) });
const voluntary = (acr: string) => ({ rank: rankOf(acr), mustMeet: false, policyRank: 0 });
const passwordOnly = { password: true, passkeys: 0, totp: false, backupCodes: 0 };
const withTotp = { ...passwordOnly, totp: true };
const withPasskey = { ...passwordOnly, passkeys: 1 };

const step = (input: Partial<StepInput>) =>
  nextStep({ factors: passwordOnly, requirement: none, acr: ACR.password, freshAmr: ["pwd"], force: false, ...input });

describe("the sign-in's next step", () => {
  it("never lets a password alone sign in a user who has a second factor", () => {
    expect(step({ factors: withTotp })).toEqual({ kind: "second_factor", passkey: false, codes: true });
    expect(step({ factors: withPasskey })).toEqual({ kind: "second_factor", passkey: true, codes: false });
    expect(step({ factors: withTotp, acr: ACR.mfa, freshAmr: ["pwd", "otp"] })).toEqual({ kind: "finish", offerPasskey: true });
  });

  it("offers a passkey only when every factor the user has was verified in this interaction", () => {
    expect(step({})).toEqual({ kind: "finish", offerPasskey: true });
    // A step-up continuing at the session's level verified nothing: no offer.
    expect(step({ freshAmr: [] })).toEqual({ kind: "finish", offerPasskey: false });
    expect(step({ factors: withPasskey, acr: ACR.passkey, freshAmr: ["hwk", "user"] })).toEqual({ kind: "finish", offerPasskey: false });
  });

  it("asks for the factor that reaches a level, and only WebAuthn reaches passkey", () => {
    expect(step({ factors: withTotp, requirement: voluntary(ACR.mfa), freshAmr: [] })).toEqual({ kind: "second_factor", passkey: false, codes: true });
    expect(step({ factors: { ...withTotp, passkeys: 1 }, requirement: voluntary(ACR.passkey), acr: ACR.mfa, freshAmr: [] })).toEqual({
      kind: "second_factor",
      passkey: true,
      codes: false,
    });
  });

  it("sets up a required factor only after verifying every factor the user has (§27)", () => {
    const passkeyPolicy = policy(ACR.passkey);
    // After a password: the code first, then enrolment.
    expect(step({ factors: withTotp, requirement: passkeyPolicy })).toEqual({ kind: "second_factor", passkey: false, codes: true });
    expect(step({ factors: withTotp, requirement: passkeyPolicy, acr: ACR.mfa, freshAmr: ["pwd", "otp"] })).toEqual({ kind: "enrolment", totp: false });
    // From a session cookie (nothing fresh, even at mfa): the password first.
    expect(step({ factors: withTotp, requirement: passkeyPolicy, acr: ACR.mfa, freshAmr: [] })).toEqual({ kind: "reverify" });
    expect(step({ requirement: policy(ACR.mfa), freshAmr: [] })).toEqual({ kind: "reverify" });
    expect(step({ requirement: policy(ACR.mfa) })).toEqual({ kind: "enrolment", totp: true });
    // A code verified here but no password: still the password first.
    expect(step({ factors: withTotp, requirement: passkeyPolicy, acr: ACR.mfa, freshAmr: ["otp"] })).toEqual({ kind: "reverify" });
  });

  it("continues lower for voluntary levels and refuses essential ones it cannot reach", () => {
    expect(step({ requirement: voluntary(ACR.mfa) })).toEqual({ kind: "finish", offerPasskey: true });
    expect(step({ requirement: { rank: rankOf(ACR.mfa), mustMeet: true, policyRank: 0 } })).toEqual({ kind: "unmet" });
    expect(step({ requirement: { rank: UNREACHABLE, mustMeet: true, policyRank: 0 } })).toEqual({ kind: "unmet" });
  });

  it("makes a risky re-authentication pass a factor again, or sign in again without one", () => {
    expect(step({ factors: withTotp, acr: ACR.mfa, freshAmr: [], force: true })).toEqual({ kind: "second_factor", passkey: false, codes: true });
    expect(step({ freshAmr: [], force: true })).toEqual({ kind: "sign_in_again" });
    expect(step({ factors: withTotp, acr: ACR.mfa, freshAmr: ["otp"], force: true })).toEqual({ kind: "finish", offerPasskey: false });
  });

  it("counts what was verified here, not what the session holds", () => {
    expect(verifiedEverything(withTotp, ["pwd"])).toBe(false);
    expect(verifiedEverything(withTotp, ["pwd", "otp"])).toBe(true);
    expect(verifiedEverything(withPasskey, ["pwd"])).toBe(false);
    expect(verifiedEverything(passwordOnly, [])).toBe(false);
  });
});
