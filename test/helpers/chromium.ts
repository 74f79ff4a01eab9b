import { generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { RP_CALLBACK } from "./relying-party.js";
import { coseEs256Key } from "./software-authenticator.js";

const EXECUTABLE = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Debian's Chromium must be installed (.ci/run does it); the e2e suites are skipped without it. */
export const chromiumAvailable = existsSync(EXECUTABLE);

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: EXECUTABLE,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

export interface VirtualAuthenticator {
  id: string;
  /**
   * Puts a discoverable ES256 credential into the authenticator, as if made earlier; returns what a
   * server stores for it (the id, base64url, and the COSE public key).
   */
  addCredentialFor(rpId: string, userHandle: string): Promise<{ credentialId: string; publicKey: Buffer }>;
  remove(): Promise<void>;
  setUserVerified(verified: boolean): Promise<void>;
  credentialCount(): Promise<number>;
}

/** A CTAP2 platform authenticator with resident keys and user verification (DevTools WebAuthn domain). */
export async function addVirtualAuthenticator(context: BrowserContext, page: Page): Promise<VirtualAuthenticator> {
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return {
    id: authenticatorId,
    addCredentialFor: async (rpId, userHandle) => {
      const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
      const credentialId = randomBytes(16);
      await cdp.send("WebAuthn.addCredential", {
        authenticatorId,
        credential: {
          credentialId: credentialId.toString("base64"),
          isResidentCredential: true,
          rpId,
          privateKey: privateKey.export({ format: "der", type: "pkcs8" }).toString("base64"),
          userHandle: Buffer.from(userHandle).toString("base64"),
          signCount: 0,
        },
      });
      return { credentialId: credentialId.toString("base64url"), publicKey: coseEs256Key(publicKey) };
    },
    remove: async () => {
      await cdp.send("WebAuthn.removeVirtualAuthenticator", { authenticatorId });
    },
    setUserVerified: async (isUserVerified) => {
      await cdp.send("WebAuthn.setUserVerified", { authenticatorId, isUserVerified });
    },
    credentialCount: async () => (await cdp.send("WebAuthn.getCredentials", { authenticatorId })).credentials.length,
  };
}

/**
 * Makes the pages of `context` report no passkey autofill support. Chromium's virtual authenticator
 * answers a conditional (autofill) request at once, which would pre-empt a test of the button.
 */
export async function hideAutofillSupport(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    PublicKeyCredential.isConditionalMediationAvailable = async () => false;
  });
}

/**
 * A password sign-in on the IdP's page, declining the offer to create a passkey when it comes (it
 * does not when the user said "Not now" lately, in another browser say).
 */
export async function signInWithPassword(page: Page, email: string, password: string): Promise<void> {
  await page.fill("#email", email);
  await page.fill("#password", password);
  await page.locator('form[action$="/login"] button[type="submit"]').click();
  await page.waitForFunction(() => !document.querySelector('form[action$="/login"]'));
  const notNow = page.getByRole("button", { name: "Not now" });
  if ((await notNow.count()) > 0) await notNow.click();
}

/**
 * A fresh browser context and page for one test: the relying party's callback is answered (so the
 * browser stops there), and with `hideAutofill` the pages report no passkey autofill.
 */
export async function openTestPage(browser: Browser, options: { userAgent?: string; hideAutofill?: boolean } = {}) {
  const context = await browser.newContext(options.userAgent ? { userAgent: options.userAgent } : {});
  if (options.hideAutofill) await hideAutofillSupport(context);
  const page = await context.newPage();
  await page.route(`${RP_CALLBACK}**`, (route) => route.fulfill({ status: 200, contentType: "text/plain", body: "relying party" }));
  return { context, page };
}
