import * as oidc from "openid-client";
import { generate } from "otplib";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { sha256 } from "../../src/crypto/hash.js";
import { createRecoveryQueries } from "../../src/db/recoveries.js";
import { BrowserSession, comparablePage, csrfTokenOf } from "../helpers/browser-session.js";
import { holdBackgroundTasks } from "../helpers/held-tasks.js";
import { mailsTo } from "../helpers/outbox.js";
import { openRecoveryForm } from "../helpers/recovery-form.js";
import { authorizationRequest, createUser, type RelyingParty, registerRelyingParty, signInAndRedeem } from "../helpers/relying-party.js";
import { SoftwareAuthenticator, seedPasskey } from "../helpers/software-authenticator.js";
import { DATABASE_KINDS } from "../helpers/test-database.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

/** The user's side of a recovery over HTTP, against the server and relying party `current` gives. */
function recoveryHelpers(current: () => { server: TestServer; rp: RelyingParty }) {
  /** Opens "Lost your passkey?" from a sign-in page and asks for a link; returns the page that answered. */
  async function askForLink(email: string) {
    const { server, rp } = current();
    const { browser, submit } = await openRecoveryForm(server, rp);
    return { browser, sent: await submit(email) };
  }

  async function linkFor(email: string): Promise<string> {
    const link = (await mailsTo(current().server, email)).filter((mail) => mail.subject.startsWith("Recover")).at(-1)?.link;
    if (!link) throw new Error(`no recovery link mailed to ${email}`);
    return link;
  }

  /** Opens the link and answers its passkey ceremony. */
  async function addPasskey(browser: BrowserSession, link: string, authenticator = new SoftwareAuthenticator()) {
    const { server } = current();
    const page = await browser.get(link);
    const csrf = page.text.match(/data-csrf="([^"]+)"/)?.[1] ?? csrfTokenOf(page.text);
    const token = new URL(link).searchParams.get("token");
    const post = (path: string, body: unknown) => browser.postJson(`${server.issuer}/recover${path}`, csrf, body);
    const options = await post("/passkey/register/options", { token });
    if (options.status !== 200) return { options, verify: null };
    const { challenge } = JSON.parse(options.text) as { challenge: string };
    const verify = await post("/passkey/register/verify", { ...authenticator.registration({ challenge, origin: server.issuer, rpId: "127.0.0.1" }), token });
    return { options, verify };
  }

  return { askForLink, linkFor, addPasskey };
}

// Issue #4 recovery and SECURITY-TESTS.md §18–20: one-time, expiring links that can only add a way
// in, behind the user's second factor, signing everything else out.
describe.each(DATABASE_KINDS)("account recovery (%s)", (kind) => {
  let server: TestServer;
  let rp: RelyingParty;
  let counter = 0;

  beforeAll(async () => {
    // The immediate path: no waiting for accounts without a code factor (the default delay is tested below).
    server = await startTestServer(kind, { recovery: { delaySeconds: 0 } });
    rp = await registerRelyingParty(server, { firstParty: true });
  });
  afterAll(() => server?.stop());

  async function newUser() {
    const email = `recover-${++counter}@example.com`;
    return { email, id: await createUser(server, email) };
  }

  const { askForLink, linkFor, addPasskey } = recoveryHelpers(() => ({ server, rp }));

  it("answers the same for known and unknown addresses, and mails a link only to an account (§20)", async () => {
    const user = await newUser();
    const known = await askForLink(user.email);
    const unknown = await askForLink("nobody-here@example.com");
    expect(known.sent.status).toBe(200);
    const blank = (html: string) => comparablePage(html).replace(/<strong>[^<]+<\/strong>/, "");
    expect(blank(unknown.sent.text)).toBe(blank(known.sent.text));
    expect(await mailsTo(server, "nobody-here@example.com")).toHaveLength(0);
    const link = await linkFor(user.email);
    expect(link).toMatch(/\/recover\/verify\?token=[A-Za-z0-9_-]{43}$/);
    const row = await server.database.prisma.emailLink.findFirstOrThrow({ where: { email: user.email, purpose: "recovery" } });
    expect(row.expiresAt.getTime() - row.createdAt.getTime()).toBeLessThanOrEqual(15 * 60_000);
    expect(JSON.stringify(row)).not.toContain(new URL(link).searchParams.get("token"));
  });

  // The answer cannot depend on the account if it never waits for the account: the lookup and the
  // mail are one background task, the same for every address. Held here, the task cannot have run
  // when the answer arrives. (How long answers take, known against unknown, is measured by
  // `npm run bench:recovery-timing`.)
  it("answers without waiting for the address lookup, and leaves the same task for known and unknown addresses (§20)", async () => {
    const user = await newUser();
    const unknown = "nobody-either@example.com";
    const lookups = vi.spyOn(server.services.userQueries, "findUserByEmail");
    const queue = holdBackgroundTasks(server.services.tasks);
    try {
      for (const email of [user.email, unknown]) {
        const { sent } = await askForLink(email);
        expect(sent.status).toBe(200);
        // The answer is here; the address was not looked up, and nothing was mailed.
        expect(lookups).not.toHaveBeenCalledWith(email);
        expect(queue.names).toEqual(["recovery mail"]);
        expect(await mailsTo(server, email)).toHaveLength(0);
        await queue.release();
        expect(lookups).toHaveBeenCalledWith(email);
      }
    } finally {
      queue.restore();
      lookups.mockRestore();
    }
    expect((await mailsTo(server, user.email)).map((mail) => mail.subject)).toEqual([expect.stringMatching(/^Recover/)]);
    expect(await mailsTo(server, unknown)).toHaveLength(0);
  });

  it("adds a passkey once, signs out every session and refresh token, and tells the owner (§18, §19)", async () => {
    const user = await newUser();
    const before = await signInAndRedeem(server, rp, new BrowserSession(), user.email);
    const { browser } = await askForLink(user.email);
    const link = await linkFor(user.email);
    const { verify } = await addPasskey(browser, link);
    expect(verify?.status).toBe(200);
    expect(await server.database.prisma.credential.count({ where: { userId: user.id } })).toBe(1);

    // The earlier session and its refresh token are gone.
    await expect(oidc.refreshTokenGrant(rp.config, before.tokens.refresh_token as string)).rejects.toMatchObject({ error: "invalid_grant" });
    const silent = await before.browser.follow((await authorizationRequest(rp, { prompt: "none" })).url.toString(), server.issuer);
    expect(new URL(silent.location as string).searchParams.get("error")).toBe("login_required");

    const events = (await server.services.events.listForUser(user.id)).map((event) => `${event.type}:${event.outcome}`);
    expect(events).toContain("recovery.completed:success");
    const mails = await mailsTo(server, user.email);
    expect(mails.some((mail) => mail.text.includes("Your account was recovered"))).toBe(true);

    // Used once.
    expect((await new BrowserSession().get(link)).status).toBe(400);
  });

  it("commits the sign-out with the recovery: a failed completion keeps both, a completed one leaves no token", async () => {
    const user = await newUser();
    const before = await signInAndRedeem(server, rp, new BrowserSession(), user.email);
    await askForLink(user.email);
    const tokenHash = sha256(new URL(await linkFor(user.email)).searchParams.get("token") as string);
    const recoveries = createRecoveryQueries(server.services.db);
    const existing = {
      id: `taken-${kind}-${counter}`,
      userId: user.id,
      publicKey: Buffer.from("k"),
      deviceType: "singleDevice",
      backupEligible: false,
      backedUp: false,
      aaguid: "00000000-0000-0000-0000-000000000000",
      name: "old",
    };
    await server.services.credentials.insertCredential(existing);
    const artifacts = async () =>
      (await server.services.db.oidcPayload.findMany({ where: { accountId: user.id }, select: { kind: true } })).map((row) => row.kind).sort();
    const signedIn = ["AccessToken", "AuthorizationCode", "Grant", "RefreshToken", "Session"];
    expect(await artifacts()).toEqual(signedIn);
    const session = await server.services.db.oidcPayload.findFirstOrThrow({ where: { accountId: user.id, kind: "Session" } });

    // The new passkey cannot be stored (its id is taken): nothing happens — no sign-out, the link still works.
    const attempt = { tokenHash, userId: user.id, now: new Date(), factorRequired: false, credential: { ...existing, name: "new" } };
    await expect(recoveries.completeRecovery(attempt)).rejects.toMatchObject({ code: "P2002" });
    expect((await oidc.refreshTokenGrant(rp.config, before.tokens.refresh_token as string)).access_token).toBeTruthy();
    const ended = await recoveries.completeRecovery({ ...attempt, credential: { ...existing, id: `${existing.id}-new`, name: "new" } });
    // The same commit removed every session, grant and token of the account.
    expect(Array.isArray(ended) && ended.map((endedSession) => endedSession.uid)).toEqual([session.uid]);
    expect(await artifacts()).toEqual([]);
  });

  it("sets no password when a passkey arrived while it was hashed: checked again on the locked row, the link still works", async () => {
    const user = await newUser();
    await askForLink(user.email);
    const tokenHash = sha256(new URL(await linkFor(user.email)).searchParams.get("token") as string);
    const recoveries = createRecoveryQueries(server.services.db);
    const before = (await server.database.prisma.user.findUnique({ where: { id: user.id } }))?.passwordHash;
    // The page offered a password (no passkey then); one was added before the completion committed.
    await seedPasskey(server.database.prisma, user.id);
    const attempt = { tokenHash, userId: user.id, now: new Date(), factorRequired: false, password: { hash: "$argon2id$new", allowFirst: true } };
    expect(await recoveries.completeRecovery(attempt)).toBe("password_refused");
    expect((await server.database.prisma.user.findUnique({ where: { id: user.id } }))?.passwordHash).toBe(before);
    expect((await server.database.prisma.emailLink.findFirst({ where: { tokenHash } }))?.consumedAt).toBeNull();
    // signUp.passwords "never": an account without a password gets none from a recovery either.
    await server.database.prisma.credential.deleteMany({ where: { userId: user.id } });
    await server.database.prisma.user.update({ where: { id: user.id }, data: { passwordHash: null } });
    expect(await recoveries.completeRecovery({ ...attempt, password: { hash: "$argon2id$new", allowFirst: false } })).toBe("password_refused");
    expect((await server.database.prisma.user.findUnique({ where: { id: user.id } }))?.passwordHash).toBeNull();
  });

  it("asks for the second factor first when the user has one, and never removes it (§19)", async () => {
    const user = await newUser();
    const { secret } = await server.services.totp.startEnrolment(user);
    await server.services.totp.confirmEnrolment(user.id, await generate({ secret, epoch: Math.floor(Date.now() / 1000) - 30 }));
    const { browser } = await askForLink(user.email);
    const link = await linkFor(user.email);
    const page = await browser.get(link);
    expect(page.text).toContain('action="/recover/factor"');
    expect(page.text).not.toContain("Create a new passkey");
    // Skipping the factor step is refused by the server, not only hidden.
    const skipped = await addPasskey(browser, link);
    expect(skipped.options.status).toBe(400);
    expect(JSON.parse(skipped.options.text).error).toBe("recovery.factor_required");

    const token = new URL(link).searchParams.get("token") as string;
    const wrong = await browser.postForm(`${server.issuer}/recover/factor`, { _csrf: csrfTokenOf(page.text), token, code: "000000" });
    expect(wrong.status).toBe(400);
    const passed = await browser.postForm(`${server.issuer}/recover/factor`, { _csrf: csrfTokenOf(page.text), token, code: await generate({ secret }) });
    expect(passed.status).toBe(200);
    expect(passed.text).toContain("Create a new passkey");
    const { verify } = await addPasskey(browser, link);
    expect(verify?.status).toBe(200);
    expect(await server.services.totp.isEnabled(user.id)).toBe(true);
  });

  it("refuses an expired link and another user's token (§18)", async () => {
    const user = await newUser();
    await askForLink(user.email);
    const link = await linkFor(user.email);
    const browser = new BrowserSession();
    const page = await browser.get(link);
    await server.database.prisma.emailLink.updateMany({ where: { email: user.email, purpose: "recovery" }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const expired = await new BrowserSession().get(link);
    expect(expired.status).toBe(400);
    expect(expired.text).toContain("expired or was already used");
    // The page opened before it expired cannot finish either.
    const options = await browser.postJson(`${server.issuer}/recover/passkey/register/options`, page.text.match(/data-csrf="([^"]+)"/)?.[1] as string, {
      token: new URL(link).searchParams.get("token"),
    });
    expect(options.status).toBe(400);
    expect(JSON.parse(options.text).error).toBe("recovery.link_unusable");
    // A sign-up link is not a recovery link.
    await server.services.signUp.invite("not-yet@example.com");
    const invitation = (await mailsTo(server, "not-yet@example.com"))[0]?.link as string;
    const token = new URL(invitation).searchParams.get("token");
    expect((await new BrowserSession().get(`${server.issuer}/recover/verify?token=${token}`)).status).toBe(400);
  });

  it("sets a password only for an account without a passkey", async () => {
    const user = await newUser();
    const { browser } = await askForLink(user.email);
    const link = await linkFor(user.email);
    const page = await browser.get(link);
    expect(page.text).toContain('action="/recover/password"');
    const token = new URL(link).searchParams.get("token") as string;
    const short = await browser.postForm(`${server.issuer}/recover/password`, { _csrf: csrfTokenOf(page.text), token, password: "short" });
    expect(short.status).toBe(400);
    const set = await browser.postForm(`${server.issuer}/recover/password`, { _csrf: csrfTokenOf(page.text), token, password: "a brand new passphrase" });
    expect(set.status).toBe(200);
    expect(await server.services.users.verifyPassword(user.email, "a brand new passphrase")).toBe(user.id);
  });
});

// SECURITY-TESTS.md §19: with the defaults, the mailbox alone does not recover an account without a
// code factor at once (recovery.delaySeconds, a day); the owner can cancel meanwhile.
describe.each(DATABASE_KINDS)("§19 recovery by mail alone waits, with the default delay (%s)", (kind) => {
  let server: TestServer;
  let rp: RelyingParty;
  let counter = 0;
  const { askForLink, linkFor, addPasskey } = recoveryHelpers(() => ({ server, rp }));

  beforeAll(async () => {
    server = await startTestServer(kind);
    rp = await registerRelyingParty(server, { firstParty: true });
  });
  afterAll(() => server?.stop());

  async function newUser() {
    const email = `waiting-${++counter}@example.com`;
    return { email, id: await createUser(server, email) };
  }

  const linkRow = (email: string) => server.database.prisma.emailLink.findFirstOrThrow({ where: { email, purpose: "recovery" } });
  const credentials = (userId: string) => server.database.prisma.credential.count({ where: { userId } });

  /** The clock moved past the delay: the link's waiting period is over and its normal lifetime starts. */
  async function delayPassed(email: string) {
    const now = Date.now();
    await server.database.prisma.emailLink.updateMany({
      where: { email, purpose: "recovery" },
      data: { notBefore: new Date(now - 1000), expiresAt: new Date(now + server.config.recovery.linkSeconds * 1000) },
    });
  }

  it("waits a day by default for an account without a code factor: the page says when, and nothing can be added yet", async () => {
    expect(server.config.recovery.delaySeconds).toBe(86400);
    const user = await newUser();
    const { browser } = await askForLink(user.email);
    const link = await linkFor(user.email);
    const row = await linkRow(user.email);
    const worksFrom = row.notBefore as Date;
    expect(Math.round((worksFrom.getTime() - row.createdAt.getTime()) / 3600_000)).toBe(24);
    expect(row.expiresAt.getTime() - worksFrom.getTime()).toBe(server.config.recovery.linkSeconds * 1000);
    const mail = (await mailsTo(server, user.email)).at(-1);
    expect(mail?.text).toContain(`the link starts working only at ${server.services.texts.inLanguage("en").dateTime(worksFrom)},`);

    const page = await browser.get(link);
    expect(page.status).toBe(200);
    expect(page.text).toContain(`this link starts working at <time datetime="${worksFrom.toISOString()}" data-local-time>`);
    expect(page.text).not.toContain("Create a new passkey");
    expect(page.text).not.toContain('action="/recover/password"');
    expect(page.text).toContain("Cancel this recovery");

    // The server refuses every step, not only the page: no passkey, no password.
    const { options } = await addPasskey(browser, link);
    expect(options.status).toBe(400);
    expect(JSON.parse(options.text).error).toBe("recovery.waiting");
    const token = new URL(link).searchParams.get("token") as string;
    const password = await browser.postForm(`${server.issuer}/recover/password`, { _csrf: csrfTokenOf(page.text), token, password: "a brand new passphrase" });
    expect(password.status).toBe(400);
    expect(password.text).toContain("starts working at");
    expect(await credentials(user.id)).toBe(0);
    expect(await server.services.users.verifyPassword(user.email, "a brand new passphrase")).toBeNull();
    expect((await linkRow(user.email)).consumedAt).toBeNull();
  });

  it("works once the delay has passed", async () => {
    const user = await newUser();
    const { browser } = await askForLink(user.email);
    const link = await linkFor(user.email);
    await delayPassed(user.email);
    const page = await browser.get(link);
    expect(page.text).toContain("Create a new passkey");
    const { verify } = await addPasskey(browser, link);
    expect(verify?.status).toBe(200);
    expect(await credentials(user.id)).toBe(1);
    expect((await server.services.events.listForUser(user.id)).map((event) => event.type)).toContain("recovery.completed");
  });

  it("does not delay an account with an authenticator app: its code is asked instead", async () => {
    const user = await newUser();
    const { secret } = await server.services.totp.startEnrolment(user);
    await server.services.totp.confirmEnrolment(user.id, await generate({ secret, epoch: Math.floor(Date.now() / 1000) - 30 }));
    const { browser } = await askForLink(user.email);
    const link = await linkFor(user.email);
    expect((await linkRow(user.email)).notBefore).toBeNull();
    expect((await mailsTo(server, user.email)).at(-1)?.text).not.toContain("starts working");
    const page = await browser.get(link);
    expect(page.text).not.toContain("starts working");
    expect(page.text).toContain('action="/recover/factor"');

    const token = new URL(link).searchParams.get("token") as string;
    const passed = await browser.postForm(`${server.issuer}/recover/factor`, { _csrf: csrfTokenOf(page.text), token, code: await generate({ secret }) });
    expect(passed.text).toContain("Create a new passkey");
    const { verify } = await addPasskey(browser, link);
    expect(verify?.status).toBe(200);
    expect(await credentials(user.id)).toBe(1);
  });

  it("lets the owner cancel a waiting recovery an operator started", async () => {
    const { id, email } = await newUser();
    const issued = await server.services.recovery.issueByOperator(email);
    expect(issued.waitUntil).toBeInstanceOf(Date);
    const mail = (await mailsTo(server, email)).at(-1);
    expect(mail?.text).toContain("starts working only at");
    expect(mail?.text).toContain("An administrator started a recovery");
    const browser = new BrowserSession();
    const page = await browser.get(mail?.link as string);
    expect(page.text).toContain("starts working at");
    const token = new URL(mail?.link as string).searchParams.get("token") as string;
    const cancelled = await browser.postForm(`${server.issuer}/recover/cancel`, { _csrf: csrfTokenOf(page.text), token });
    expect(cancelled.text).toContain("The recovery is cancelled");
    // Cancelled for good: not even after the delay.
    await delayPassed(email);
    expect((await browser.get(mail?.link as string)).status).toBe(400);
    const events = (await server.services.events.listForUser(id)).map((event) => event.type);
    expect(events).toEqual(expect.arrayContaining(["recovery.issued_by_operator", "recovery.cancelled"]));
  });
});
