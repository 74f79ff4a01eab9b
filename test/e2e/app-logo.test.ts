import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumAvailable, launchChromium, openTestPage } from "../helpers/chromium.js";
import { authorizationRequest, registerRelyingParty } from "../helpers/relying-party.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==", "base64");

// Issue #14: the sign-in page's CSP lets the app's logo load from its own origin, and only from there.
describe.skipIf(!chromiumAvailable)("an app's logo in Chromium", () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    server = await startTestServer("pglite", {}, { issuerHost: "localhost" });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it("loads the registered https logo under the page's CSP, and blocks an image from any other origin", async () => {
    const rp = await registerRelyingParty(server);
    await server.services.clients.update(rp.clientId, { logoUri: "https://cdn.example.com/brand/logo.png" });
    const { context, page } = await openTestPage(browser);
    const fetched: string[] = [];
    // The network is Playwright's: both hosts answer with a real PNG, so only the CSP can stop one.
    for (const host of ["https://cdn.example.com", "https://elsewhere.example.net"]) {
      await page.route(`${host}/**`, (route) => {
        fetched.push(route.request().url());
        return route.fulfill({ status: 200, contentType: "image/png", body: PNG });
      });
    }
    const start = await authorizationRequest(rp);
    await page.goto(start.url.toString());
    const logo = page.locator("img.app-logo");
    await expect.poll(() => logo.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(1);
    expect(await logo.getAttribute("alt")).toBe("Test RP logo");

    const blocked = await page.evaluate(
      () =>
        new Promise<string>((done) => {
          document.addEventListener("securitypolicyviolation", (event) => done(`${event.violatedDirective} ${event.blockedURI}`));
          const img = document.createElement("img");
          img.onload = () => done("loaded");
          img.src = "https://elsewhere.example.net/tracker.png";
          document.body.append(img);
        }),
    );
    expect(blocked).toBe("img-src https://elsewhere.example.net/tracker.png");
    expect(fetched).toEqual(["https://cdn.example.com/brand/logo.png"]);
    await context.close();
  });
});
