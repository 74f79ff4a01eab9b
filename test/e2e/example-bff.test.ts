import type { Server } from "node:http";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createBff } from "../../examples/bff/bff.js";
import { chromiumAvailable, hideAutofillSupport, launchChromium, signInWithPassword } from "../helpers/chromium.js";
import { createUser, PASSWORD } from "../helpers/relying-party.js";
import { freePort, startTestServer, type TestServer } from "../helpers/test-server.js";

// Issue #5: the example relying party in examples/bff (Koa, openid-client, tokens server-side)
// against the real IdP, driven end to end in Chromium.
describe.skipIf(!chromiumAvailable)("example backend-for-frontend", () => {
  let server: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let bff: Awaited<ReturnType<typeof createBff>>;
  let bffServer: Server;
  let baseUrl: string;
  const email = "bff-user@example.com";

  beforeAll(async () => {
    server = await startTestServer("pglite", {}, { issuerHost: "localhost" });
    await createUser(server, email);
    const port = await freePort();
    baseUrl = `http://localhost:${port}`;
    const client = await server.services.clients.create({
      name: "Example app (BFF)",
      redirectUris: [`${baseUrl}/callback`],
      postLogoutRedirectUris: [`${baseUrl}/`],
      backchannelLogoutUri: `${baseUrl}/backchannel-logout`,
    });
    bff = await createBff({ issuer: server.issuer, clientId: client.client_id, clientSecret: client.client_secret as string, baseUrl });
    bffServer = await new Promise<Server>((resolve) => {
      const listening = bff.app.listen(port, "127.0.0.1", () => resolve(listening));
    });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (bffServer ? bffServer.close(() => resolve()) : resolve()));
    await server?.stop();
  });
  beforeEach(async () => {
    bff.sessions.clear();
    await context?.close();
    context = await browser.newContext();
    await hideAutofillSupport(context);
    page = await context.newPage();
  });

  async function signIn() {
    await page.goto(baseUrl);
    await page.getByRole("link", { name: "Sign in" }).click();
    await signInWithPassword(page, email, PASSWORD);
    const allow = page.getByRole("button", { name: "Allow" });
    await page.waitForURL((url) => url.toString().startsWith(baseUrl) || url.pathname.endsWith("/consent") || url.pathname.startsWith("/interaction/"));
    if (!page.url().startsWith(baseUrl)) await allow.click();
    await page.waitForURL(`${baseUrl}/`);
  }

  it("signs in with code + PKCE, keeps every token on the server, and serves the profile through it", async () => {
    await signIn();
    expect(await page.locator("#user").textContent()).toBe(email);

    // The browser holds one opaque, HttpOnly session cookie for the app; no token reaches it.
    const cookies = await context.cookies(baseUrl);
    const appCookies = cookies.filter((cookie) => cookie.domain === "localhost" && cookie.name.startsWith("bff_"));
    expect(appCookies.map((cookie) => cookie.name)).toEqual(["bff_session"]);
    expect(appCookies[0]?.httpOnly).toBe(true);
    expect(appCookies[0]?.sameSite).toBe("Lax");
    const [session] = [...bff.sessions.values()];
    if (!session) throw new Error("the app should hold a session");
    const everythingTheBrowserHas = JSON.stringify(cookies) + (await page.content());
    for (const token of [session.accessToken, session.idToken, session.refreshToken as string]) expect(everythingTheBrowserHas).not.toContain(token);

    await page.goto(`${baseUrl}/me`);
    expect(JSON.parse((await page.locator("body").textContent()) as string)).toMatchObject({ email, sub: session.sub });
  });

  it("signs out at the app and at the IdP (RP-initiated logout back to the app)", async () => {
    await signIn();
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(`${baseUrl}/`);
    expect(await page.locator("main").textContent()).toContain("You are signed out.");
    expect(bff.sessions.size).toBe(0);
    // The IdP session is gone too: signing in again asks for credentials.
    await page.getByRole("link", { name: "Sign in" }).click();
    await expect.poll(() => page.locator("#password").count()).toBe(1);
  });

  it("ends the app's session when the user signs out at the IdP (back-channel logout)", async () => {
    await signIn();
    expect(bff.sessions.size).toBe(1);
    await page.goto(`${server.issuer}/session/end`);
    await page.getByRole("button", { name: "Sign out" }).click();
    await expect.poll(() => bff.sessions.size, { timeout: 10_000 }).toBe(0);
    await page.goto(baseUrl);
    expect(await page.locator("main").textContent()).toContain("You are signed out.");
  });

  it("refuses a callback it did not start, and a logout token it cannot verify", async () => {
    const callback = await fetch(`${baseUrl}/callback?code=forged&state=forged`);
    expect(callback.status).toBe(400);
    const forged = await fetch(`${baseUrl}/backchannel-logout`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ logout_token: "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0." }),
    });
    expect(forged.status).toBe(400);
  });
});
