import * as oidc from "openid-client";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { addVirtualAuthenticator, chromiumAvailable, launchChromium, type VirtualAuthenticator } from "../helpers/chromium.js";
import {
  type AuthorizationStart,
  authorizationRequest,
  createUser,
  PASSWORD,
  type RelyingParty,
  RP_CALLBACK,
  registerRelyingParty,
} from "../helpers/relying-party.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

describe.skipIf(!chromiumAvailable)("passkeys in Chromium", () => {
  let server: TestServer;
  let rp: RelyingParty;
  let userId: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let authenticator: VirtualAuthenticator;

  beforeAll(async () => {
    server = await startTestServer("pglite", {}, { issuerHost: "localhost" });
    rp = await registerRelyingParty(server);
    userId = await createUser(server);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });
  beforeEach(async () => {
    await context?.close();
    context = await browser.newContext();
    page = await context.newPage();
    // The relying party's callback: answer it so the browser stops there.
    await page.route(`${RP_CALLBACK}**`, (route) => route.fulfill({ status: 200, contentType: "text/plain", body: "relying party" }));
    authenticator = await addVirtualAuthenticator(context, page);
  });

  async function approveAndRedeem(start: AuthorizationStart) {
    await page.getByRole("button", { name: "Allow" }).click();
    await page.waitForURL((url) => url.toString().startsWith(RP_CALLBACK));
    return oidc.authorizationCodeGrant(rp.config, new URL(page.url()), {
      pkceCodeVerifier: start.codeVerifier,
      expectedState: start.state,
      expectedNonce: start.nonce,
    });
  }

  it("offers a passkey after a password sign-in, then signs in with it usernameless", async () => {
    const first = await authorizationRequest(rp);
    await page.goto(first.url.toString());
    await page.fill("#email", "alice@example.com");
    await page.fill("#password", PASSWORD);
    await page.locator('form[action$="/login"] button[type="submit"]').click();
    await page.getByRole("button", { name: "Create a passkey" }).click();
    const afterPassword = await approveAndRedeem(first);
    expect(afterPassword.claims()).toMatchObject({ sub: userId, amr: ["pwd"], acr: "urn:idp:acr:password" });
    expect(await authenticator.credentialCount()).toBe(1);
    const stored = await server.database.prisma.credential.findMany({ where: { userId } });
    expect(stored).toHaveLength(1);
    expect(stored[0]?.id).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(stored[0]?.name).toBe("Chrome on Linux");

    // Signed out (cookies gone): "Sign in with a passkey", no email typed.
    await context.clearCookies();
    const second = await authorizationRequest(rp);
    await page.goto(second.url.toString());
    await page.getByRole("button", { name: "Sign in with a passkey" }).click();
    const withPasskey = await approveAndRedeem(second);
    expect(withPasskey.claims()).toMatchObject({ sub: userId, acr: "urn:idp:acr:passkey", amr: ["hwk", "user"] });
    const used = await server.database.prisma.credential.findFirstOrThrow({ where: { userId } });
    expect(used.lastUsedAt).not.toBeNull();
  });

  it("does not offer or accept a passkey registered for another site (RP ID)", async () => {
    await authenticator.addCredentialFor("other.example", userId);
    const usedBefore = await server.database.prisma.credential.count({ where: { lastUsedAt: { not: null } } });
    const start = await authorizationRequest(rp);
    await page.goto(start.url.toString());
    await page.getByRole("button", { name: "Sign in with a passkey" }).click();
    await expect.poll(() => page.locator("#passkey-error").textContent()).toMatch(/passkey prompt was closed|could not be/);
    expect(page.url()).toContain("/interaction/");
    expect(await server.database.prisma.credential.count({ where: { lastUsedAt: { not: null } } })).toBe(usedBefore);
  });

  it("shows a friendly message when the ceremony fails or is cancelled", async () => {
    await authenticator.setUserVerified(false);
    const start = await authorizationRequest(rp);
    await page.goto(start.url.toString());
    await page.getByRole("button", { name: "Sign in with a passkey" }).click();
    await expect.poll(() => page.locator("#passkey-error").textContent()).toMatch(/passkey prompt was closed|could not be/);
    expect(page.url()).toContain("/interaction/");
  });
});
