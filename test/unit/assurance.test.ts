import { describe, expect, it } from "vitest";
import { acrRequestOf, claimsAcrOf, requiredRank } from "../../src/auth/acr-request.js";
import { ACR, acrForMethods, lowestRequestedRank, mergeMethods, rankOf, reportedAcr } from "../../src/auth/assurance.js";
import { networkOf, riskScore } from "../../src/auth/risk.js";

describe("assurance levels", () => {
  it("orders password < mfa < passkey and ignores unknown values", () => {
    expect(rankOf(ACR.password)).toBeLessThan(rankOf(ACR.mfa));
    expect(rankOf(ACR.mfa)).toBeLessThan(rankOf(ACR.passkey));
    expect(rankOf("urn:other")).toBe(0);
    expect(rankOf(undefined)).toBe(0);
  });

  it.each([
    [["pwd"], ACR.password],
    [["pwd", "otp"], ACR.mfa],
    [["otp"], ACR.password],
    [["hwk", "user"], ACR.passkey],
    [["swk", "user"], ACR.passkey],
    [["pwd", "hwk", "user"], ACR.passkey],
  ])("methods %j reach %s", (amr, acr) => {
    expect(acrForMethods(amr)).toBe(acr);
  });

  it("reports the most preferred requested value the achieved level satisfies", () => {
    expect(reportedAcr(ACR.passkey, [ACR.mfa])).toBe(ACR.mfa);
    expect(reportedAcr(ACR.passkey, [ACR.passkey, ACR.mfa])).toBe(ACR.passkey);
    expect(reportedAcr(ACR.mfa, [ACR.passkey, ACR.mfa])).toBe(ACR.mfa);
    expect(reportedAcr(ACR.password, [ACR.mfa])).toBe(ACR.password);
    expect(reportedAcr(ACR.mfa, ["urn:other", ACR.password])).toBe(ACR.password);
    expect(reportedAcr(ACR.mfa, [])).toBe(ACR.mfa);
  });

  it("takes the lowest known requested level as the requirement", () => {
    expect(lowestRequestedRank([ACR.passkey, ACR.mfa])).toBe(rankOf(ACR.mfa));
    expect(lowestRequestedRank(["urn:other"])).toBe(0);
    expect(lowestRequestedRank([])).toBe(0);
  });

  it("merges methods without repeats, keeping the order of first use", () => {
    expect(mergeMethods(["pwd"], ["otp", "pwd"])).toEqual(["pwd", "otp"]);
  });

  it("reads acr_values as voluntary and the claims parameter's acr as possibly essential", () => {
    expect(acrRequestOf(`${ACR.mfa} ${ACR.passkey}`, undefined)).toEqual({ values: [ACR.mfa, ACR.passkey], essential: false });
    expect(acrRequestOf(ACR.password, { essential: true, value: ACR.mfa })).toEqual({ values: [ACR.mfa], essential: true });
    expect(acrRequestOf(undefined, { values: [ACR.passkey, 7] })).toEqual({ values: [ACR.passkey], essential: false });
    expect(acrRequestOf(undefined, undefined)).toEqual({ values: [], essential: false });
    expect(claimsAcrOf(JSON.stringify({ id_token: { acr: { essential: true, value: ACR.mfa } } }))).toEqual({ essential: true, value: ACR.mfa });
    expect(claimsAcrOf("{not json")).toBeUndefined();
  });

  it("requires the higher of the client's minimum and the lowest requested level", () => {
    expect(requiredRank({ values: [ACR.mfa], essential: false }, ACR.passkey)).toBe(rankOf(ACR.passkey));
    expect(requiredRank({ values: [ACR.passkey, ACR.mfa], essential: false }, undefined)).toBe(rankOf(ACR.mfa));
    expect(requiredRank({ values: [], essential: false }, undefined)).toBe(0);
  });
});

describe("risk score", () => {
  it("passes a new network or a new device alone, and flags both together (threshold 50)", () => {
    expect(riskScore({ newDevice: false, newNetwork: true, recentFailures: 0 }).score).toBeLessThan(50);
    expect(riskScore({ newDevice: true, newNetwork: false, recentFailures: 0 }).score).toBeLessThan(50);
    expect(riskScore({ newDevice: true, newNetwork: true, recentFailures: 0 })).toEqual({ score: 70, reasons: ["new_device", "new_network"] });
    expect(riskScore({ newDevice: true, newNetwork: false, recentFailures: 5 }).score).toBeGreaterThanOrEqual(50);
    expect(riskScore({ newDevice: false, newNetwork: false, recentFailures: 0 })).toEqual({ score: 0, reasons: [] });
  });

  it("groups addresses by IPv4 /16 and IPv6 /48", () => {
    expect(networkOf("203.0.113.7")).toBe(networkOf("203.0.200.1"));
    expect(networkOf("203.0.113.7")).not.toBe(networkOf("198.51.100.7"));
    expect(networkOf("::ffff:203.0.113.7")).toBe(networkOf("203.0.113.9"));
    expect(networkOf("2001:db8:1234:1::1")).toBe(networkOf("2001:0db8:1234:ffff::2"));
    expect(networkOf("2001:db8:1234::1")).not.toBe(networkOf("2001:db8:9999::1"));
  });
});
