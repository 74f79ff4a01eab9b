import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrowserSession, csrfTokenOf } from "../helpers/browser-session.js";
import { ConsolePage, type SeededPerson, seedPerson } from "../helpers/console-page.js";
import { createUser } from "../helpers/relying-party.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

const APP_FORM = {
  form: "app",
  name: "Laden",
  redirect_uris: "https://laden.example.com/cb",
  minimum_acr: "none",
  access_token_format: "opaque",
  id_token_alg: "default",
};

// A `<time>` in a table cell, as it.time prints it: the ISO instant for the script, a readable UTC time without it.
const TIME_CELL = /<td><time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z" data-local-time>[^<]+ UTC<\/time><\/td>/;

// Issue #15: the operators' console speaks the browser's language (Accept-Language).
describe("the console in German and French", () => {
  let server: TestServer;
  let operator: SeededPerson;
  let german: ConsolePage;
  let appId: string;

  async function consoleIn(language: string): Promise<ConsolePage> {
    const browser = new BrowserSession();
    browser.acceptLanguage = language;
    const page = new ConsolePage(server, operator, browser);
    expect((await page.page()).status).toBe(200);
    return page;
  }

  beforeAll(async () => {
    server = await startTestServer("pglite");
    operator = await seedPerson(server, "operator-languages@example.com", { role: "operator" });
    appId = (await server.services.clients.create({ name: "Wiki", redirectUris: ["https://wiki.example.com/cb"] })).client_id;
    german = await consoleIn("de-DE,de;q=0.9,en;q=0.5");
  });
  afterAll(() => server?.stop());

  it("shows the overview, the frame and its navigation in German", async () => {
    const page = await german.page("/admin");
    expect(page.text).toContain('<html lang="de">');
    expect(page.text).toContain("<title>Konsole</title>");
    expect(page.text).toContain(`Angemeldet als <strong>${operator.email}</strong> (Operator)`);
    expect(page.text).toContain('<a href="/admin/events">Sicherheitsereignisse</a>');
    expect(page.text).toContain('<a href="/session/end">Abmelden</a>');
    expect(page.text).toContain('<h2 id="totals-title">Personen und Apps</h2>');
    expect(page.text).toContain("Aktive Personen mit einem Passkey");
    expect(page.text).toContain("Anmeldungen in den letzten 24 Stunden");
    // The operator's own passkey sign-in, under the method's German name.
    expect(page.text).toMatch(/<tr><td>Passkey<\/td><td>\d+<\/td><td>\d+<\/td><\/tr>/);
    expect(page.text).toContain("Wiederverwendete Autorisierungscodes");
  });

  it("lists the apps and shows an app's page in German", async () => {
    const list = await german.page("/admin/apps");
    expect(list.text).toContain("<title>Apps</title>");
    expect(list.text).toContain('<a href="/admin/apps/new">Neue App</a>');
    expect(list.text).toContain('<th scope="col">Client-ID</th>');
    expect(list.text).toContain(`<a href="/admin/apps/${appId}">Wiki</a></td><td><code>${appId}</code></td><td>vertraulich</td>`);

    const app = await german.page(`/admin/apps/${appId}`);
    expect(app.text).toContain("vertraulich · Grant-Typen authorization_code, refresh_token");
    expect(app.text).toContain('<h2 id="settings-title">Einstellungen</h2>');
    expect(app.text).toContain("Redirect-URIs (eine pro Zeile, genau so, wie die App sie sendet)");
    expect(app.text).toContain('<option value="mfa">zwei Faktoren (mfa)</option>');
    expect(app.text).toContain('<option value="default" selected>Standard</option>');
    expect(app.text).toContain('<button type="submit" class="secondary">Secret erneuern</button>');
    expect(app.text).toContain("Wiki löschen …</a>");

    const confirm = await german.page(`/admin/apps/${appId}/delete`);
    expect(confirm.text).toContain("<title>Wiki löschen?</title>");
    expect(confirm.text).toContain(`Wenn Sie <strong>Wiki</strong> (<code>${appId}</code>) löschen, werden alle für sie ausgestellten Tokens widerrufen`);

    const missing = await german.page("/admin/apps/no-such-app");
    expect(missing.status).toBe(404);
    expect(missing.text).toContain("Diese App gibt es nicht.");
  });

  it("words a refused app form in German, keeps what was typed, and says a saved change in German", async () => {
    const bad = await german.postWithToken("/admin/apps", { ...APP_FORM, redirect_uris: "HTTPS://Laden.Example.com/a/../cb" });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain(
      '<p class="error" role="alert">Redirect-URI „HTTPS://Laden.Example.com/a/../cb“ ist nicht in kanonischer Form; registrieren Sie sie genau als „https://laden.example.com/cb“.</p>',
    );
    expect(bad.text).toContain('<p id="canonical">Registrieren Sie sie als <code>https://laden.example.com/cb</code></p>');
    expect(bad.text).toContain("HTTPS://Laden.Example.com/a/../cb</textarea>");

    const lifetime = await german.postWithToken(`/admin/apps/${appId}`, { ...APP_FORM, access_token_ttl: "5" });
    expect(lifetime.text).toContain("Lebensdauer des Access-Tokens muss eine ganze Zahl von Sekunden zwischen 60 und 86400 sein (angegeben: 5).");
    const notSeconds = await german.postWithToken(`/admin/apps/${appId}`, { ...APP_FORM, access_token_ttl: "zehn" });
    expect(notSeconds.status).toBe(400);
    expect(notSeconds.text).toContain("Lebensdauer des Access-Tokens muss eine ganze Zahl von Sekunden sein.");
    const group = await german.postWithToken(`/admin/apps/${appId}`, { ...APP_FORM, allowed_groups: "niemand" });
    expect(group.text).toContain("Erlaubte Gruppen: Es gibt keine Gruppe namens &quot;niemand&quot;");

    const saved = await german.postWithToken(`/admin/apps/${appId}`, { ...APP_FORM, name: "Wiki" });
    expect(saved.status).toBe(303);
    expect((await german.browser.get(saved.location as string)).text).toContain('<p role="status">Die App wurde gespeichert.</p>');
  });

  it("shows people and a person in German, with dates as <time>", async () => {
    const person = await createUser(server, "person-languages@example.com");
    const people = await german.page("/admin/people");
    expect(people.text).toContain("<title>Personen</title>");
    expect(people.text).toMatch(/<p class="muted">\d+ Personen\.<\/p>/);
    expect(people.text).toContain('<th scope="col">E-Mail-Adresse</th>');
    expect(people.text).toContain("<td>aktiv, Operator</td>");
    expect(people.text).toContain("Seite 1 von 1");
    expect(people.text).toContain('<h2 id="invite-title">Jemanden einladen</h2>');
    expect((await german.page("/admin/people?q=person-languages")).text).toContain("1 Person gefunden.");

    const page = await german.page(`/admin/people/${person}`);
    expect(page.text).toContain('<span id="person-status">aktiv</span> · Rolle <span id="person-role">user</span> · Passwort ja · seit <time datetime="');
    expect(page.text).toContain("Authenticator-App: nein · Backup-Codes: 0 unbenutzt");
    expect(page.text).toContain('<h2 id="sessions-title">Sitzungen</h2>');
    expect(page.text).toContain('<button type="submit" class="secondary">Wiederherstellungslink per E-Mail senden</button>');
    expect(page.text).toContain('<button type="submit" class="secondary">Zum Operator machen</button>');
  });

  it("shows groups in German, and words a refused group name in German", async () => {
    await german.postWithToken("/admin/groups", { name: "redaktion" });
    const groups = await german.page("/admin/groups");
    expect(groups.text).toContain('<th scope="col">Auf sie beschränkte Apps</th>');
    expect(groups.text).toContain('<button type="submit">Gruppe anlegen</button>');
    const taken = await german.postWithToken("/admin/groups", { name: "redaktion" });
    expect(taken.status).toBe(409);
    expect(taken.text).toContain('<p class="error" role="alert">Eine Gruppe mit diesem Namen gibt es bereits.</p>');
    const reserved = await german.postWithToken("/admin/groups", { name: "everyone" });
    expect(reserved.text).toContain("„everyone“ ist reserviert");

    await german.postWithToken("/admin/groups/redaktion/members", { email: operator.email });
    const group = await german.page("/admin/groups/redaktion");
    expect(group.text).toContain("<title>Gruppe redaktion</title>");
    expect(group.text).toContain(`>${operator.email} entfernen</button>`);
    expect(group.text).toContain("Auf diese Gruppe beschränkte Apps");
    const confirm = await german.page("/admin/groups/redaktion/delete");
    expect(confirm.text).toContain("Wenn Sie die Gruppe <strong>redaktion</strong> löschen, wird 1 Mitgliedschaft entfernt; die Personen bleiben.");
  });

  it("shows the security events and the audit log in German, each time as a <time> element", async () => {
    const events = await german.page("/admin/events");
    expect(events.text).toContain("<title>Sicherheitsereignisse</title>");
    expect(events.text).toContain('<th scope="col">Ergebnis</th>');
    expect(events.text).toMatch(TIME_CELL);
    // The German date format ("01.12.2026, 20:03 UTC"), not the English one ("1 Dec 2026, 20:03 UTC").
    expect(events.text).toMatch(/data-local-time>\d\d\.\d\d\.\d{4}, \d\d:\d\d UTC</);
    const badSince = await german.page("/admin/events?since=gestern");
    expect(badSince.status).toBe(400);
    expect(badSince.text).toContain("„Seit“ muss eine Zeitangabe wie 2026-11-23T10:00:00Z sein (angegeben: „gestern“).");

    const audit = await german.page("/admin/audit");
    expect(audit.text).toContain("<title>Audit-Protokoll</title>");
    expect(audit.text).toContain('<button type="submit" class="secondary">Filtern</button>');
    expect(audit.text).toMatch(TIME_CELL);
  });

  it("tells someone who is no operator, in German, that the console is not theirs", async () => {
    const outsider = await seedPerson(server, "outsider-languages@example.com");
    const browser = new BrowserSession();
    browser.acceptLanguage = "de";
    const refused = await new ConsolePage(server, outsider, browser).page("/admin");
    expect(refused.status).toBe(403);
    expect(refused.text).toContain("Die Konsole ist für Operatoren. Ihr Konto ist keines.");
  });

  it("shows a page in French", async () => {
    const french = await consoleIn("fr-FR,fr;q=0.9");
    const confirm = await french.page(`/admin/apps/${appId}/delete`);
    expect(confirm.text).toContain('<html lang="fr">');
    expect(confirm.text).toContain("<title>Supprimer Wiki ?</title>");
    expect(confirm.text).toContain(`Supprimer <strong>Wiki</strong> (<code>${appId}</code>) révoque tous les jetons qui lui ont été émis`);
    expect(confirm.text).toContain('<a href="/admin/apps" aria-current="page">Applications</a>');
    expect(confirm.text).toContain('<a href="/admin/events">Événements de sécurité</a>');
    expect(confirm.text).toContain(`Connecté en tant que <strong>${operator.email}</strong> (opérateur)`);
    const bad = await french.browser.postForm(`${server.issuer}/admin/apps`, {
      _csrf: csrfTokenOf(confirm.text),
      ...APP_FORM,
      redirect_uris: "https://laden.example.com/cb#x",
    });
    expect(bad.text).toContain("URI de redirection « https://laden.example.com/cb#x » ne doit pas contenir de fragment (#).");
  });
});
