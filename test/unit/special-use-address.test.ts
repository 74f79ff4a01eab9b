import { describe, expect, it } from "vitest";
import { addressesOf, isSpecialUseAddress } from "../../src/net/special-use-address.js";

// Pins the deep import of oidc-provider's list: an upgrade that moves or changes it fails here.
describe("special-use addresses", () => {
  it.each([
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.10",
    "127.0.0.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "::1",
    "::",
    "fe80::1",
    "fd00::1",
    "::ffff:127.0.0.1",
    // IPv4-mapped in the hex form URL parsing gives: loopback and the cloud-metadata address.
    "::ffff:7f00:1",
    "::ffff:a9fe:a9fe",
    "0:0:0:0:0:ffff:7f00:1",
    // Not unicast.
    "224.0.0.1",
    "255.255.255.255",
    "ff02::1",
    "not an address",
  ])("%s is special-use", (address) => {
    expect(isSpecialUseAddress(address)).toBe(true);
  });

  it.each(["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:5db8:d822"])("%s is public", (address) => {
    expect(isSpecialUseAddress(address)).toBe(false);
  });

  it("takes an IP literal (bracketed IPv6 too) for itself and resolves names", async () => {
    expect(await addressesOf("[::1]")).toEqual(["::1"]);
    expect(await addressesOf("10.0.0.1")).toEqual(["10.0.0.1"]);
    expect((await addressesOf("localhost")).every(isSpecialUseAddress)).toBe(true);
  });
});
