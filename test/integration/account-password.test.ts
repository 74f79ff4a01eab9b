import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AccountPage } from "../helpers/account-page.js";
import { BrowserSession, csrfTokenOf, type PageResponse } from "../helpers/browser-session.js";
import { moveClock, restoreClock } from "../helpers/movable-clock.js";
import { mailsTo } from "../helpers/outbox.js";
import { createUser, PASSWORD } from "../helpers/relying-party.js";
import { SoftwareAuthenticator, seedPasskey } from "../helpers/software-authenticator.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

const NEW_PASSWORD = "a new and different passphrase";

// Issue #16: signUp.passwords "optional" lets an account add (or change) a password after a fresh
// verification; "never" keeps new accounts passwordless.
describe.each(["optional", "never"] as const)("passwords on the account page (signUp.passwords %s)", (passwords) => {
  let server: TestServer;
  let counter = 0;

  beforeAll(async () => {
    server = await startTestServer("pglite", { signUp: { passwords }, recovery: { delaySeconds: 0 } });
  });
  afterAll(() => server?.stop());
  afterEach(() => restoreClock());

  /** A signed-in account page of a user with a passkey; `withPassword: false` drops the password afterwards. */
  async function accountWithPasskey(withPassword: boolean) {
    const email = `pw-${passwords}-${++counter}@example.com`;
    const userId = await createUser(server, email);
    const account = new AccountPage(server, email);
    const opened = await account.open();
    const addPage = await account.postVerified(opened, "/account/passkeys/add");
    const csrf = addPage.text.match(/data-csrf="([^"]+)"/)?.[1] as string;
    const authenticator = new SoftwareAuthenticator();
    const options = JSON.parse((await account.browser.postJson(`${server.issuer}/account/passkey/register/options`, csrf, {})).text);
    const verify = await account.browser.postJson(
      `${server.issuer}/account/passkey/register/verify`,
      csrf,
      authenticator.registration({ challenge: options.challenge, origin: server.issuer, rpId: "127.0.0.1" }),
    );
    expect(verify.status, verify.text).toBe(200);
    account.passkey = { authenticator, userId };
    if (!withPassword) await server.database.prisma.user.update({ where: { id: userId }, data: { passwordHash: null } });
    return { email, userId, account, page: await account.browser.get(`${server.issuer}/account`) };
  }

  const setPassword = (account: AccountPage, page: PageResponse, password: string, confirm = password) =>
    account.postVerified(page, "/account/password/set", { password, confirm_password: confirm });

  if (passwords === "optional") {
    it("adds a password to a passkey-only account after a fresh verification, mailed and recorded", async () => {
      const { email, userId, account, page } = await accountWithPasskey(false);
      expect(page.text).toContain("Add a password…");
      const form = await account.postVerified(page, "/account/password/set");
      expect(form.status).toBe(200);
      expect(form.text).toContain('autocomplete="new-password"');

      const mismatch = await setPassword(account, form, NEW_PASSWORD, `${NEW_PASSWORD}!`);
      expect(mismatch.status).toBe(400);
      expect(mismatch.text).toContain("The two passwords do not match.");
      const short = await setPassword(account, form, "short");
      expect(short.status).toBe(400);
      expect(short.text).toMatch(/at least 8 characters/);
      expect(await server.services.users.verifyPassword(email, "short")).toBeNull();

      const done = await setPassword(account, form, NEW_PASSWORD);
      expect(done.status).toBe(200);
      expect(done.text).toContain("Your password is added: you can sign in with it too.");
      expect(await server.services.users.verifyPassword(email, NEW_PASSWORD)).toBe(userId);
      expect((await server.services.events.listForUser(userId)).map((event) => event.type)).toContain("password.added");
      expect((await mailsTo(server, email)).some((mail) => mail.text.includes("A password was added"))).toBe(true);
      expect(done.text).toContain("Change my password…");
    });

    it("refuses a stale session, a missing CSRF token and hostile values, storing nothing", async () => {
      const { email, account, page } = await accountWithPasskey(false);
      const form = await account.postVerified(page, "/account/password/set");
      moveClock(660);
      const stale = await account.post(form, "/account/password/set", { password: NEW_PASSWORD, confirm_password: NEW_PASSWORD });
      expect(stale.status).toBe(303);
      expect(new URL(stale.location as string).searchParams.get("max_age")).toBe("600");
      restoreClock();
      const noToken = await account.browser.postForm(`${server.issuer}/account/password/set`, { password: NEW_PASSWORD, confirm_password: NEW_PASSWORD });
      expect(noToken.status).toBe(403);
      const fresh = await account.postVerified(form, "/account/password/set");
      for (const fields of <Record<string, string>[]>[
        { password: "x".repeat(100_000), confirm_password: "x".repeat(100_000) },
        { "password[]": NEW_PASSWORD, confirm_password: NEW_PASSWORD },
      ]) {
        const refused = await account.post(fresh, "/account/password/set", fields);
        expect(refused.status).toBeGreaterThanOrEqual(400);
        expect(refused.status).toBeLessThan(500);
      }
      expect((await server.database.prisma.user.findFirst({ where: { email } }))?.passwordHash).toBeNull();
    });
  } else {
    it("offers no password to a passkey-only account and refuses one posted anyway", async () => {
      const { email, account, page } = await accountWithPasskey(false);
      expect(page.text).not.toContain("Add a password…");
      const refused = await setPassword(account, page, NEW_PASSWORD);
      expect(refused.status).toBe(403);
      expect(refused.text).toContain("Accounts here sign in with passkeys only");
      expect((await server.database.prisma.user.findFirst({ where: { email } }))?.passwordHash).toBeNull();
    });

    it("does not let a recovery give a passwordless account its first password", async () => {
      const email = `pw-never-recovery-${++counter}@example.com`;
      const { id } = await server.services.users.create({ email });
      await server.services.recovery.issueByOperator(email);
      const link = (await mailsTo(server, email)).at(-1)?.link as string;
      const browser = new BrowserSession();
      const page = await browser.get(link);
      expect(page.status).toBe(200);
      expect(page.text).not.toContain('action="/recover/password"');
      const token = new URL(link).searchParams.get("token") as string;
      const refused = await browser.postForm(`${server.issuer}/recover/password`, { _csrf: csrfTokenOf(page.text), token, password: NEW_PASSWORD });
      expect(refused.status).toBe(400);
      expect((await server.database.prisma.user.findUnique({ where: { id } }))?.passwordHash).toBeNull();
    });
  }

  it('tells what the locked row says when a removal races a change: never a password left behind a "removed"', async () => {
    const { email, userId, account } = await accountWithPasskey(true);
    await seedPasskey(server.database.prisma, userId);
    const fresh = await account.browser.get(`${server.issuer}/account`);
    const form = await account.postVerified(fresh, "/account/password/set");
    const confirm = await account.postVerified(fresh, "/account/password/remove");
    expect(confirm.text).toContain('name="confirm" value="remove"');
    const [set, removed] = await Promise.all([
      setPassword(account, form, NEW_PASSWORD),
      account.post(confirm, "/account/password/remove", { confirm: "remove" }),
    ]);
    const stored = (await server.database.prisma.user.findUnique({ where: { id: userId } }))?.passwordHash ?? null;
    const types = (await server.services.events.listForUser(userId)).map((event) => event.type);
    expect(removed.status).toBe(200);
    expect(types).toContain("password.removed");
    if (stored !== null) {
      // The removal ran first and the change found no password: it added one, which only "optional" allows.
      expect(passwords).toBe("optional");
      expect(types).toContain("password.added");
      expect(await server.services.users.verifyPassword(email, NEW_PASSWORD)).toBe(userId);
    } else if (set.status === 200) {
      // The change ran first, then the removal: it was a change, and nothing is left.
      expect(types).toContain("password.changed");
    } else {
      // The removal ran first under "never": the change is refused, and says so.
      expect(passwords).toBe("never");
      expect(set.status).toBe(403);
      expect(types.filter((type) => type === "password.added" || type === "password.changed")).toEqual([]);
    }
  });

  it("changes an existing password: the old one stops working, other sessions are offered a sign-out", async () => {
    const { email, userId, account, page } = await accountWithPasskey(true);
    const form = await account.postVerified(page, "/account/password/set");
    expect(form.text).toContain("Change my password");
    const done = await setPassword(account, form, NEW_PASSWORD);
    expect(done.status).toBe(200);
    expect(done.text).toContain("Your password is changed.");
    expect(done.text).toContain("/account/sessions/sign-out-others");
    expect(await server.services.users.verifyPassword(email, PASSWORD)).toBeNull();
    expect(await server.services.users.verifyPassword(email, NEW_PASSWORD)).toBe(userId);
    expect((await server.services.events.listForUser(userId)).map((event) => event.type)).toContain("password.changed");
  });
});
