import { readFile } from "node:fs/promises";
import * as oidc from "openid-client";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  addVirtualAuthenticator,
  chromiumAvailable,
  launchChromium,
  openTestPage,
  signInWithPassword,
  type VirtualAuthenticator,
} from "../helpers/chromium.js";
import { authorizationRequest, createUser, PASSWORD, type RelyingParty, RP_CALLBACK, registerRelyingParty } from "../helpers/relying-party.js";
import { seedPasskey } from "../helpers/software-authenticator.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

const FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";

// Issue #5 acceptance 1: the account page in a real browser.
describe.skipIf(!chromiumAvailable)("account page in Chromium", () => {
  let server: TestServer;
  let rp: RelyingParty;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let authenticator: VirtualAuthenticator;
  let counter = 0;

  beforeAll(async () => {
    server = await startTestServer("pglite", {}, { issuerHost: "localhost" });
    rp = await registerRelyingParty(server);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  beforeEach(async () => {
    await context?.close();
    ({ context, page } = await openTestPage(browser, { hideAutofill: true }));
    authenticator = await addVirtualAuthenticator(context, page);
  });

  async function newUser() {
    const email = `browser-account-${++counter}@example.com`;
    return { email, id: await createUser(server, email) };
  }

  const passwordSignIn = (on: Page, email: string) => signInWithPassword(on, email, PASSWORD);

  async function openAccount(on: Page, email: string) {
    await on.goto(`${server.issuer}/account`);
    await passwordSignIn(on, email);
    await on.waitForURL(`${server.issuer}/account`);
  }

  /** Signs in to the relying party in `on` (consent included) and redeems the code. */
  async function signInToApp(on: Page, email: string) {
    const start = await authorizationRequest(rp);
    await on.goto(start.url.toString());
    await passwordSignIn(on, email);
    await on.getByRole("button", { name: "Allow" }).click();
    await on.waitForURL((url) => url.toString().startsWith(RP_CALLBACK));
    return oidc.authorizationCodeGrant(rp.config, new URL(on.url()), {
      pkceCodeVerifier: start.codeVerifier,
      expectedState: start.state,
      expectedNonce: start.nonce,
    });
  }

  const passkeyItems = () => page.locator("li.passkey");

  it("adds a passkey with the virtual authenticator, renames it after confirming it's you, and removes passkeys", async () => {
    const user = await newUser();
    await openAccount(page, user.email);
    await page.getByRole("button", { name: "Add a passkey" }).click();
    await page.getByRole("button", { name: "Create a passkey" }).click();
    await page.waitForURL(`${server.issuer}/account#passkeys`);
    await expect.poll(() => passkeyItems().count()).toBe(1);
    expect(await passkeyItems().first().locator(".passkey-name").textContent()).toBe("Chrome on Linux");
    expect(await authenticator.credentialCount()).toBe(1);

    // The rename field opens under "Edit" (issue #15), in place.
    const nameField = passkeyItems().first().locator('input[name="name"]');
    expect(await nameField.isVisible()).toBe(false);
    await passkeyItems().first().locator("summary", { hasText: "Edit" }).click();
    expect(await nameField.isVisible()).toBe(true);
    // With a passkey, a change needs MFA: the password sign-in is not enough, so the page asks first.
    await nameField.fill("Work laptop");
    await passkeyItems().first().getByRole("button", { name: "Rename" }).click();
    await page.getByRole("button", { name: "Use your passkey or security key" }).click();
    await page.waitForURL(`${server.issuer}/account`);
    expect(await passkeyItems().first().locator(".passkey-name").textContent()).toBe("Chrome on Linux");
    await passkeyItems().first().locator("summary", { hasText: "Edit" }).click();
    await nameField.fill("Work laptop");
    await passkeyItems().first().getByRole("button", { name: "Rename" }).click();
    await expect.poll(() => page.locator("[role=status]").textContent()).toContain("The passkey is now called “Work laptop”.");
    expect(await passkeyItems().first().locator(".passkey-name").textContent()).toBe("Work laptop");

    // A second passkey on another authenticator, then remove both: the last one only after the warning.
    await authenticator.remove();
    const securityKey = await addVirtualAuthenticator(context, page);
    await page.getByRole("button", { name: "Add a passkey" }).click();
    await page.getByRole("button", { name: "Create a passkey" }).click();
    await page.waitForURL(`${server.issuer}/account#passkeys`);
    await expect.poll(() => passkeyItems().count()).toBe(2);
    expect(await securityKey.credentialCount()).toBe(1);

    // Removing asks first, on a page naming the passkey; "Keep the passkey" keeps it.
    await page.getByRole("button", { name: "Remove “Work laptop”…" }).click();
    await expect.poll(() => page.locator("h1").textContent()).toBe("Remove “Work laptop”?");
    await page.getByRole("link", { name: "Keep the passkey" }).click();
    await expect.poll(() => passkeyItems().count()).toBe(2);
    await page.getByRole("button", { name: "Remove “Work laptop”…" }).click();
    await page.getByRole("button", { name: "Remove “Work laptop”", exact: true }).click();
    await expect.poll(() => page.locator("[role=status]").textContent()).toContain("was removed");
    expect(await passkeyItems().count()).toBe(1);
    await page.getByRole("button", { name: "Remove “Chrome on Linux”…" }).click();
    await expect.poll(() => page.locator("[role=alert]").textContent()).toContain("is your last passkey");
    await page.getByRole("button", { name: /Remove it anyway/ }).click();
    await expect.poll(() => passkeyItems().count()).toBe(0);
    expect(await server.services.credentials.listCredentialsOfUser(user.id)).toHaveLength(0);
  });

  it("removes the password after a passkey verification; signing in with it then fails like a wrong password (issue #16)", async () => {
    const user = await newUser();
    await openAccount(page, user.email);
    await page.getByRole("button", { name: "Add a passkey" }).click();
    await page.getByRole("button", { name: "Create a passkey" }).click();
    await page.waitForURL(`${server.issuer}/account#passkeys`);
    // A second passkey, on a device this browser does not have.
    await seedPasskey(server.database.prisma, user.id);
    await page.reload();

    await page.getByRole("button", { name: "Remove my password…" }).click();
    // Signed in with the password: removing it needs the passkey, now.
    await page.getByRole("button", { name: "Use your passkey or security key" }).click();
    await page.waitForURL(`${server.issuer}/account`);
    await page.getByRole("button", { name: "Remove my password…" }).click();
    await page.getByRole("button", { name: "Remove my password", exact: true }).click();
    await expect.poll(() => page.locator("[role=status]").textContent()).toContain("Your password is removed");

    await context.clearCookies();
    const alerts: string[] = [];
    for (const password of [PASSWORD, "not the password at all"]) {
      await page.goto((await authorizationRequest(rp)).url.toString());
      await page.fill("#email", user.email);
      await page.fill("#password", password);
      await page.locator('form[action$="/login"] button[type="submit"]').click();
      await page.waitForLoadState("load");
      alerts.push((await page.locator("p.error[role=alert]").first().textContent()) ?? "");
    }
    expect(alerts[0]).toBe("That email and password do not match an account.");
    expect(alerts[1]).toBe(alerts[0]);
  });

  it("tells the password manager which passkeys the account accepts and its current email (Signal API, issue #16)", async () => {
    // Chromium may lack the Signal API: stand-ins record what the page asks for.
    await context.addInitScript(() => {
      const calls: [string, unknown][] = [];
      Object.assign(window, { signalCalls: calls });
      for (const name of ["signalAllAcceptedCredentials", "signalCurrentUserDetails"]) {
        Object.defineProperty(PublicKeyCredential, name, {
          configurable: true,
          value: (options: unknown) => {
            calls.push([name, options]);
            return Promise.resolve();
          },
        });
      }
    });
    // No passkey yet: the password manager hears that none of its passkeys for this account is accepted.
    const user = await newUser();
    await openAccount(page, user.email);
    const userId = Buffer.from(user.id, "utf8").toString("base64url");
    await expect.poll(() => page.evaluate(() => (window as unknown as { signalCalls: unknown[] }).signalCalls.length)).toBe(2);
    expect(await page.evaluate(() => (window as unknown as { signalCalls: unknown[] }).signalCalls)).toEqual([
      ["signalAllAcceptedCredentials", { rpId: "localhost", userId, allAcceptedCredentialIds: [] }],
      ["signalCurrentUserDetails", { rpId: "localhost", userId, name: user.email, displayName: user.email }],
    ]);

    // After adding a passkey, its id; after removing it, none again.
    const calls = () => page.evaluate(() => (window as unknown as { signalCalls: [string, { allAcceptedCredentialIds?: string[] }][] }).signalCalls);
    const accepted = async () => (await calls()).find(([name]) => name === "signalAllAcceptedCredentials")?.[1].allAcceptedCredentialIds;
    await page.getByRole("button", { name: "Add a passkey" }).click();
    await page.getByRole("button", { name: "Create a passkey" }).click();
    await page.waitForURL(`${server.issuer}/account#passkeys`);
    const [stored] = await server.services.credentials.listCredentialsOfUser(user.id);
    await expect.poll(accepted).toEqual([stored?.id]);
    await page.getByRole("button", { name: /^Remove “.*”…$/ }).click();
    await page.getByRole("button", { name: "Use your passkey or security key" }).click();
    await page.waitForURL(`${server.issuer}/account`);
    await page.getByRole("button", { name: /^Remove “.*”…$/ }).click();
    await page.getByRole("button", { name: /Remove it anyway/ }).click();
    await expect.poll(() => page.locator("[role=status]").textContent()).toContain("was removed");
    await expect.poll(accepted).toEqual([]);
  });

  it("says a passkey added twice is already registered, in plain words (issue #15)", async () => {
    const user = await newUser();
    await openAccount(page, user.email);
    await page.getByRole("button", { name: "Add a passkey" }).click();
    await page.getByRole("button", { name: "Create a passkey" }).click();
    await page.waitForURL(`${server.issuer}/account#passkeys`);
    // With a passkey, adding another needs a passkey check first; then the same authenticator again.
    await page.getByRole("button", { name: "Add a passkey" }).click();
    await page.getByRole("button", { name: "Use your passkey or security key" }).click();
    await page.waitForURL(`${server.issuer}/account`);
    await page.getByRole("button", { name: "Add a passkey" }).click();
    await page.getByRole("button", { name: "Create a passkey" }).click();
    // The browser refuses the authenticator the options exclude; the page says what that means.
    await expect.poll(() => page.locator("#passkey-error").textContent()).toBe("This passkey or security key is already registered to your account.");
    expect(await authenticator.credentialCount()).toBe(1);
    expect(await server.services.credentials.listCredentialsOfUser(user.id)).toHaveLength(1);
  });

  it("copies, downloads and prints new backup codes, and prints nothing else (issue #15)", async () => {
    const user = await newUser();
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.issuer });
    await openAccount(page, user.email);
    await page.getByRole("button", { name: "Create new backup codes" }).click();
    const codes = (await page.locator(".codes code").allTextContents()).map((code) => code.trim());
    expect(codes).toHaveLength(10);

    await page.getByRole("button", { name: "Copy the codes" }).click();
    await expect.poll(() => page.locator("[data-codes-status]").textContent()).toContain("The codes are copied.");
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    for (const code of codes) expect(copied).toContain(code);

    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Download as a text file" }).click()]);
    expect(download.suggestedFilename()).toBe("backup-codes-localhost.txt");
    const file = await readFile(await download.path(), "utf8");
    expect(file.trim().split("\n").slice(-10)).toEqual(codes);

    await page.evaluate(() => window.addEventListener("beforeprint", () => document.body.setAttribute("data-printing", "")));
    await page.getByRole("button", { name: "Print the codes" }).click();
    await expect.poll(() => page.locator("body[data-printing]").count()).toBe(1);
    // The print stylesheet: the codes, and nothing else of the page.
    await page.emulateMedia({ media: "print" });
    expect(await page.locator(".codes").isVisible()).toBe(true);
    for (const other of [page.locator("h1"), page.getByRole("link", { name: "Done" }), page.locator("[data-backup-code-actions]"), page.locator("form")]) {
      expect(await other.first().isVisible()).toBe(false);
    }
    await page.emulateMedia({ media: "screen" });
    expect(await page.locator("h1").isVisible()).toBe(true);
  });

  it("lists the sessions of two browsers and signs the other one out everywhere else; its refresh token stops working", async () => {
    const user = await newUser();
    const other = await openTestPage(browser, { userAgent: FIREFOX_WINDOWS, hideAutofill: true });
    try {
      const otherTokens = await signInToApp(other.page, user.email);
      await openAccount(page, user.email);
      const sessions = page.locator("li.session");
      await expect.poll(() => sessions.count()).toBe(2);
      expect(await sessions.first().textContent()).toContain("this device");
      expect(await sessions.nth(1).locator("strong").textContent()).toBe("Firefox on Windows");
      expect(await sessions.nth(1).textContent()).toMatch(/IP (127\.0\.0\.1|::1|::ffff:127\.0\.0\.1)/);

      await page.getByRole("button", { name: "Sign out everywhere else" }).click();
      await expect.poll(() => page.locator("[role=status]").textContent()).toContain("Every other session is signed out");
      expect(await sessions.count()).toBe(1);
      await expect(oidc.refreshTokenGrant(rp.config, otherTokens.refresh_token as string)).rejects.toMatchObject({ error: "invalid_grant" });
      // The other browser is signed out of the IdP too.
      await other.page.goto(`${server.issuer}/account`);
      await expect.poll(() => other.page.locator("#password").count()).toBe(1);
    } finally {
      await other.context.close();
    }
  });

  it("revokes a connected app: its refresh and access tokens stop working", async () => {
    const user = await newUser();
    const tokens = await signInToApp(page, user.email);
    await page.goto(`${server.issuer}/account`);
    await expect.poll(() => page.locator("li.app strong").textContent()).toBe("Test RP");
    await page.getByRole("button", { name: "Revoke access for Test RP" }).click();
    await expect.poll(() => page.locator("[role=status]").textContent()).toContain("Access for that app is revoked.");
    expect(await page.locator("li.app").count()).toBe(0);
    await expect(oidc.refreshTokenGrant(rp.config, tokens.refresh_token as string)).rejects.toMatchObject({ error: "invalid_grant" });
    const userinfo = await fetch(`${server.issuer}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(userinfo.status).toBe(401);
  });
});
