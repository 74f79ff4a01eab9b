import * as oidc from "openid-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrowserSession, csrfTokenOf } from "../helpers/browser-session.js";
import { createUser, type RelyingParty, RP_LOGOUT_CALLBACK, registerRelyingParty, signInAndRedeem } from "../helpers/relying-party.js";
import { DATABASE_KINDS } from "../helpers/test-database.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

describe.each(DATABASE_KINDS)("Authorization Code + PKCE end to end (%s)", (kind) => {
  let server: TestServer;
  let rp: RelyingParty;
  let userId: string;

  beforeAll(async () => {
    server = await startTestServer(kind);
    rp = await registerRelyingParty(server);
    userId = await createUser(server);
  });
  afterAll(() => server?.stop());

  it("issues tokens, serves userinfo, rotates refresh tokens, revokes and logs out", async () => {
    const { tokens, callbackUrl, browser } = await signInAndRedeem(server, rp);

    // RFC 9207: the authorization response names its issuer.
    expect(callbackUrl.searchParams.get("iss")).toBe(server.issuer);
    const claims = tokens.claims();
    expect(claims?.sub).toBe(userId);
    expect(claims?.acr).toBe("urn:idp:acr:password");
    expect(claims?.amr).toEqual(["pwd"]);
    expect(tokens.refresh_token).toBeTruthy();

    const userinfo = await oidc.fetchUserInfo(rp.config, tokens.access_token, userId);
    expect(userinfo).toMatchObject({ sub: userId, email: "alice@example.com", email_verified: true, name: "Alice" });

    // Rotation: a new refresh token each time; the old one is dead.
    const first = tokens.refresh_token as string;
    const rotated = await oidc.refreshTokenGrant(rp.config, first);
    expect(rotated.refresh_token).toBeTruthy();
    expect(rotated.refresh_token).not.toBe(first);
    await expect(oidc.fetchUserInfo(rp.config, rotated.access_token, userId)).resolves.toMatchObject({ sub: userId });

    // Reusing the rotated token is refused and revokes the whole grant, newest tokens included.
    await expect(oidc.refreshTokenGrant(rp.config, first)).rejects.toMatchObject({ error: "invalid_grant" });
    await expect(oidc.refreshTokenGrant(rp.config, rotated.refresh_token as string)).rejects.toMatchObject({ error: "invalid_grant" });
    await expect(oidc.fetchUserInfo(rp.config, rotated.access_token, userId)).rejects.toMatchObject({ status: 401 });

    // A fresh grant: revocation of the refresh token ends it.
    const second = await signInAndRedeem(server, rp, browser);
    await oidc.tokenRevocation(rp.config, second.tokens.refresh_token as string);
    await expect(oidc.refreshTokenGrant(rp.config, second.tokens.refresh_token as string)).rejects.toMatchObject({ error: "invalid_grant" });
    const introspection = await oidc.tokenIntrospection(rp.config, second.tokens.refresh_token as string);
    expect(introspection.active).toBe(false);

    // RP-initiated logout: confirmation page, then redirect to the registered URI, and the session is gone.
    const endSession = oidc.buildEndSessionUrl(rp.config, {
      id_token_hint: second.tokens.id_token as string,
      post_logout_redirect_uri: RP_LOGOUT_CALLBACK,
      state: "bye",
    });
    const confirm = await browser.get(endSession.toString());
    expect(confirm.status).toBe(200);
    const xsrf = confirm.text.match(/name="xsrf" value="([^"]+)"/)?.[1] as string;
    const done = await browser.postForm(`${server.issuer}/session/end/confirm`, { xsrf, logout: "yes" });
    expect(done.status).toBe(303);
    expect(done.location).toBe(`${RP_LOGOUT_CALLBACK}?state=bye`);
    const again = await browser.follow((await import("../helpers/relying-party.js").then((m) => m.authorizationRequest(rp))).url.toString(), server.issuer);
    expect(again.text).toContain('name="password"');
    expect(csrfTokenOf(again.text)).toBeTruthy();
  });

  it("introspects an active access token for its client", async () => {
    const { tokens } = await signInAndRedeem(server, rp, new BrowserSession());
    const result = await oidc.tokenIntrospection(rp.config, tokens.access_token);
    expect(result).toMatchObject({ active: true, sub: userId, client_id: rp.clientId });
  });
});
