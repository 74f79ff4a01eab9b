import * as oidc from "openid-client";
import { generate } from "otplib";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ACR } from "../../src/auth/assurance.js";
import { chromiumAvailable, launchChromium, openTestPage } from "../helpers/chromium.js";
import { authorizationRequest, createUser, PASSWORD, type RelyingParty, RP_CALLBACK, registerRelyingParty } from "../helpers/relying-party.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

describe.skipIf(!chromiumAvailable)("second factors in Chromium", () => {
  let server: TestServer;
  let rp: RelyingParty;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    server = await startTestServer("pglite", {}, { issuerHost: "localhost" });
    rp = await registerRelyingParty(server, { firstParty: true });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });
  beforeEach(async () => {
    await context?.close();
    ({ context, page } = await openTestPage(browser));
  });

  async function passwordSignIn(email: string) {
    await page.fill("#email", email);
    await page.fill("#password", PASSWORD);
    await page.locator('form[action$="/login"] button[type="submit"]').click();
  }

  it("enrols an authenticator app on the account page, then signs in to an app with password and code", async () => {
    const userId = await createUser(server, "totp-browser@example.com");
    await page.goto(`${server.issuer}/account`);
    await passwordSignIn("totp-browser@example.com");
    await page.getByRole("button", { name: "Not now" }).click();
    await page.getByRole("button", { name: "Set up an authenticator app" }).click();
    await expect.poll(() => page.locator("img[alt^='QR code']").count()).toBe(1);
    const secret = (await page.locator("#totp-secret").textContent()) as string;
    await page.fill("#code", await generate({ secret, epoch: Math.floor(Date.now() / 1000) - 30 }));
    await page.getByRole("button", { name: "Confirm" }).click();
    await expect.poll(() => page.locator("[role=status]").textContent()).toContain("Your authenticator app is set up");
    expect(await page.locator(".codes li").count()).toBe(10);

    await context.clearCookies();
    const start = await authorizationRequest(rp);
    await page.goto(start.url.toString());
    await passwordSignIn("totp-browser@example.com");
    await page.fill("#code", await generate({ secret }));
    await page.getByRole("button", { name: "Continue" }).click();
    await page.waitForURL((url) => url.toString().startsWith(RP_CALLBACK));
    const tokens = await oidc.authorizationCodeGrant(rp.config, new URL(page.url()), {
      pkceCodeVerifier: start.codeVerifier,
      expectedState: start.state,
      expectedNonce: start.nonce,
    });
    expect(tokens.claims()).toMatchObject({ sub: userId, acr: ACR.mfa, amr: ["pwd", "otp"] });
  });
});
