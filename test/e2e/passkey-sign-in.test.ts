import * as oidc from "openid-client";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  addVirtualAuthenticator,
  chromiumAvailable,
  hideAutofillSupport,
  launchChromium,
  openTestPage,
  type VirtualAuthenticator,
} from "../helpers/chromium.js";
import { mailsTo } from "../helpers/outbox.js";
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
    ({ context, page } = await openTestPage(browser));
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
    await hideAutofillSupport(context);
    const second = await authorizationRequest(rp);
    await page.goto(second.url.toString());
    await page.getByRole("button", { name: "Sign in with a passkey" }).click();
    const withPasskey = await approveAndRedeem(second);
    expect(withPasskey.claims()).toMatchObject({ sub: userId, acr: "urn:idp:acr:passkey", amr: ["hwk", "user"] });
    const used = await server.database.prisma.credential.findFirstOrThrow({ where: { userId } });
    expect(used.lastUsedAt).not.toBeNull();
  });

  it("creates a passkey without a dialog right after a password sign-in where the browser can (conditional create)", async () => {
    // Chromium's virtual authenticator has no password manager to create one silently: a stand-in
    // reports the capability and answers a conditional create with the virtual authenticator.
    const modes: string[] = [];
    await context.exposeFunction("recordCreateMode", (mode: string) => modes.push(mode));
    await context.addInitScript(() => {
      const record = (window as unknown as { recordCreateMode: (mode: string) => void }).recordCreateMode;
      Object.defineProperty(PublicKeyCredential, "getClientCapabilities", {
        configurable: true,
        value: () => Promise.resolve({ conditionalCreate: true, conditionalGet: true }),
      });
      const create = navigator.credentials.create.bind(navigator.credentials);
      navigator.credentials.create = (options?: CredentialCreationOptions & { mediation?: string }) => {
        record(options?.mediation ?? "modal");
        const { mediation: _conditional, ...rest } = options ?? {};
        return create(rest);
      };
    });
    const email = "automatic@example.com";
    const id = await createUser(server, email);
    const start = await authorizationRequest(rp);
    await page.goto(start.url.toString());
    await page.fill("#email", email);
    await page.fill("#password", PASSWORD);
    await page.locator('form[action$="/login"] button[type="submit"]').click();
    // No click on "Create a passkey": the page goes on to consent by itself.
    const tokens = await approveAndRedeem(start);
    expect(tokens.claims()).toMatchObject({ sub: id, amr: ["pwd"] });
    expect(modes).toEqual(["conditional"]);
    expect(await server.database.prisma.credential.count({ where: { userId: id } })).toBe(1);
    const events = await server.services.events.listForUser(id, 10);
    expect(events.map((event) => event.type)).toContain("passkey_offer.automatic");
    const [added] = await mailsTo(server, email);
    expect(added?.subject).toContain("Security change");
  });

  it("tells the password manager when its passkey is no longer registered here (Signal API, where the browser has it)", async () => {
    // Chromium may lack the Signal API: a stand-in records the calls the page makes.
    await context.addInitScript(() => {
      const calls: unknown[] = [];
      Object.assign(window, { signalCalls: calls });
      Object.defineProperty(PublicKeyCredential, "signalUnknownCredential", {
        configurable: true,
        value: (options: unknown) => {
          calls.push(options);
          return Promise.resolve();
        },
      });
    });
    const email = "signal@example.com";
    const id = await createUser(server, email);
    const first = await authorizationRequest(rp);
    await page.goto(first.url.toString());
    await page.fill("#email", email);
    await page.fill("#password", PASSWORD);
    await page.locator('form[action$="/login"] button[type="submit"]').click();
    await page.getByRole("button", { name: "Create a passkey" }).click();
    await approveAndRedeem(first);
    const [stored] = await server.database.prisma.credential.findMany({ where: { userId: id } });
    // An operator (or the account page elsewhere) removed it here; the authenticator still has it.
    await server.database.prisma.credential.deleteMany({ where: { userId: id } });

    await context.clearCookies();
    await hideAutofillSupport(context);
    await page.goto((await authorizationRequest(rp)).url.toString());
    await page.getByRole("button", { name: "Sign in with a passkey" }).click();
    await expect.poll(() => page.locator("#passkey-error").textContent()).toContain("This passkey is not registered here");
    expect(await page.evaluate(() => (window as unknown as { signalCalls: unknown[] }).signalCalls)).toEqual([{ rpId: "localhost", credentialId: stored?.id }]);
  });

  async function signUp(email: string) {
    const start = await authorizationRequest(rp);
    await page.goto(start.url.toString());
    await page.getByRole("link", { name: "Create an account" }).click();
    await page.fill("#email", email);
    await page.getByRole("button", { name: "Send the link" }).click();
    await expect.poll(() => page.locator("h1").textContent()).toBe("Check your email");
    const [mail] = await mailsTo(server, email);
    expect(mail?.link).toBeTruthy();
    // The person opens the mailed link in the same browser.
    await page.goto(mail?.link as string);
    await page.getByRole("button", { name: "Create a passkey" }).click();
    return approveAndRedeem(start);
  }

  it("signs up with the mailed link and a passkey; the relying party exchanges the code", async () => {
    const tokens = await signUp("newcomer@example.com");
    const user = await server.database.prisma.user.findUniqueOrThrow({ where: { email: "newcomer@example.com" }, include: { credentials: true } });
    expect(tokens.claims()).toMatchObject({ sub: user.id, acr: "urn:idp:acr:passkey", amr: ["hwk", "user"] });
    expect(user.emailVerified).toBe(true);
    expect(user.credentials).toHaveLength(1);
    expect(await authenticator.credentialCount()).toBe(1);
  });

  it("signs in through passkey autofill on the email field", async () => {
    await signUp("autofill@example.com");
    const user = await server.database.prisma.user.findUniqueOrThrow({ where: { email: "autofill@example.com" } });
    await context.clearCookies();
    const start = await authorizationRequest(rp);
    await page.goto(start.url.toString());
    // No button is pressed: the page's conditional (autofill) request is answered, as when a person
    // picks the passkey from the email field's suggestions (the virtual authenticator picks at once).
    const tokens = await approveAndRedeem(start);
    expect(tokens.claims()).toMatchObject({ sub: user.id, acr: "urn:idp:acr:passkey" });
  });

  it("signs in with a second passkey of the same account", async () => {
    await signUp("two-keys@example.com");
    const user = await server.database.prisma.user.findUniqueOrThrow({ where: { email: "two-keys@example.com" }, include: { credentials: true } });
    const first = user.credentials[0];
    // A second device holds the account's other passkey; the first device is gone.
    await authenticator.remove();
    const second = await addVirtualAuthenticator(context, page);
    const made = await second.addCredentialFor("localhost", user.id);
    await server.database.prisma.credential.create({
      data: {
        id: made.credentialId,
        userId: user.id,
        publicKey: new Uint8Array(made.publicKey),
        deviceType: "singleDevice",
        backupEligible: false,
        backedUp: false,
        aaguid: "00000000-0000-0000-0000-000000000000",
        name: "Second key",
      },
    });
    await context.clearCookies();
    await hideAutofillSupport(context);
    const start = await authorizationRequest(rp);
    await page.goto(start.url.toString());
    await page.getByRole("button", { name: "Sign in with a passkey" }).click();
    const tokens = await approveAndRedeem(start);
    expect(tokens.claims()).toMatchObject({ sub: user.id, acr: "urn:idp:acr:passkey" });
    const used = await server.database.prisma.credential.findUniqueOrThrow({ where: { id: made.credentialId } });
    expect(used.lastUsedAt).not.toBeNull();
    expect(used.counter).toBeGreaterThan(0n);
    const untouched = await server.database.prisma.credential.findUniqueOrThrow({ where: { id: first?.id as string } });
    expect(untouched.lastUsedAt).toEqual(first?.lastUsedAt);
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
