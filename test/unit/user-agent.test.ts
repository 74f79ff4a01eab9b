import { describe, expect, it } from "vitest";
import { defaultPasskeyName, deviceOf } from "../../src/http/user-agent.js";
import { authenticatorNameOf } from "../../src/webauthn/authenticator-names.js";

describe("devices from user agents (bowser)", () => {
  it.each([
    ["Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36", "Chrome on Linux", "desktop"],
    [
      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
      "Safari on iOS",
      "mobile",
    ],
    ["Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox on Windows", "desktop"],
    [
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0",
      "Microsoft Edge on Windows",
      "desktop",
    ],
  ])("names %s", (userAgent, name, type) => {
    expect(deviceOf(userAgent)).toEqual({ name, type });
  });

  it("says 'Unknown device' for what it does not recognise, never echoing the raw text", () => {
    expect(deviceOf(undefined).name).toBe("Unknown device");
    expect(deviceOf("").name).toBe("Unknown device");
    expect(deviceOf("<script>alert(1)</script>").name).toBe("Unknown device");
    expect(defaultPasskeyName("curl/8.0")).toBe("Passkey");
  });

  it("names well-known passkey providers by AAGUID, and nothing else", () => {
    expect(authenticatorNameOf("FBFC3007-154E-4ECC-8C0B-6E020557D7BD")).toBe("Apple Passwords");
    expect(authenticatorNameOf("ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4")).toBe("Google Password Manager");
    expect(authenticatorNameOf("00000000-0000-0000-0000-000000000000")).toBeNull();
  });
});
