import * as oidc from "openid-client";
import { BrowserSession, csrfTokenOf, formActionOf, type PageResponse } from "./browser-session.js";
import type { TestServer } from "./test-server.js";

export const RP_CALLBACK = "http://localhost:8080/callback";
export const RP_LOGOUT_CALLBACK = "http://localhost:8080/signed-out";
export const PASSWORD = "correct horse battery staple";

export interface RelyingParty {
  clientId: string;
  clientSecret?: string;
  config: oidc.Configuration;
}

/** Registers a client through the registry (as the CLI does) and discovers the IdP with openid-client. */
export async function registerRelyingParty(
  server: TestServer,
  options: { public?: boolean; redirectUris?: string[]; clientCredentials?: boolean; firstParty?: boolean; scopes?: string[] } = {},
): Promise<RelyingParty> {
  const client = await server.services.clients.create({
    name: "Test RP",
    redirectUris: options.redirectUris ?? [RP_CALLBACK],
    postLogoutRedirectUris: [RP_LOGOUT_CALLBACK],
    public: options.public,
    clientCredentials: options.clientCredentials,
    firstParty: options.firstParty,
    scopes: options.scopes,
  });
  const auth = options.public ? oidc.None() : oidc.ClientSecretBasic(client.client_secret);
  const config = await oidc.discovery(new URL(server.issuer), client.client_id, undefined, auth, { execute: [oidc.allowInsecureRequests] });
  return { clientId: client.client_id, clientSecret: client.client_secret, config };
}

export async function createUser(server: TestServer, email = "alice@example.com"): Promise<string> {
  return (await server.services.users.create({ email, password: PASSWORD, name: "Alice" })).id;
}

export interface AuthorizationStart {
  url: URL;
  state: string;
  nonce: string;
  codeVerifier: string;
}

export async function authorizationRequest(rp: RelyingParty, extra: Record<string, string> = {}): Promise<AuthorizationStart> {
  const codeVerifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(rp.config, {
    redirect_uri: RP_CALLBACK,
    scope: "openid email profile offline_access",
    prompt: "consent",
    code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: "S256",
    state,
    nonce,
    ...extra,
  });
  return { url, state, nonce, codeVerifier };
}

/** Drives the interaction pages like a user: sign in with a password, approve consent. Returns the final response. */
export async function completeInteraction(
  browser: BrowserSession,
  server: Pick<TestServer, "issuer">,
  startUrl: string,
  email = "alice@example.com",
): Promise<PageResponse> {
  let page = await browser.follow(startUrl, server.issuer);
  for (let step = 0; step < 5; step += 1) {
    if (page.location && !page.location.startsWith(server.issuer)) return page;
    if (page.text.includes('action="/interaction/') && page.text.includes("/login")) {
      const action = new URL(formActionOf(page.text, "/login"), server.issuer).toString();
      const posted = await browser.postForm(action, { _csrf: csrfTokenOf(page.text), email, password: PASSWORD });
      page = await browser.follow(action, server.issuer, posted);
    } else if (page.text.includes("/passkey/skip")) {
      // The offer to create a passkey after a password sign-in: "Not now".
      const action = new URL(formActionOf(page.text, "/passkey/skip"), server.issuer).toString();
      const posted = await browser.postForm(action, { _csrf: csrfTokenOf(page.text) });
      page = await browser.follow(action, server.issuer, posted);
    } else if (page.text.includes("/consent")) {
      const action = new URL(formActionOf(page.text, "/consent"), server.issuer).toString();
      const posted = await browser.postForm(action, { _csrf: csrfTokenOf(page.text) });
      page = await browser.follow(action, server.issuer, posted);
    } else {
      return page;
    }
  }
  return page;
}

/** A full sign-in: returns the callback URL the RP received, and the checks it must apply. */
export async function signIn(server: TestServer, rp: RelyingParty, browser = new BrowserSession(), extra: Record<string, string> = {}, email?: string) {
  const start = await authorizationRequest(rp, extra);
  const final = await completeInteraction(browser, server, start.url.toString(), email);
  if (!final.location?.startsWith(RP_CALLBACK)) throw new Error(`sign-in did not reach the callback (status ${final.status}): ${final.text.slice(0, 300)}`);
  return { callbackUrl: new URL(final.location), start, browser };
}

export async function signInAndRedeem(server: TestServer, rp: RelyingParty, browser = new BrowserSession(), email?: string) {
  const { callbackUrl, start } = await signIn(server, rp, browser, {}, email);
  const tokens = await oidc.authorizationCodeGrant(rp.config, callbackUrl, {
    pkceCodeVerifier: start.codeVerifier,
    expectedState: start.state,
    expectedNonce: start.nonce,
  });
  return { tokens, callbackUrl, start, browser };
}

/**
 * `/auth?…` for a new client with an https redirect URI, built by hand (no discovery: for servers
 * whose https issuer the test reaches over plain HTTP).
 */
export async function httpsClientAuthorizationPath(server: TestServer): Promise<string> {
  const redirectUri = "https://app.example.com/cb";
  const client = await server.services.clients.create({ name: "https app", redirectUris: [redirectUri] });
  const query = new URLSearchParams({
    client_id: client.client_id,
    response_type: "code",
    scope: "openid",
    redirect_uri: redirectUri,
    code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    code_challenge_method: "S256",
  });
  return `/auth?${query}`;
}
