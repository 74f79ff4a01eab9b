import * as oidc from "openid-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrowserSession } from "../helpers/browser-session.js";
import { authorizationRequest, completeInteraction, createUser, RP_CALLBACK, RP_LOGOUT_CALLBACK } from "../helpers/relying-party.js";
import { DATABASE_KINDS } from "../helpers/test-database.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

// README "Connect an application": what the Grafana, Nextcloud and mod_auth_openidc settings there rely on.
describe.each(DATABASE_KINDS)("what the README's relying-party settings rely on (%s)", (kind) => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer(kind);
    await createUser(server, "connect@example.com");
  });
  afterAll(() => server?.stop());

  it("serves the endpoints the settings name, PKCE S256 and both secret methods in discovery", async () => {
    const discovery = (await (await fetch(`${server.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(discovery).toMatchObject({
      issuer: server.issuer,
      authorization_endpoint: `${server.issuer}/auth`,
      token_endpoint: `${server.issuer}/token`,
      userinfo_endpoint: `${server.issuer}/me`,
      end_session_endpoint: `${server.issuer}/session/end`,
      code_challenge_methods_supported: ["S256"],
      backchannel_logout_supported: true,
    });
    expect(discovery.token_endpoint_auth_methods_supported).toEqual(expect.arrayContaining(["client_secret_basic", "client_secret_post"]));
    expect(discovery.id_token_signing_alg_values_supported).toEqual(expect.arrayContaining(["ES256", "RS256"]));
  });

  it("lets a client registered like the README's authenticate with client_secret_post, and returns a refresh token without offline_access", async () => {
    const client = await server.services.clients.create({
      name: "Nextcloud",
      redirectUris: [RP_CALLBACK],
      postLogoutRedirectUris: [RP_LOGOUT_CALLBACK],
      firstParty: true,
    });
    const config = await oidc.discovery(new URL(server.issuer), client.client_id, undefined, oidc.ClientSecretPost(client.client_secret), {
      execute: [oidc.allowInsecureRequests],
    });
    const rp = { clientId: client.client_id, clientSecret: client.client_secret, config };
    const browser = new BrowserSession();
    const start = await authorizationRequest(rp, { scope: "openid email profile", prompt: "login" });
    const final = await completeInteraction(browser, server, start.url.toString(), "connect@example.com");
    const tokens = await oidc.authorizationCodeGrant(config, new URL(final.location as string), {
      pkceCodeVerifier: start.codeVerifier,
      expectedState: start.state,
      expectedNonce: start.nonce,
    });
    expect(tokens.refresh_token).toEqual(expect.any(String));
    expect(tokens.scope?.split(" ").sort()).toEqual(["email", "openid", "profile"]);
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token as string);
    expect(refreshed.access_token).toEqual(expect.any(String));

    // Grafana's signout_redirect_url and Nextcloud's single logout: client_id and
    // post_logout_redirect_uri, no id_token_hint. Confirmed, it returns to the registered URI.
    const confirm = await browser.get(
      `${server.issuer}/session/end?${new URLSearchParams({ client_id: client.client_id, post_logout_redirect_uri: RP_LOGOUT_CALLBACK })}`,
    );
    expect(confirm.status).toBe(200);
    const xsrf = confirm.text.match(/name="xsrf" value="([^"]+)"/)?.[1] as string;
    const done = await browser.postForm(`${server.issuer}/session/end/confirm`, { xsrf, logout: "yes" });
    expect(done.location).toBe(RP_LOGOUT_CALLBACK);
    // The refresh token was bound to that session: it ended with it.
    await expect(oidc.refreshTokenGrant(config, refreshed.refresh_token as string)).rejects.toMatchObject({ error: "invalid_grant" });
  });
});
