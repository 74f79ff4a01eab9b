import axe from "axe-core";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumAvailable, hideAutofillSupport, launchChromium } from "../helpers/chromium.js";
import { pageProblems } from "../helpers/page-problems.js";
import { authorizationRequest, createUser, PASSWORD, type RelyingParty, RP_CALLBACK, registerRelyingParty } from "../helpers/relying-party.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

// Issue #15: German and French run longer than English. The pages people meet most, in both,
// fit a small phone and a phone without scrolling sideways, and axe-core finds nothing (the
// walk in English through every page is test/e2e/every-page.test.ts).
describe.skipIf(!chromiumAvailable)("pages in German and French in Chromium", () => {
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

  it.each([
    ["de", "Bei Test RP anmelden"],
    ["fr", "Se connecter à Test RP"],
  ])("in %s: no page scrolls sideways at 320 or 390 px, and axe-core reports nothing", async (language, signIn) => {
    const context = await browser.newContext({ locale: language, viewport: { width: 390, height: 800 } });
    context.setDefaultTimeout(10_000);
    await hideAutofillSupport(context);
    const page: Page = await context.newPage();
    await page.route(`${RP_CALLBACK}**`, (route) => route.fulfill({ status: 200, contentType: "text/plain", body: "relying party" }));
    const problems: string[] = [];
    const seen: string[] = [];
    const check = async (name: string, ready: string) => {
      await page.locator(ready).first().waitFor({ state: "attached" });
      await page.waitForLoadState("load");
      expect(await page.getAttribute("html", "lang"), name).toBe(language);
      seen.push(`${name}: ${await page.locator("h1").textContent()}`);
      await page.evaluate(axe.source);
      for (const width of [320, 390]) {
        await page.setViewportSize({ width, height: 800 });
        problems.push(...(await pageProblems(page, `${language} ${name} at ${width} px`)));
      }
    };
    const submit = (form: string) => page.locator(`form[action$='${form}'] button[type=submit]`).first().click();
    const email = `${language}@example.com`;
    await createUser(server, email);

    await page.goto((await authorizationRequest(rp)).url.toString());
    await check("sign-in", "form[action$='/login']");
    await page.fill("#email", email);
    await page.fill("#password", "not the password");
    await submit("/login");
    await check("sign-in, wrong password", ".error");
    await page.locator("a[href$='/signup']").click();
    await check("sign-up", "form[action$='/signup']");
    await page.fill("#email", `new-${email}`);
    await submit("/signup");
    await check("sign-up, mail sent", "[role=status]");
    await page.goto((await authorizationRequest(rp)).url.toString());
    await page.locator("a[href$='/recover']").click();
    await check("recovery request", "form[action$='/recover']");
    await page.goto((await authorizationRequest(rp)).url.toString());
    await page.fill("#email", email);
    await page.fill("#password", PASSWORD);
    await submit("/login");
    await check("passkey offer", "form[action$='/passkey/skip']");
    await submit("/passkey/skip");
    await check("consent", "form[action$='/consent']");
    await submit("/consent");
    await page.waitForURL((url) => url.toString().startsWith(RP_CALLBACK));

    await page.goto(`${server.issuer}/account`);
    await check("account page", "#password");
    await submit("/account/passkeys/add");
    await check("add a passkey", "[data-passkey]");
    await page.goto(`${server.issuer}/account`);
    await submit("/account/security/totp");
    await check("authenticator app set-up", "#totp-secret");
    await page.goto(`${server.issuer}/account`);
    await submit("/account/password/set");
    await check("change the password", "input[autocomplete=new-password]");
    await page.goto(`${server.issuer}/account`);
    await submit("/account/security/backup-codes");
    await check("backup codes", "[data-backup-codes]");
    await page.goto(`${server.issuer}/no-such-page`);
    await check("not found", "h1");
    await page.goto((await authorizationRequest({ ...rp, clientId: "no-such-app" })).url.toString().replace(rp.clientId, "no-such-app"));
    await check("unknown app", "details");
    await page.goto(`${server.issuer}/session/end`);
    await check("sign out", "form");

    await context.close();
    expect(seen[0]).toContain(signIn);
    expect(problems).toEqual([]);
  });
});
