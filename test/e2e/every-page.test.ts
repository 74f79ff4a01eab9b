import axe from "axe-core";
import { generate } from "otplib";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACR } from "../../src/auth/assurance.js";
import { ENROLMENT_SECONDS } from "../../src/mfa/totp.js";
import { addVirtualAuthenticator, chromiumAvailable, hideAutofillSupport, launchChromium, signInWithPassword } from "../helpers/chromium.js";
import { moveClock, restoreClock } from "../helpers/movable-clock.js";
import { mailsTo } from "../helpers/outbox.js";
import { pageProblems } from "../helpers/page-problems.js";
import { authorizationRequest, createUser, PASSWORD, type RelyingParty, RP_CALLBACK, registerRelyingParty } from "../helpers/relying-party.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { enrolTotp } from "../helpers/totp.js";

const WIDTHS = [320, 390, 1280];
const SCHEMES = ["light", "dark"] as const;

// Issue #15 acceptance 1: every page fits a small phone, a phone and a laptop without scrolling
// sideways, and axe-core finds nothing on it, in light and in dark mode. Not covered: the busy page
// (errors/busy, only under overload; the same markup as the error page).
describe.skipIf(!chromiumAvailable)("every page in Chromium", () => {
  let server: TestServer;
  let rp: RelyingParty;
  let strictRp: RelyingParty;
  let staffRp: RelyingParty;
  let browser: Browser;

  beforeAll(async () => {
    server = await startTestServer("pglite", { account: { reverifySeconds: 3600 } }, { issuerHost: "localhost" });
    rp = await registerRelyingParty(server);
    // An app that needs a second factor (the enrolment step), and one only a group may use.
    const strict = await server.services.clients.create({ name: "Strict app", redirectUris: [RP_CALLBACK], minimumAcr: ACR.mfa });
    strictRp = { ...rp, clientId: strict.client_id };
    await server.services.groups.create("staff");
    const staff = await server.services.clients.create({ name: "Staff app", redirectUris: [RP_CALLBACK], allowedGroups: ["staff"] });
    staffRp = { ...rp, clientId: staff.client_id };
    browser = await launchChromium();
  });
  afterAll(async () => {
    restoreClock();
    await browser?.close();
    await server?.stop();
  });

  /** The /auth URL of an app other than `rp` (openid-client only builds the query). */
  async function authorizationUrl(app: RelyingParty) {
    const url = (await authorizationRequest(rp)).url;
    url.searchParams.set("client_id", app.clientId);
    return url.toString();
  }

  // One walk through the pages, each checked at every width (the viewport resized in place, as a
  // rotated phone or a resized window would): a walk per width took three times as long.
  it("no page scrolls sideways at 320, 390 or 1280 px, and axe-core reports nothing, light and dark", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    context.setDefaultTimeout(10_000);
    await hideAutofillSupport(context);
    const page = await context.newPage();
    await page.route(`${RP_CALLBACK}**`, (route) => route.fulfill({ status: 200, contentType: "text/plain", body: "relying party" }));
    const problems: string[] = [];

    /** Once `heading` is the page's h1 and `ready` (when given) is on it: the overflow and axe-core at each width, light and dark. */
    async function check(name: string, heading: string | RegExp, ready?: string) {
      try {
        await page.locator("h1", { hasText: heading }).waitFor();
        if (ready) await page.locator(ready).first().waitFor({ state: "attached" });
        // The heading can be there before the stylesheets apply (a loaded machine): measured then, a
        // table is its unstyled width. "load" waits for them.
        await page.waitForLoadState("load");
      } catch (error) {
        throw new Error(`not on "${name}" but ${page.url()}: ${(await page.locator("body").innerText()).slice(0, 500)}`, { cause: error });
      }
      // Injected through the DevTools protocol: the page's CSP (nonce scripts only) stays on.
      await page.evaluate(axe.source);
      for (const width of WIDTHS) {
        await page.setViewportSize({ width, height: 800 });
        for (const colorScheme of SCHEMES) {
          await page.emulateMedia({ colorScheme });
          const where = `${name} at ${width} px (${colorScheme})`;
          problems.push(...(await pageProblems(page, where)));
        }
      }
      await page.emulateMedia({ colorScheme: null });
    }
    const click = (role: "button" | "link", label: string | RegExp) =>
      page
        .getByRole(role, { name: label, exact: typeof label === "string" })
        .first()
        .click();
    const linkIn = async (email: string, subject: RegExp) => {
      const link = (await mailsTo(server, email)).filter((mail) => subject.test(mail.subject)).at(-1)?.link;
      if (!link) throw new Error(`no mail "${subject}" to ${email}`);
      return link;
    };
    /** A fresh authenticator holding only the passkeys created from now on (so a usernameless sign-in has one to pick). */
    const freshAuthenticator = async () => {
      await authenticator.remove();
      authenticator = await addVirtualAuthenticator(context, page);
    };
    let authenticator = await addVirtualAuthenticator(context, page);
    /** The code of the authenticator-app set-up on the page. */
    const appCode = async () => generate({ secret: (await page.locator("#totp-secret").textContent()) ?? "" });

    const who = (role: string) => `${role}@example.com`;
    const plain = { email: who("plain"), id: await createUser(server, who("plain")) };
    const withCode = { email: who("totp"), id: await createUser(server, who("totp")) };
    const codeAt = await enrolTotp(server, withCode);
    const waiting = { email: who("waiting"), id: await createUser(server, who("waiting")) };
    const enrolling = { email: who("enrolling"), id: await createUser(server, who("enrolling")) };
    const newcomer = who("new");

    // Signing in, signing up, recovering: the interaction pages.
    await page.goto((await authorizationRequest(rp)).url.toString());
    await check("sign-in", "Sign in", "[data-passkey-action]:visible");
    await page.fill("#email", plain.email);
    await page.fill("#password", "not the password");
    await click("button", "Sign in");
    await check("sign-in, wrong password", "Sign in", ".error:visible");
    await click("link", "Create an account");
    await check("sign-up", /./, "form[action$='/signup']");
    await page.fill("#email", newcomer);
    await click("button", "Send the link");
    await check("sign-up, mail sent", /./, "[role=status]");
    await click("link", "Back to sign in");
    await click("link", "Lost your passkey?");
    await check("recovery request", /./, "form[action$='/recover']");
    await page.fill("#email", waiting.email);
    await click("button", "Send the link");
    await check("recovery request, mail sent", /./, "[role=status]");
    await click("link", "Back to sign in");
    await page.fill("#email", plain.email);
    await page.fill("#password", PASSWORD);
    await click("button", "Sign in");
    await check("passkey offer", /./, "form[action$='/passkey/skip']");
    await click("button", "Not now");
    await check("consent", /./, "form[action$='/consent']");
    await click("button", "Allow");
    await page.waitForURL((url) => url.toString().startsWith(RP_CALLBACK));
    await page.goto((await authorizationRequest(rp, { prompt: "login" })).url.toString());
    await check("confirm it's you", /./, "#password");
    await page.goto(`${server.issuer}/session/end`);
    await check("sign-out", /./, "button[name=logout]");
    await click("button", "Sign out");
    await check("signed out", /./);

    await page.goto((await authorizationRequest(rp)).url.toString());
    await signInWithPassword(page, withCode.email, PASSWORD);
    await check("second factor", /./, "form[action$='/mfa']");
    await page.fill("#code", "000000");
    await click("button", "Continue");
    await check("second factor, wrong code", /./, ".error");
    await context.clearCookies();

    await page.goto(await authorizationUrl(strictRp));
    await signInWithPassword(page, enrolling.email, PASSWORD);
    await check("second factor set-up", /./, "form[action$='/enrol/totp']");
    await click("button", "Use an authenticator app");
    await check("second factor set-up, authenticator app", /./, "#totp-secret");
    await page.fill("#code", "000000");
    await click("button", "Confirm");
    await check("second factor set-up, wrong code", /./, ".error");
    await page.fill("#code", await appCode());
    await click("button", "Confirm");
    await check("second factor set up, backup codes", /./, "[data-backup-codes]");
    await context.clearCookies();

    await page.goto(await authorizationUrl(staffRp));
    await signInWithPassword(page, plain.email, PASSWORD);
    await check("no access", /./, "form[action$='/abort']");
    await context.clearCookies();

    await page.goto(await linkIn(newcomer, /./));
    await check("sign-up, create a passkey", /./, "[data-passkey-action]");
    await click("button", "Create a passkey");
    await check("sign-up done", /./, "[role=status]");

    // The account page and its forms: a passkey-only account (the one just signed up)…
    await context.clearCookies();
    await page.goto(`${server.issuer}/account`);
    await click("button", "Sign in with a passkey");
    await check("account page, passkey only", "Your account", "li.passkey");
    await page.locator("li.passkey summary").first().click();
    await check("account page, renaming a passkey", "Your account", "li.passkey input[name=name]:visible");
    await click("button", /^Remove “/);
    await check("remove a passkey", /^Remove “/, "input[name=confirm][value=remove]");
    await click("button", /^Remove “/);
    await check("the last way in", /./, "form[action='/account/passkeys/add']");
    await click("button", "Add a passkey");
    await check("add a passkey", /./, "[data-passkey-action=register]");
    await click("link", "Cancel");
    await page.fill("#new-email", who("moved"));
    await click("button", "Change email address");
    await check("email change, mail sent", /./, "[role=status]");
    await page.goto(await linkIn(who("moved"), /./));
    await check("email change, confirm", /./, "form[action='/account/email/confirm']");
    await click("button", "Use this address");
    await check("email changed", /./, "[role=status]");
    await click("link", "Go to your account");
    await click("button", "Sign out this device");
    await check("account signed out", /./, "[role=status]");

    // Recovery links. The passkey a recovery adds stays in this authenticator, which the sign-ins below replace.
    await page.goto(await linkIn(waiting.email, /^Recover/));
    await check("recovery link, waiting", /./, "[role=status]");
    await click("button", /Cancel this recovery/);
    await check("recovery cancelled", /./, "[role=status]");
    await server.services.recovery.issueByOperator(withCode.email);
    await page.goto(await linkIn(withCode.email, /^Recover/));
    await check("recovery link, second factor", /./, "#code");
    await page.fill("#code", await codeAt(Date.now()));
    await click("button", "Continue");
    await check("recovery link, new passkey", /./, "[data-passkey-action]");
    await click("button", "Create a new passkey");
    await check("recovered", /./, "[role=status]");

    // …and a password account with a connected app, a passkey and then an authenticator app.
    await context.clearCookies();
    await freshAuthenticator();
    await page.goto(`${server.issuer}/account`);
    await signInWithPassword(page, plain.email, PASSWORD);
    await check("account page, password", "Your account", "li.app");
    await click("button", "Add a passkey");
    await click("button", "Create a passkey");
    await page.waitForURL(`${server.issuer}/account#passkeys`);
    // With a passkey, a change needs it (or a code): the password sign-in is not enough.
    await click("button", /^Remove “/);
    await check("confirm it's you with a passkey", /./, "[data-passkey-action=second-factor]");
    await click("button", "Use your passkey or security key");
    await page.waitForURL(`${server.issuer}/account`);
    await click("button", /^Remove “/);
    await check("remove the last passkey", /./, "input[name=confirm][value=last-passkey]");
    await click("link", "Keep the passkey");
    await click("button", "Set up an authenticator app");
    await check("authenticator set-up", /./, "#totp-secret");
    await page.fill("#code", "000000");
    await click("button", "Confirm");
    await check("authenticator set-up, wrong code", /./, ".error");
    // Past the set-up's ten minutes (the account's verification lasts an hour here).
    moveClock(ENROLMENT_SECONDS + 5);
    await click("button", "Confirm");
    await check("authenticator set-up expired", /./, "form[action='/account/security/totp']");
    await click("button", "Start the set-up again");
    await page.fill("#code", await appCode());
    await click("button", "Confirm");
    await check("authenticator set up, backup codes", /./, "[data-backup-codes]");
    await click("link", "Back to your account");
    await click("button", "Create new backup codes");
    await check("backup codes", /./, "[data-backup-codes]");
    await click("link", "Done");
    await click("button", "Remove my password…");
    await check("remove the password", /./, "input[name=confirm][value=remove]");
    await page.goto(`${server.issuer}/account`);
    await click("button", "Change my password…");
    await check("change the password", /./, "input[autocomplete=new-password]");

    // The operators' console, signed in with a passkey.
    await context.clearCookies();
    await freshAuthenticator();
    const operator = { email: who("operator"), id: await createUser(server, who("operator")) };
    await server.services.userQueries.updateProfile(operator.id, { role: "operator" });
    const { credentialId, publicKey } = await authenticator.addCredentialFor("localhost", operator.id);
    await server.services.credentials.insertCredential({
      id: credentialId,
      userId: operator.id,
      publicKey: new Uint8Array(publicKey),
      counter: 0,
      transports: ["internal"],
      deviceType: "singleDevice",
      backupEligible: false,
      backedUp: false,
      aaguid: "00000000-0000-0000-0000-000000000000",
      name: "Virtual key",
    });
    await page.goto(`${server.issuer}/admin`);
    await click("button", "Sign in with a passkey");
    await check("console overview", /./, "#count-users");
    await click("link", "Apps");
    await check("console apps", /./, "#apps");
    await click("link", "New app");
    await check("console new app", /./, "#redirect_uris");
    await page.fill("#name", "Shop");
    await page.fill("#redirect_uris", "HTTPS://Shop.example.com/cb");
    await click("button", "Create the app");
    await check("console new app, a problem", /./, "#canonical");
    await page.fill("#redirect_uris", "https://shop.example.com/cb");
    await click("button", "Create the app");
    await check("console app secret", /./, "#client-secret");
    await click("link", "Back to Shop");
    await check("console app", /./, "#settings-title");
    await click("link", "Delete Shop…");
    await check("console delete an app", /./, "form[action$='/delete']");
    await click("link", "People");
    await check("console people", /./, "#people");
    await click("link", plain.email);
    await check("console person", /./, "#person-email");
    await click("link", `Delete ${plain.email}…`);
    await check("console delete a person", /./, "form[action$='/delete']");
    await click("link", "Groups");
    await check("console groups", /./, "#groups");
    await click("link", "staff");
    await check("console group", /./, "#members-title");
    await click("link", "Delete the group staff…");
    await check("console delete a group", /./, "form[action$='/delete']");
    await click("link", "Audit log");
    await check("console audit log", /./, "#audit");
    await click("link", "Security events");
    await check("console security events", /./, "#events");

    // Error pages.
    await page.goto(`${server.issuer}/auth?client_id=${"x".repeat(80)}&response_type=code&scope=openid`);
    await check("error page", /./, "[role=alert]");
    await page.goto(`${server.issuer}/no/such/page`);
    await check("missing page", /./, "[role=alert]");

    expect(problems).toEqual([]);
    await context.close();
    // ≈ 45 s alone, beyond the default minute next to another suite on two cores.
  }, 180_000);
});
