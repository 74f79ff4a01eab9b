import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrowserSession, csrfTokenOf, formActionOf, type PageResponse } from "../helpers/browser-session.js";
import { authorizationRequest, createUser, PASSWORD, type RelyingParty, RP_CALLBACK, registerRelyingParty, signIn } from "../helpers/relying-party.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { enrolTotp } from "../helpers/totp.js";

/** The page's text as a reader sees it: Eta and i18next escape apostrophes and quotes. */
const readable = (html: string) =>
  html
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, "&");

// Issue #15: every page of the sign-in journey speaks the language the app asked for (ui_locales) or the browser's.
describe("the sign-in journey in German and French", () => {
  let server: TestServer;
  let rp: RelyingParty;
  let counter = 0;

  beforeAll(async () => {
    server = await startTestServer("pglite");
    rp = await registerRelyingParty(server);
  });
  afterAll(() => server?.stop());

  async function newUser() {
    const email = `sprache-${++counter}@example.com`;
    return { email, id: await createUser(server, email) };
  }

  /** The sign-in page of an authorization asking for German, in a browser that prefers French. */
  async function germanSignIn(): Promise<{ browser: BrowserSession; page: PageResponse }> {
    const browser = new BrowserSession();
    browser.acceptLanguage = "fr";
    const page = await browser.follow((await authorizationRequest(rp, { ui_locales: "de" })).url.toString(), server.issuer);
    return { browser, page };
  }

  async function submit(browser: BrowserSession, page: PageResponse, pathEnd: string, fields: Record<string, string> = {}) {
    const action = new URL(formActionOf(page.text, pathEnd), server.issuer).toString();
    const posted = await browser.postForm(action, { _csrf: csrfTokenOf(page.text), ...fields });
    return browser.follow(action, server.issuer, posted);
  }

  it("the sign-in page and a wrong password", async () => {
    const { browser, page } = await germanSignIn();
    expect(page.text).toContain('<html lang="de">');
    expect(page.text).toContain("<title>Bei Test RP anmelden</title>");
    expect(page.text).toContain('data-msg-closed="Die Passkey-Abfrage wurde geschlossen – bitte erneut versuchen."');
    const wrong = await submit(browser, page, "/login", { email: "niemand@example.com", password: "falsch" });
    expect(wrong.status).toBe(400);
    expect(wrong.text).toContain('<html lang="de">');
    expect(wrong.text).toContain("Diese E-Mail-Adresse und dieses Passwort passen zu keinem Konto.");
  });

  it("the second-factor page, and a wrong code on it", async () => {
    const user = await newUser();
    await enrolTotp(server, user);
    const { browser, page } = await germanSignIn();
    const secondFactor = await submit(browser, page, "/login", { email: user.email, password: PASSWORD });
    expect(secondFactor.text).toContain('<html lang="de">');
    expect(secondFactor.text).toContain("<title>Bestätigen Sie, dass Sie es sind</title>");
    expect(secondFactor.text).toContain("Noch ein Schritt, um Ihr Konto zu schützen.");
    expect(secondFactor.text).toContain("Code aus Ihrer Authenticator-App oder ein Backup-Code");
    const wrong = await submit(browser, secondFactor, "/mfa", { code: "000000" });
    expect(wrong.status).toBe(400);
    expect(wrong.text).toContain("Dieser Code ist ungültig. Prüfen Sie ihn und versuchen Sie es erneut, oder wählen Sie einen anderen Weg.");
  });

  it("the passkey offer, then consent with the scopes in German", async () => {
    const user = await newUser();
    const { browser, page } = await germanSignIn();
    const offer = await submit(browser, page, "/login", { email: user.email, password: PASSWORD });
    expect(offer.text).toContain("<title>Passkey erstellen</title>");
    expect(offer.text).toContain("Nicht jetzt");
    expect(offer.text).toContain('data-msg-failed="Der Passkey konnte nicht verwendet werden. Bitte erneut versuchen."');
    const consent = await submit(browser, offer, "/passkey/skip");
    expect(consent.text).toContain('<html lang="de">');
    expect(consent.text).toContain("<title>Zugriff erlauben</title>");
    expect(consent.text).toContain("<strong>Test RP</strong> möchte:");
    expect(consent.text).toContain("<li>Ihre E-Mail-Adresse sehen</li>");
    expect(consent.text).toContain("<li>Ihren Namen und Benutzernamen sehen</li>");
    expect(consent.text).toContain(">Erlauben</button>");
    expect(consent.text).toContain(">Ablehnen</button>");
    const done = await submit(browser, consent, "/consent");
    expect(done.location?.startsWith(RP_CALLBACK)).toBe(true);
  });

  it("“Confirm it's you” when the app asks for a fresh sign-in", async () => {
    const user = await newUser();
    const { browser } = await signIn(server, rp, new BrowserSession(), {}, user.email);
    const page = await browser.follow((await authorizationRequest(rp, { prompt: "login", ui_locales: "de" })).url.toString(), server.issuer);
    expect(page.text).toContain('<html lang="de">');
    expect(page.text).toContain(`Die App bittet Sie zu bestätigen, dass Sie es sind, <strong>${user.email}</strong>.`);
    expect(page.text).toContain("Anderes Konto verwenden");
  });

  it("the sign-up form and its “check your email” page", async () => {
    const { browser, page } = await germanSignIn();
    const path = page.text.match(/href="(\/interaction\/[^"]+\/signup)"/)?.[1];
    const form = await browser.get(`${server.issuer}${path}`);
    expect(form.text).toContain('<html lang="de">');
    expect(form.text).toContain("<title>Konto erstellen</title>");
    expect(form.text).toContain("Ich habe bereits ein Konto");
    const sent = await submit(browser, form, "/signup", { email: "neu@example.com" });
    expect(sent.text).toContain("<title>Prüfen Sie Ihre E-Mails</title>");
    expect(sent.text).toMatch(/Wir haben eine E-Mail an <strong>neu@example.com<\/strong> gesendet\. Öffnen Sie den Link darin innerhalb von \d+ Minuten/);
    expect(sent.text).toContain("E-Mail erneut senden");
  });

  it("the recovery request page and its answer", async () => {
    const { browser, page } = await germanSignIn();
    const path = page.text.match(/href="(\/interaction\/[^"]+\/recover)"/)?.[1];
    const form = await browser.get(`${server.issuer}${path}`);
    expect(form.text).toContain('<html lang="de">');
    expect(form.text).toContain("<title>Konto wiederherstellen</title>");
    expect(form.text).toContain("Geben Sie die E-Mail-Adresse Ihres Kontos ein.");
    const sent = await submit(browser, form, "/recover", { email: "verloren@example.com" });
    expect(sent.text).toMatch(/Falls <strong>verloren@example.com<\/strong> hier ein Konto hat, haben wir einen Link zur Wiederherstellung/);
    expect(sent.text).toContain("Zurück zur Anmeldung");
  });

  it("a passkey endpoint's JSON error", async () => {
    const { browser, page } = await germanSignIn();
    const response = await browser.postJson(`${page.url}/passkey/authenticate/verify`, csrfTokenOf(page.text), { id: "AAAA" });
    expect(response.status).toBe(400);
    expect(JSON.parse(response.text)).toEqual({
      error: "passkey.challenge_expired",
      error_description: "Diese Passkey-Abfrage ist abgelaufen. Bitte erneut versuchen.",
    });
  });

  it("refused requests: a form without its CSRF token, a body too large", async () => {
    const { browser, page } = await germanSignIn();
    // Refused before the interaction (and its ui_locales) is read: the browser's language.
    browser.acceptLanguage = "de";
    const noToken = await browser.postForm(new URL(formActionOf(page.text, "/login"), server.issuer).toString(), { email: "a@example.com" });
    expect(noToken.status).toBe(403);
    expect(noToken.text).toContain("Dieses Formular ist abgelaufen. Gehen Sie zurück, laden Sie die Seite neu und versuchen Sie es erneut.");
    const tooLarge = await browser.postForm(`${page.url}/login`, { _csrf: csrfTokenOf(page.text), email: "x".repeat(200_000) });
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.text).toContain("Der Inhalt der Anfrage ist zu groß.");
  });

  it("an OAuth error page (unknown app) in the browser's French", async () => {
    const browser = new BrowserSession();
    browser.acceptLanguage = "fr-FR,fr;q=0.9";
    const query = new URLSearchParams({ client_id: "inconnue", response_type: "code", scope: "openid", redirect_uri: RP_CALLBACK });
    const page = await browser.get(`${server.issuer}/auth?${query}`);
    expect(page.status).toBe(400);
    expect(page.text).toContain('<html lang="fr">');
    expect(readable(page.text)).toContain("Cette application n'est pas connue ici");
    expect(readable(page.text)).toContain("L'application qui vous a envoyé ici n'est pas enregistrée auprès de ce service de connexion.");
    expect(readable(page.text)).toContain("Détails pour les développeurs de l'application");
  });

  it("the 404 page and its JSON in French", async () => {
    const headers = { "accept-language": "fr" };
    const page = await fetch(`${server.issuer}/nulle/part`, { headers: { ...headers, accept: "text/html" } });
    expect(page.status).toBe(404);
    const html = readable(await page.text());
    expect(html).toContain('<html lang="fr">');
    expect(html).toContain("<title>Page introuvable</title>");
    expect(html).toContain("Il n'y a rien à cette adresse.");
    const json = await fetch(`${server.issuer}/nulle/part`, { headers: { ...headers, accept: "application/json" } });
    expect(await json.json()).toEqual({ error: "not_found", error_description: "Il n'y a rien à cette adresse." });
  });

  it("the sign-out confirmation and the signed-out page in French", async () => {
    const user = await newUser();
    const { browser } = await signIn(server, rp, new BrowserSession(), {}, user.email);
    browser.acceptLanguage = "fr";
    const confirm = await browser.get(`${server.issuer}/session/end`);
    expect(confirm.text).toContain('<html lang="fr">');
    expect(confirm.text).toContain("<title>Se déconnecter</title>");
    expect(confirm.text).toContain("Se déconnecter de <strong>");
    expect(confirm.text).toContain("sur cet appareil ?");
    expect(confirm.text).toContain("Rester connecté</button>");
    const xsrf = confirm.text.match(/name="xsrf" value="([^"]+)"/)?.[1] as string;
    const signedOut = await browser.postForm(`${server.issuer}/session/end/confirm`, { xsrf, logout: "yes" });
    const done = await browser.follow(signedOut.location as string, server.issuer, signedOut);
    expect(done.text).toContain("<title>Déconnecté</title>");
    expect(readable(done.text)).toContain("Vous êtes déconnecté. Vous pouvez fermer cette fenêtre.");
  });
});

describe("the busy page in German", () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer("pglite", { load: { maxInFlight: 1, maxQueued: 0 } });
  });
  afterAll(() => server?.stop());

  it("says how long to wait, in the browser's language", async () => {
    // A form whose body is only half sent holds the one slot until it is finished.
    const held = request(new URL("/nowhere", server.issuer), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "content-length": 10 },
    });
    const heldAnswer = new Promise<void>((resolve) => held.once("response", (response) => response.resume().once("end", resolve)));
    held.write("a=1");
    let busy: Response | undefined;
    for (let attempt = 0; attempt < 50 && busy?.status !== 503; attempt += 1) {
      busy = await fetch(`${server.issuer}/nowhere`, { headers: { accept: "text/html", "accept-language": "de" } });
    }
    held.end("&b=234567");
    await heldAnswer;
    expect(busy?.status).toBe(503);
    const html = await (busy as Response).text();
    expect(html).toContain('<html lang="de">');
    expect(html).toContain("<title>Derzeit ausgelastet</title>");
    expect(html).toMatch(/Bitte versuchen Sie es in \d+ Sekunden? erneut\./);
  });
});
