import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCommand } from "../../src/cli/run-command.js";
import { AccountPage } from "../helpers/account-page.js";
import { BrowserSession, csrfTokenOf, type PageResponse } from "../helpers/browser-session.js";
import { mailsTo } from "../helpers/outbox.js";
import { authorizationRequest, createUser, type RelyingParty, registerRelyingParty } from "../helpers/relying-party.js";
import { SoftwareAuthenticator } from "../helpers/software-authenticator.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

const CHROME_LINUX = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

/** What the server prints inside `<time>` without script: the date in UTC, in the page's language. */
const utcText = (language: string, iso: string) =>
  `${new Intl.DateTimeFormat(language, { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" }).format(new Date(iso))} UTC`;

/** Eta escapes an apostrophe in what it prints. */
const escaped = (text: string) => text.replaceAll("'", "&#39;");

// Issue #15: the account page, the recovery pages and every mail speak the reader's language.
describe("the account page, recovery and mails in the reader's language", () => {
  let server: TestServer;
  let rp: RelyingParty;
  let counter = 0;

  beforeAll(async () => {
    server = await startTestServer("pglite");
    rp = await registerRelyingParty(server);
  });
  afterAll(() => server?.stop());

  async function newUser(tag: string) {
    const email = `lang-${tag}-${++counter}@example.com`;
    return { email, id: await createUser(server, email) };
  }

  function browserIn(language: string) {
    const browser = new BrowserSession();
    browser.acceptLanguage = language;
    browser.userAgent = CHROME_LINUX;
    return browser;
  }

  const storedLanguage = async (userId: string) => (await server.services.userQueries.findUserById(userId))?.language;
  const section = (page: PageResponse, id: string, next: string) => page.text.slice(page.text.indexOf(`id="${id}"`), page.text.indexOf(`id="${next}"`));

  it("shows the account page and its forms in German (Accept-Language: de), dates as <time datetime> with UTC inside", async () => {
    const user = await newUser("de");
    const account = new AccountPage(server, user.email, browserIn("de"));
    const page = await account.open();

    expect(page.status).toBe(200);
    expect(page.text).toContain('<html lang="de">');
    expect(page.text).toContain("<title>Ihr Konto");
    expect(page.text).toContain(`Angemeldet als <strong>${user.email}</strong>.`);
    expect(page.text).toContain("Noch keine Passkeys.");
    expect(page.text).toContain(">Passkey hinzufügen</button>");
    expect(page.text).toContain(">Authenticator-App einrichten</button>");
    expect(page.text).toContain("0 unbenutzte Backup-Codes.");
    expect(page.text).toContain('<label for="new-email">Neue E-Mail-Adresse</label>');
    const sessions = section(page, "sessions", "apps");
    expect(sessions).toContain('<strong>Chrome unter Linux</strong> <span class="badge">dieses Gerät</span>');
    const date = sessions.match(/angemeldet: <time datetime="(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)" data-local-time>([^<]+)<\/time>/);
    expect(date?.[2]).toBe(utcText("de", date?.[1] as string));
    expect(section(page, "activity", "passkey-signals")).toContain("<strong>Anmeldung</strong>");

    // A form and its refusal: the authenticator app set-up, then a wrong code.
    const enrol = await account.postVerified(page, "/account/security/totp");
    expect(enrol.text).toContain("<title>Authenticator-App einrichten");
    expect(enrol.text).toContain("Scannen Sie diesen Code mit Ihrer Authenticator-App.");
    expect(enrol.text).toContain('<label for="code">Code aus der App</label>');
    const wrong = await account.post(enrol, "/account/security/totp/confirm", { code: "000000" });
    expect(wrong.status).toBe(400);
    expect(wrong.text).toContain("Dieser Code stimmt nicht.");

    // The email change: the page, and the mail to the new address, in German.
    const newEmail = `neu-${counter}@example.com`;
    const sent = await account.postVerified(page, "/account/email", { email: newEmail });
    expect(sent.text).toContain(`Wir haben einen Link an <strong>${newEmail}</strong> geschickt.`);
    const [link] = await mailsTo(server, newEmail);
    expect(link?.subject).toBe("Bestätigen Sie Ihre neue E-Mail-Adresse für 127.0.0.1");
    expect(link?.text).toMatch(
      /^Guten Tag,\n\nJemand, hoffentlich Sie, möchte diese Adresse für ein Konto bei 127\.0\.0\.1 verwenden\.\nÖffnen Sie zur Bestätigung innerhalb von \d+ (Minuten|Stunden) diesen Link:/,
    );
    const waiting = await account.browser.get(`${server.issuer}/account`);
    const pending = waiting.text.match(/er funktioniert bis <time datetime="([^"]+)" data-local-time>([^<]+)<\/time>/);
    expect(pending?.[2]).toBe(utcText("de", pending?.[1] as string));
  });

  it("shows the account page in French, and mails a change made there in French", async () => {
    const user = await newUser("fr");
    const account = new AccountPage(server, user.email, browserIn("fr-FR,fr;q=0.9"));
    const page = await account.open();

    expect(page.text).toContain('<html lang="fr">');
    expect(page.text).toContain(`Connecté en tant que <strong>${user.email}</strong>.`);
    expect(page.text).toContain(escaped("Aucune clé d'accès pour l'instant."));
    expect(page.text).toContain(escaped(">Configurer une application d'authentification</button>"));
    // French counts zero as one (CLDR): "0 code".
    expect(page.text).toContain("0 code de secours inutilisé.");
    expect(section(page, "apps", "email")).toContain(escaped("Aucune application n'a accès à votre compte."));
    const activity = section(page, "activity", "passkey-signals").match(
      /<strong>Connexion<\/strong> <span class="muted"><time datetime="([^"]+)" data-local-time>([^<]+)<\/time> · Chrome sous Linux/,
    );
    expect(activity?.[2]).toBe(utcText("fr", activity?.[1] as string));

    const signedOut = await account.postVerified(page, "/account/sessions/sign-out-others");
    expect(signedOut.text).toContain("Toutes les autres sessions sont déconnectées. Celle-ci reste connectée.");

    const codes = await account.postVerified(signedOut, "/account/security/backup-codes");
    expect(codes.text).toContain("<title>Vos codes de secours");
    expect(codes.text).toContain("Conservez ces codes en lieu sûr, à l&#39;écart de vos appareils.");
    expect(codes.text).toContain('data-msg-copied="Les codes sont copiés. Collez-les en lieu sûr."');
    expect(codes.text).toContain('data-msg-file-heading="Codes de secours pour {{host}}. Chacun fonctionne une fois."');
    expect(codes.text).toContain(">Imprimer les codes</button>");

    const mail = (await mailsTo(server, user.email)).filter((sent) => sent.subject.startsWith("Modification de sécurité")).at(-1);
    expect(mail?.subject).toBe("Modification de sécurité sur votre compte 127.0.0.1");
    expect(mail?.text).toContain(
      "Bonjour,\n\nUne modification a été apportée à votre compte 127.0.0.1 :\nDe nouveaux codes de secours ont été créés (les anciens ne fonctionnent plus).",
    );
    expect(mail?.text).toMatch(/\nQuand : {4}\d{1,2} \S+ \d{4}[^\n]* UTC\nAppareil : Chrome sous Linux\nIP : {7}\S+\n/);
    expect(mail?.text).toContain("« Clé d'accès perdue ? »");
  });

  it("asks for a sign-up link in German when the app asks for ui_locales=de, whatever the browser accepts", async () => {
    const browser = browserIn("fr");
    const login = await browser.follow((await authorizationRequest(rp, { ui_locales: "de" })).url.toString(), server.issuer);
    const signUpPath = login.text.match(/href="(\/interaction\/[^"]+\/signup)"/)?.[1] as string;
    const form = await browser.get(`${server.issuer}${signUpPath}`);
    const email = `neu-signup-${++counter}@example.com`;
    await browser.postForm(`${server.issuer}${signUpPath}`, { _csrf: csrfTokenOf(form.text), email });

    const [mail] = await mailsTo(server, email);
    expect(mail?.subject).toBe("Bestätigen Sie Ihre E-Mail-Adresse, um Ihr Konto bei 127.0.0.1 zu erstellen");
    expect(mail?.text).toContain("Jemand, hoffentlich Sie, möchte mit dieser E-Mail-Adresse ein Konto bei 127.0.0.1 erstellen.");
    expect(mail?.text).toMatch(/Öffnen Sie zum Fortfahren innerhalb von \d+ (Minuten|Stunden) diesen Link und erstellen Sie einen Passkey:/);
    expect(mail?.text).toContain("Der Link funktioniert einmal.");

    // The link's page speaks the sign-in's language too (the browser still prefers French), and the
    // account made from it stores German for later mails.
    const page = await browser.get(mail?.link as string);
    expect(page.text).toContain('<html lang="de">');
    const csrf = page.text.match(/data-csrf="([^"]+)"/)?.[1] as string;
    const token = new URL(mail?.link as string).searchParams.get("token");
    const { challenge } = JSON.parse((await browser.postJson(`${server.issuer}/signup/passkey/register/options`, csrf, { token })).text) as {
      challenge: string;
    };
    const registration = new SoftwareAuthenticator().registration({ challenge, origin: server.issuer, rpId: "127.0.0.1" });
    expect((await browser.postJson(`${server.issuer}/signup/passkey/register/verify`, csrf, { ...registration, token })).status).toBe(200);
    expect((await server.database.prisma.user.findUnique({ where: { email } }))?.language).toBe("de");
  });

  it("shows the recovery pages in French and mails the link in the language of the page that asked for it", async () => {
    const user = await newUser("recover");
    const browser = browserIn("fr");
    const login = await browser.follow((await authorizationRequest(rp)).url.toString(), server.issuer);
    const recoverPath = login.text.match(/href="(\/interaction\/[^"]+\/recover)"/)?.[1] as string;
    const form = await browser.get(`${server.issuer}${recoverPath}`);
    await browser.postForm(`${server.issuer}${recoverPath}`, { _csrf: csrfTokenOf(form.text), email: user.email });

    // No second factor: the link works only after the operator's delay, which mail and page name.
    const mail = (await mailsTo(server, user.email)).at(-1);
    expect(mail?.subject).toBe("Récupérez votre compte 127.0.0.1");
    const from = (await server.database.prisma.emailLink.findFirst({ where: { email: user.email, purpose: "recovery" } }))?.notBefore as Date;
    expect(mail?.text).toContain(
      `Comme le compte n'a pas de second facteur, le lien ne fonctionnera qu'à partir du ${utcText("fr", from.toISOString())}, puis pendant`,
    );
    const page = await browser.get(mail?.link as string);
    expect(page.text).toContain("<title>Récupérer votre compte");
    expect(page.text).toContain(`Récupération de <strong>${user.email}</strong>.`);
    // A catalog text with markup prints raw (its values escaped): its apostrophes stay as they are.
    expect(page.text).toContain(
      `ce lien ne fonctionnera qu'à partir du <time datetime="${from.toISOString()}" data-local-time>${utcText("fr", from.toISOString())}</time>.`,
    );
    expect(page.text).toContain(escaped(">Ce n'est pas vous ? Annuler cette récupération</button>"));

    const token = new URL(mail?.link as string).searchParams.get("token") as string;
    const cancelled = await browser.postForm(`${server.issuer}/recover/cancel`, { _csrf: csrfTokenOf(page.text), token });
    expect(cancelled.text).toContain("<title>Récupération annulée");
    expect(cancelled.text).toContain("La récupération est annulée ; le lien ne fonctionne plus. Rien n&#39;a changé sur le compte.");
    const notice = (await mailsTo(server, user.email)).at(-1);
    expect(notice?.text).toContain("Une récupération de votre compte a été annulée (rien n'a changé).");
  });

  it("walks a recovery with a backup code and a new password in French, refusals included", async () => {
    const user = await newUser("recover-code");
    const [code] = await server.services.backupCodes.regenerate(user.id);
    const browser = browserIn("fr");
    const issued = await server.services.recovery.requestLink(user.email, { ip: "127.0.0.1", userAgent: CHROME_LINUX }, null, "fr");
    expect(issued).toBe(user.email);
    const link = (await mailsTo(server, user.email)).at(-1)?.link as string;
    const token = new URL(link).searchParams.get("token") as string;

    const ask = await browser.get(link);
    expect(ask.text).toContain('<label for="code">Code de votre application d&#39;authentification, ou code de secours</label>');
    const passed = await browser.postForm(`${server.issuer}/recover/factor`, { _csrf: csrfTokenOf(ask.text), token, code: code as string });
    expect(passed.text).toContain(escaped(">Créer une nouvelle clé d'accès</button>"));
    expect(passed.text).toContain("<span>ou définir un mot de passe</span>");

    const short = await browser.postForm(`${server.issuer}/recover/password`, { _csrf: csrfTokenOf(passed.text), token, password: "court" });
    expect(short.status).toBe(400);
    expect(short.text).toContain("Le mot de passe doit contenir au moins 8 caractères.");
    const done = await browser.postForm(`${server.issuer}/recover/password`, { _csrf: csrfTokenOf(short.text), token, password: "un nouveau mot de passe" });
    expect(done.text).toContain("<title>Compte récupéré");
    expect(done.text).toContain("Votre compte est récupéré avec votre nouveau mot de passe, et tous les appareils ont été déconnectés.");
    expect(done.text).toContain("Désormais, connectez-vous avec votre adresse e-mail et ce mot de passe.");
    const notice = (await mailsTo(server, user.email)).at(-1);
    expect(notice?.text).toContain("Votre compte a été récupéré : un mot de passe a été défini et tous les appareils ont été déconnectés.");
  });

  it("mails an operator's recovery in the language the user last used, the default for one who never chose", async () => {
    const user = await newUser("stored");
    expect(await storedLanguage(user.id)).toBeNull();
    const account = new AccountPage(server, user.email, browserIn("de"));
    await account.open();
    expect(await storedLanguage(user.id)).toBe("de");
    // The same language again writes nothing.
    const before = (await server.services.userQueries.findUserById(user.id))?.updatedAt;
    await account.browser.get(`${server.issuer}/account`);
    expect((await server.services.userQueries.findUserById(user.id))?.updatedAt).toEqual(before);

    await server.services.administration({ actor: "cli:test", ip: null }).users.recover(user.email);
    const mail = (await mailsTo(server, user.email)).at(-1);
    expect(mail?.subject).toBe("Ihr Konto bei 127.0.0.1 wiederherstellen");
    expect(mail?.text).toContain("Ein Administrator hat eine Wiederherstellung Ihres Kontos bei 127.0.0.1 gestartet");

    // Another language on the account page replaces the stored one.
    await new AccountPage(server, user.email, browserIn("fr")).open();
    expect(await storedLanguage(user.id)).toBe("fr");

    const other = await newUser("default");
    await server.services.administration({ actor: "cli:test", ip: null }).users.recover(other.email);
    expect((await mailsTo(server, other.email)).at(-1)?.subject).toBe("Recover your 127.0.0.1 account");
  });

  it("users invite --language fr mails the invitation in French; an unknown language is a usage error naming it", async () => {
    async function cli(argv: string[]) {
      let stdout = "";
      let stderr = "";
      const code = await runCommand(argv, { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text), stdin: null }, server.services);
      return { code, stdout, stderr };
    }
    const email = `invite-${++counter}@example.com`;
    expect((await cli(["users", "invite", "--email", email, "--language", "fr"])).code).toBe(0);
    const [mail] = await mailsTo(server, email);
    expect(mail?.subject).toBe("Vous êtes invité à créer un compte sur 127.0.0.1");
    expect(mail?.text).toMatch(
      /Un administrateur vous invite à créer un compte sur 127\.0\.0\.1 avec cette adresse e-mail\.\nOuvrez ce lien dans un délai de \d+ (jours?|heures) et créez une clé d'accès pour vous connecter :/,
    );

    const english = `invite-${++counter}@example.com`;
    expect((await cli(["users", "invite", "--email", english])).code).toBe(0);
    expect((await mailsTo(server, english))[0]?.subject).toBe("You are invited to create an account at 127.0.0.1");

    const unknown = await cli(["users", "invite", "--email", `invite-${++counter}@example.com`, "--language", "it"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('--language must be one of en, de, fr (got "it")');
  });
});
