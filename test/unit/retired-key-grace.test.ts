import { describe, expect, it } from "vitest";
import { retiredKeyGraceSeconds } from "../../src/oidc/signing-keys.js";

const base = {
  retiredKeyGraceSeconds: 600,
  resourceServers: [] as string[],
  ttl: { idTokenSeconds: 3600, accessTokenSeconds: 900, clientCredentialsSeconds: 7200 },
  maxClientAccessTokenSeconds: 86_400,
};

describe("how long a retired signing key stays published", () => {
  it("covers the ID tokens it signed, whatever the setting says", () => {
    expect(retiredKeyGraceSeconds(base)).toBe(3600);
    expect(retiredKeyGraceSeconds({ ...base, retiredKeyGraceSeconds: 90_000 })).toBe(90_000);
  });

  it("covers JWT access tokens too once resource servers are configured, up to a client's longest own lifetime", () => {
    expect(retiredKeyGraceSeconds({ ...base, resourceServers: ["https://api.example.com"] })).toBe(86_400);
    expect(retiredKeyGraceSeconds({ ...base, resourceServers: ["https://api.example.com"], maxClientAccessTokenSeconds: 60 })).toBe(7200);
  });
});
