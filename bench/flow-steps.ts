// The steps of one complete sign-in as bench/flows.ts drives them: no browser, a fresh cookie jar
// per flow (test/helpers/browser-session.ts), a software authenticator for passkeys, the same page
// walking as the integration tests (test/helpers/relying-party.ts).
import { createHash, randomBytes } from "node:crypto";
import { BrowserSession, csrfTokenOf, formActionOf, type PageResponse } from "../test/helpers/browser-session.js";
import { completeInteraction } from "../test/helpers/relying-party.js";
import type { SoftwareAuthenticator } from "../test/helpers/software-authenticator.js";
import { FLOW_CALLBACK, type FlowTarget, type FlowUser } from "./flow-target-shape.js";

type Client = FlowTarget["client"];

const RP_ID = "127.0.0.1";

/** `GET /auth` with code + PKCE S256 for `client`. */
export function authorizationStart(target: FlowTarget, client: Client): { url: string; codeVerifier: string } {
  const codeVerifier = randomBytes(32).toString("base64url");
  const query = new URLSearchParams({
    client_id: client.id,
    response_type: "code",
    scope: "openid email",
    redirect_uri: FLOW_CALLBACK,
    code_challenge: createHash("sha256").update(codeVerifier).digest("base64url"),
    code_challenge_method: "S256",
    state: randomBytes(16).toString("base64url"),
    nonce: randomBytes(16).toString("base64url"),
  });
  return { url: `${target.issuer}/auth?${query}`, codeVerifier };
}

function expectCallback(page: PageResponse): string {
  if (!page.location?.startsWith(FLOW_CALLBACK)) throw new Error(`the sign-in did not reach the callback (status ${page.status}): ${page.text.slice(0, 200)}`);
  const code = new URL(page.location).searchParams.get("code");
  if (!code) throw new Error(`no code in the callback: ${page.location}`);
  return code;
}

/** The sign-in page's passkey ceremony (usernameless), then consent unless the client skips it; returns the code. */
export async function passkeyInteraction(browser: BrowserSession, target: FlowTarget, startUrl: string, user: FlowUser, authenticator: SoftwareAuthenticator) {
  const page = await browser.follow(startUrl, target.issuer);
  const csrf = csrfTokenOf(page.text);
  const options = await browser.postJson(`${page.url}/passkey/authenticate/options`, csrf, {});
  const { challenge } = JSON.parse(options.text) as { challenge: string };
  const verified = await browser.postJson(
    `${page.url}/passkey/authenticate/verify`,
    csrf,
    authenticator.assertion({ challenge, origin: target.issuer, rpId: RP_ID }, user.id),
  );
  if (verified.status !== 200) throw new Error(`passkey verification answered ${verified.status}: ${verified.text.slice(0, 200)}`);
  const { redirectTo } = JSON.parse(verified.text) as { redirectTo: string };
  return expectCallback(await completeInteraction(browser, target, redirectTo));
}

/** Email + password, "Not now" to the passkey offer, consent; returns the code. */
export async function passwordInteraction(browser: BrowserSession, target: FlowTarget, startUrl: string, user: FlowUser) {
  return expectCallback(await completeInteraction(browser, target, startUrl, user.email));
}

/** oidc-provider's devInteractions: its login form (any login), then its consent form unless a grant exists; returns the code. */
export async function devInteraction(browser: BrowserSession, target: FlowTarget, startUrl: string, user: FlowUser) {
  let page = await browser.follow(startUrl, target.issuer);
  for (let step = 0; step < 3 && !page.location; step += 1) {
    const prompt = page.text.match(/name="prompt" value="([a-z]+)"/)?.[1];
    const action = page.text.match(/<form[^>]* action="([^"]+)"/)?.[1];
    if (!prompt || !action) throw new Error(`not a devInteractions form (status ${page.status}): ${page.text.slice(0, 200)}`);
    const url = new URL(action, target.issuer).toString();
    const fields: Record<string, string> = prompt === "login" ? { prompt, login: user.id, password: target.password } : { prompt };
    page = await browser.follow(url, target.issuer, await browser.postForm(url, fields));
  }
  return expectCallback(page);
}

/** `POST /token` (authorization_code, client_secret_basic) with the PKCE verifier. */
export async function redeem(target: FlowTarget, client: Client, code: string, codeVerifier: string): Promise<void> {
  const response = await fetch(`${target.issuer}/token`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString("base64")}`,
    },
    body: new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: FLOW_CALLBACK, code_verifier: codeVerifier }),
  });
  const body = (await response.json()) as { id_token?: string; access_token?: string };
  if (response.status !== 200 || !body.id_token || !body.access_token)
    throw new Error(`the token endpoint answered ${response.status}: ${JSON.stringify(body)}`);
}

/** Set-up, not measured: a password sign-in, then "Create a passkey" with `authenticator` (as test/integration/passkey-assertions.test.ts does). */
export async function registerPasskey(target: FlowTarget, user: FlowUser, authenticator: SoftwareAuthenticator): Promise<void> {
  const browser = new BrowserSession();
  const page = await browser.follow(authorizationStart(target, target.client).url, target.issuer);
  const action = new URL(formActionOf(page.text, "/login"), target.issuer).toString();
  const offer = await browser.postForm(action, { _csrf: csrfTokenOf(page.text), email: user.email, password: target.password });
  const csrf = csrfTokenOf(offer.text);
  const options = await browser.postJson(`${page.url}/passkey/register/options`, csrf, {});
  const { challenge } = JSON.parse(options.text) as { challenge: string };
  const verified = await browser.postJson(
    `${page.url}/passkey/register/verify`,
    csrf,
    authenticator.registration({ challenge, origin: target.issuer, rpId: RP_ID }),
  );
  if (verified.status !== 200) throw new Error(`passkey registration for ${user.email} answered ${verified.status}: ${verified.text.slice(0, 200)}`);
}
