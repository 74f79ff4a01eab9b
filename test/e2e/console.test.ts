import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { addVirtualAuthenticator, chromiumAvailable, launchChromium, openTestPage, type VirtualAuthenticator } from "../helpers/chromium.js";
import { moveClock, restoreClock } from "../helpers/movable-clock.js";
import { createUser, PASSWORD } from "../helpers/relying-party.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

// Issue #14: the operators' console in a real browser, with the WebAuthn virtual authenticator.
describe.skipIf(!chromiumAvailable)("operators' console in Chromium", () => {
  let server: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let authenticator: VirtualAuthenticator;
  let counter = 0;

  beforeAll(async () => {
    server = await startTestServer("pglite", {}, { issuerHost: "localhost" });
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
  afterEach(() => restoreClock());

  const path = () => new URL(page.url()).pathname;

  /** A person whose passkey is in this browser's authenticator (as if made earlier). */
  async function personWithPasskey(role: "operator" | "user") {
    const email = `console-browser-${++counter}@example.com`;
    const id = await createUser(server, email);
    if (role === "operator") await server.services.userQueries.updateProfile(id, { role });
    const { credentialId, publicKey } = await authenticator.addCredentialFor("localhost", id);
    await server.services.credentials.insertCredential({
      id: credentialId,
      userId: id,
      publicKey: new Uint8Array(publicKey),
      counter: 0,
      transports: ["internal"],
      deviceType: "singleDevice",
      backupEligible: false,
      backedUp: false,
      aaguid: "00000000-0000-0000-0000-000000000000",
      name: "Virtual key",
    });
    return { id, email };
  }

  it("sends a password-only operator to set up a passkey first; then apps (secret once, canonical redirect URI, rotation), a group restricting an app, and the audit log naming the operator", async () => {
    const email = `console-password-${++counter}@example.com`;
    const id = await createUser(server, email);
    await server.services.userQueries.updateProfile(id, { role: "operator" });
    const member = await createUser(server, `console-member-${counter}@example.com`);

    await page.goto(`${server.issuer}/admin`);
    await page.fill("#email", email);
    await page.fill("#password", PASSWORD);
    await page.locator('form[action$="/login"] button[type="submit"]').click();
    // That sign-in only said who it is ("Not now" to the usual passkey offer). The console's minimum is a
    // passkey: "Confirm it's you" (what the user has, checked in this sign-in), then the enrolment step.
    await page.getByRole("button", { name: "Not now" }).click();
    await page.fill("#password", PASSWORD);
    await page.getByRole("button", { name: "Continue" }).click();
    await page.getByRole("button", { name: "Create a passkey" }).click();
    await page.waitForURL(`${server.issuer}/admin`);
    expect(await authenticator.credentialCount()).toBe(1);
    expect(await page.locator("main").textContent()).toContain(`Signed in as ${email} (operator)`);

    await page.getByRole("link", { name: "Apps" }).click();
    await page.getByRole("link", { name: "New app" }).click();
    await page.fill("#name", "Shop");
    await page.fill("#redirect_uris", "HTTPS://Shop.example.com/cb");
    await page.getByRole("button", { name: "Create the app" }).click();
    expect(await page.locator("#canonical code").textContent()).toBe("https://shop.example.com/cb");
    await page.fill("#redirect_uris", "https://shop.example.com/cb");
    await page.getByRole("button", { name: "Create the app" }).click();
    const secret = (await page.locator("#client-secret").textContent()) as string;
    const clientId = (await page.locator("#client-id").textContent()) as string;
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await page.getByRole("link", { name: "Back to Shop" }).click();
    expect(await page.content()).not.toContain(secret);
    await page.getByRole("button", { name: "Rotate the secret" }).click();
    const rotated = (await page.locator("#client-secret").textContent()) as string;
    expect(rotated).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(rotated).not.toBe(secret);

    await page.getByRole("link", { name: "Groups" }).click();
    await page.fill("#name", "buyers");
    await page.getByRole("button", { name: "Create the group" }).click();
    await page.getByRole("link", { name: "buyers" }).click();
    await page.fill("#member-email", `console-member-${counter}@example.com`);
    await page.getByRole("button", { name: "Add to buyers" }).click();
    expect(await page.locator("#members").textContent()).toContain(`console-member-${counter}@example.com`);
    await page.goto(`${server.issuer}/admin/apps/${clientId}`);
    await page.fill("#allowed_groups", "buyers");
    await page.getByRole("button", { name: "Save" }).click();
    expect(await page.getByRole("status").textContent()).toBe("The app was saved.");
    expect((await server.services.clients.show(clientId)).allowed_groups).toEqual(["buyers"]);
    expect((await server.services.groups.show("buyers")).members.map((m) => m.id)).toEqual([member]);

    // Someone outside the group who signs in to Shop is refused by it.
    const outsider = `console-outsider-${counter}@example.com`;
    await createUser(server, outsider);
    const elsewhere = await browser.newContext();
    const outsiderPage = await elsewhere.newPage();
    const query = new URLSearchParams({
      client_id: clientId,
      response_type: "code",
      redirect_uri: "https://shop.example.com/cb",
      scope: "openid",
      code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
      code_challenge_method: "S256",
    });
    await outsiderPage.goto(`${server.issuer}/auth?${query}`);
    await outsiderPage.fill("#email", outsider);
    await outsiderPage.fill("#password", PASSWORD);
    await outsiderPage.locator('form[action$="/login"] button[type="submit"]').click();
    await outsiderPage.getByRole("button", { name: "Not now" }).click();
    expect(await outsiderPage.getByRole("alert").textContent()).toBe("You don't have access to Shop. Ask your administrator.");
    await elsewhere.close();

    await page.getByRole("link", { name: "Audit log" }).click();
    const rows = await page
      .locator("#audit tr")
      .evaluateAll((trs) => trs.map((tr) => Array.from((tr as HTMLTableRowElement).cells, (cell) => cell.textContent)));
    const mine = rows.filter((cells) => cells[3] === `operator:${id} (${email})`);
    expect(mine.map((cells) => cells[1])).toEqual(["client.updated", "group.member_added", "group.created", "client.secret_rotated", "client.created"]);
  });

  it("signs an operator in with a passkey, and sends a stale verification to confirm again with it, back to the form", async () => {
    const operator = await personWithPasskey("operator");
    const app = await server.services.clients.create({ name: "Stale app", redirectUris: ["https://stale.example.com/cb"] });
    await page.goto(`${server.issuer}/admin/apps/${app.client_id}`);
    await page.getByRole("button", { name: "Sign in with a passkey" }).click();
    await page.waitForURL(`${server.issuer}/admin/apps/${app.client_id}`);
    expect(await page.locator("main").textContent()).toContain(`Signed in as ${operator.email}`);

    moveClock(server.config.account.reverifySeconds + 5);
    await page.getByRole("button", { name: "Rotate the secret" }).click();
    await page.getByRole("button", { name: "Confirm with your passkey" }).click();
    await page.waitForURL(`${server.issuer}/admin/apps/${app.client_id}`);
    expect(await server.services.audit.query({ targetId: app.client_id, limit: 5 })).toEqual([]);
    await page.getByRole("button", { name: "Rotate the secret" }).click();
    expect(await page.locator("#client-secret").textContent()).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("answers someone who is no operator with a friendly 403 page after their passkey sign-in", async () => {
    await personWithPasskey("user");
    const answer = page.waitForResponse(
      (response) => new URL(response.url()).pathname === "/admin" && response.request().method() === "GET" && response.status() !== 303,
    );
    await page.goto(`${server.issuer}/admin`);
    await page.getByRole("button", { name: "Sign in with a passkey" }).click();
    expect((await answer).status()).toBe(403);
    await page.waitForURL(`${server.issuer}/admin`);
    expect(path()).toBe("/admin");
    expect(await page.getByRole("alert").textContent()).toBe("The console is for operators. Your account is not one.");
  });
});
