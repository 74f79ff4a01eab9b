import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as oidc from "openid-client";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../src/paths.js";
import { chromiumAvailable, launchChromium } from "../helpers/chromium.js";
import { authorizationRequest, type RelyingParty, RP_CALLBACK } from "../helpers/relying-party.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

// `npm run screenshots` (SCREENSHOTS=update) writes the README's picture to docs/; every other run
// makes the same picture in a temporary directory, so the script cannot rot unnoticed.
const target = process.env.SCREENSHOTS === "update" ? join(PROJECT_ROOT, "docs") : mkdtempSync(join(tmpdir(), "idp-screenshots-"));

const LOGO = `<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#0f766e"/><path d="M9 17l5 5 9-11" stroke="#fff" stroke-width="3.5" fill="none" stroke-linecap="round" stroke-linejoin="round"/></svg>`;

describe.skipIf(!chromiumAvailable)("the README's screenshot of the sign-in page", () => {
  let server: TestServer;
  let rp: RelyingParty;
  let browser: Browser;

  beforeAll(async () => {
    const logo = join(mkdtempSync(join(tmpdir(), "idp-logo-")), "logo.svg");
    writeFileSync(logo, LOGO);
    server = await startTestServer("pglite", { branding: { siteName: "Example Corp", logo, accentColor: "#0f766e" } }, { issuerHost: "localhost" });
    const client = await server.services.clients.create({ name: "Team Wiki", redirectUris: [RP_CALLBACK] });
    const config = await oidc.discovery(new URL(server.issuer), client.client_id, undefined, oidc.ClientSecretBasic(client.client_secret), {
      execute: [oidc.allowInsecureRequests],
    });
    rp = { clientId: client.client_id, clientSecret: client.client_secret, config };
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  async function signInPage(viewport: { width: number; height: number }, extra: Record<string, string>, colorScheme: "light" | "dark") {
    const context = await browser.newContext({ viewport, colorScheme, locale: "en-US" });
    const page = await context.newPage();
    await page.goto((await authorizationRequest(rp, extra)).url.toString(), { waitUntil: "load" });
    const shot = await page.screenshot();
    const text = await page.locator("main").innerText();
    await context.close();
    return { shot, text };
  }

  it("shows the brand and the app, in English on a desktop and in German on a phone", async () => {
    const desktop = await signInPage({ width: 1280, height: 800 }, {}, "light");
    const phone = await signInPage({ width: 390, height: 844 }, { ui_locales: "de" }, "dark");
    expect(desktop.text).toContain("Example Corp");
    expect(desktop.text).toContain("Sign in to Team Wiki");
    expect(phone.text).toContain("Bei Team Wiki anmelden");

    // Both side by side, composed by the browser itself (no image library).
    const context = await browser.newContext({ viewport: { width: 1720, height: 844 }, deviceScaleFactor: 1 });
    const page = await context.newPage();
    const img = (png: Buffer, width: number) => `<img src="data:image/png;base64,${png.toString("base64")}" width="${width}" style="border:1px solid #ccc">`;
    await page.setContent(
      `<body style="margin:0;padding:0 10px;display:flex;gap:20px;align-items:flex-start;background:#fff">${img(desktop.shot, 1280)}${img(phone.shot, 390)}</body>`,
      { waitUntil: "load" },
    );
    const path = join(target, "sign-in.png");
    await page.screenshot({ path, fullPage: true });
    await context.close();
    expect(path.endsWith("sign-in.png")).toBe(true);
  });
});
