import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrowserSession } from "../helpers/browser-session.js";
import { authorizationRequest, type RelyingParty, registerRelyingParty } from "../helpers/relying-party.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

// Issue #15: pages speak the language the app asks for (ui_locales), else the browser's, else the default.
describe("languages", () => {
  let server: TestServer;
  let rp: RelyingParty;

  beforeAll(async () => {
    server = await startTestServer("pglite");
    rp = await registerRelyingParty(server);
  });
  afterAll(() => server?.stop());

  async function loginPage(extra: Record<string, string>, acceptLanguage?: string) {
    const browser = new BrowserSession();
    browser.acceptLanguage = acceptLanguage;
    const page = await browser.follow((await authorizationRequest(rp, extra)).url.toString(), server.issuer);
    return { browser, page };
  }

  it("offers English, German and French in discovery", async () => {
    const discovery = (await (await fetch(`${server.issuer}/.well-known/openid-configuration`)).json()) as { ui_locales_supported: string[] };
    expect(discovery.ui_locales_supported).toEqual(["en", "de", "fr"]);
  });

  it("ui_locales=de gives a German sign-in page, on every page of that sign-in, whatever the browser accepts", async () => {
    const { browser, page } = await loginPage({ ui_locales: "it de-CH" }, "fr");
    expect(page.text).toContain('<html lang="de">');
    expect(page.text).toContain("Mit einem Passkey anmelden");
    expect(page.text).toContain("Auf diesem Gerät angemeldet bleiben");
    const wrong = await browser.postForm(page.url.replace(/\/?$/, "/login"), {
      _csrf: /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1] ?? "",
      email: "nobody@example.com",
      password: "wrong",
    });
    expect(wrong.status).toBe(400);
    expect(wrong.text).toContain("Diese E-Mail-Adresse und dieses Passwort passen zu keinem Konto.");
  });

  it("Accept-Language: fr gives a French page; an unknown language the default", async () => {
    const french = await loginPage({}, "fr-CA,fr;q=0.9,en;q=0.5");
    expect(french.page.text).toContain('<html lang="fr">');
    expect(french.page.text).toContain("Se connecter avec une clé d'accès".replace("'", "&#39;"));
    const other = await loginPage({}, "ja");
    expect(other.page.text).toContain('<html lang="en">');
    expect(other.page.text).toContain("Sign in with a passkey");
  });

  it("a refusal without a catalog text is still said in the reader's language, its detail in English", async () => {
    const response = await fetch(`${server.issuer}/account?x=%00`, { headers: { accept: "text/html", "accept-language": "de" } });
    expect(response.status).toBe(400);
    const page = await response.text();
    expect(page).toContain('<html lang="de">');
    expect(page).toContain("Die Anfrage wurde abgelehnt. Auf Englisch: The request");
    const english = await (await fetch(`${server.issuer}/account?x=%00`, { headers: { accept: "text/html" } })).text();
    expect(english).not.toContain("The request was refused:");
  });

  it("takes hostile ui_locales and Accept-Language as no preference, never a 500", async () => {
    for (const ui_locales of ["de\r\nX-Injected: 1", `de${"-x".repeat(30_000)}`, "\u0000de"]) {
      const { page } = await loginPage({ ui_locales });
      expect(page.status, ui_locales.slice(0, 20)).toBeLessThan(500);
      if (page.status === 200) expect(page.text).toContain('<html lang="en">');
    }
    for (const acceptLanguage of ["de;q=garbage,fr;q=0.1", Array.from({ length: 500 }, (_, i) => `x${i};q=0.${i % 10}`).join(",")]) {
      const { page } = await loginPage({}, acceptLanguage);
      expect(page.status).toBe(200);
      expect(page.text).toMatch(/<html lang="(en|de|fr)">/);
    }
  });

  it("error pages speak the browser's language too", async () => {
    const response = await fetch(`${server.issuer}/interaction/nope/login`, { method: "POST", headers: { accept: "text/html", "accept-language": "de" } });
    expect(response.headers.get("content-type")).toContain("text/html");
    expect(await response.text()).toContain('<html lang="de">');
  });
});

describe("languages an operator restricts", () => {
  let server: TestServer;
  let rp: RelyingParty;

  beforeAll(async () => {
    server = await startTestServer("pglite", { languages: { offered: ["fr", "en"], default: "fr" } });
    rp = await registerRelyingParty(server);
  });
  afterAll(() => server?.stop());

  it("offers only those, and falls back to the default", async () => {
    const discovery = (await (await fetch(`${server.issuer}/.well-known/openid-configuration`)).json()) as { ui_locales_supported: string[] };
    expect(discovery.ui_locales_supported).toEqual(["fr", "en"]);
    const browser = new BrowserSession();
    browser.acceptLanguage = "de";
    const page = await browser.follow((await authorizationRequest(rp)).url.toString(), server.issuer);
    expect(page.text).toContain('<html lang="fr">');
  });
});
