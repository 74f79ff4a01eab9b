import { describe, expect, it } from "vitest";
import { claimsCoveredBy, narrowClaimsRequest } from "../../src/oidc/claims-parameter.js";

const claims = { acr: null, sid: null, openid: ["sub", "acr", "amr", "auth_time"], email: ["email", "email_verified"], profile: ["name"] };

describe("§30 claims covered by a client's allowed scopes", () => {
  it("covers the allowed scopes' claims and the sign-in claims only", () => {
    const covered = claimsCoveredBy("openid", claims);
    expect([...covered].sort()).toEqual(["acr", "amr", "auth_time", "iss", "sid", "sub"]);
    expect(claimsCoveredBy("openid email", claims).has("email_verified")).toBe(true);
    expect(claimsCoveredBy("openid unknown", claims).has("name")).toBe(false);
    // A client that names no scopes may ask for every scope, so every scope's claims.
    expect(claimsCoveredBy(undefined, claims).has("name")).toBe(true);
  });

  it("keeps only covered members in id_token and userinfo, values untouched", () => {
    const request = { id_token: { acr: { essential: true, value: "x" }, email: null }, userinfo: { email: null, name: null } };
    expect(narrowClaimsRequest(request, claimsCoveredBy("openid profile", claims))).toEqual({
      id_token: { acr: { essential: true, value: "x" } },
      userinfo: { name: null },
    });
    expect(JSON.stringify(narrowClaimsRequest({ userinfo: { email: null } }, claimsCoveredBy("openid", claims)))).toBe('{"userinfo":{}}');
  });
});
