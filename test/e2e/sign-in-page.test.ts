import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addVirtualAuthenticator, chromiumAvailable, launchChromium, openTestPage } from "../helpers/chromium.js";
import { authorizationRequest, createUser, PASSWORD, type RelyingParty, RP_CALLBACK, registerRelyingParty } from "../helpers/relying-party.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

// Issue #15 item 2: no error before the user acts, and the passkey button only where passkeys can work.
describe.skipIf(!chromiumAvailable)("the sign-in page in Chromium", () => {
  let server: TestServer;
  let rp: RelyingParty;
  let browser: Browser;

  beforeAll(async () => {
    server = await startTestServer("pglite", {}, { issuerHost: "localhost" });
    rp = await registerRelyingParty(server, { firstParty: true });
    await createUser(server, "page@example.com");
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it("shows no error on first load while passkey autofill waits, and the passkey button", async () => {
    const { context, page } = await openTestPage(browser);
    await addVirtualAuthenticator(context, page);
    // The page asks for the autofill request's options as it loads; once they are back, the browser holds the request (or refused it): neither is the user's doing.
    const autofillOptions = page.waitForResponse((response) => response.url().endsWith("/passkey/authenticate/options"));
    await page.goto((await authorizationRequest(rp)).url.toString());
    await autofillOptions;
    await page.waitForLoadState("networkidle");
    expect(await page.locator(".error:visible").count()).toBe(0);
    expect(await page.getByRole("button", { name: "Sign in with a passkey" }).isVisible()).toBe(true);
    await context.close();
  });

  it("without JavaScript shows no passkey button, and the password path signs in", async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.route(`${RP_CALLBACK}**`, (route) => route.fulfill({ status: 200, contentType: "text/plain", body: "relying party" }));
    await page.goto((await authorizationRequest(rp, { scope: "openid" })).url.toString());
    expect(await page.getByRole("button", { name: "Sign in with a passkey" }).isVisible()).toBe(false);
    expect(await page.getByText("or use your password").isVisible()).toBe(false);
    await page.getByLabel("Email").fill("page@example.com");
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    const notNow = page.getByRole("button", { name: "Not now" });
    if (await notNow.isVisible()) await notNow.click();
    await page.waitForURL((url) => url.toString().startsWith(RP_CALLBACK));
    expect(new URL(page.url()).searchParams.get("code")).toBeTruthy();
    await context.close();
  });
});

// Issue #15 item 1: no page scrolls sideways, on a small phone, a phone or a laptop.
describe.skipIf(!chromiumAvailable)("pages fit the screen", () => {
  let server: TestServer;
  let rp: RelyingParty;
  let browser: Browser;

  beforeAll(async () => {
    server = await startTestServer("pglite", {}, { issuerHost: "localhost" });
    rp = await registerRelyingParty(server);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it("at 320, 390 and 1280 px wide: sign-in, sign-up, recovery, an error page and a missing page", async () => {
    const signIn = (await authorizationRequest(rp)).url.toString();
    const pages: [string, (page: import("playwright-core").Page) => Promise<void>][] = [
      ["sign-in", async (page) => void (await page.goto(signIn))],
      [
        "sign-up",
        async (page) => {
          await page.goto(signIn);
          await page.getByRole("link", { name: "Create an account" }).click();
        },
      ],
      [
        "recovery",
        async (page) => {
          await page.goto(signIn);
          await page.getByRole("link", { name: "Lost your passkey?" }).click();
        },
      ],
      ["unknown client", async (page) => void (await page.goto(`${server.issuer}/auth?client_id=${"x".repeat(80)}&response_type=code&scope=openid`))],
      ["missing page", async (page) => void (await page.goto(`${server.issuer}/no/such/page`))],
    ];
    const overflowing: string[] = [];
    for (const width of [320, 390, 1280]) {
      const context = await browser.newContext({ viewport: { width, height: 800 } });
      const page = await context.newPage();
      for (const [name, open] of pages) {
        await open(page);
        const { scrollWidth, innerWidth } = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth }));
        if (scrollWidth > innerWidth) overflowing.push(`${name} at ${width}px: ${scrollWidth}px wide`);
      }
      await context.close();
    }
    expect(overflowing).toEqual([]);
  });
});
