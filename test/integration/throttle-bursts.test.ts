import { generate } from "otplib";
import type { Counter } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrowserSession, csrfTokenOf, formActionOf, type PageResponse } from "../helpers/browser-session.js";
import { mailsTo } from "../helpers/outbox.js";
import { authorizationRequest, createUser, PASSWORD, type RelyingParty, registerRelyingParty } from "../helpers/relying-party.js";
import { DATABASE_KINDS } from "../helpers/test-database.js";
import type { TestServer } from "../helpers/test-server.js";
import { tokenRequest } from "../helpers/token-requests.js";
import { startTwoInstances, stopInstances } from "../helpers/two-instances.js";

const THROTTLE = {
  passwordFailuresPerAccount: 10,
  passwordFailuresPerAccountUnknownDevices: 10,
  passwordFailuresPerIp: 1000,
  secondFactorFailuresPerAccount: 5,
  adminRequestsPerMinute: 8,
};
const MAILS = { mailsPerEmailPerHour: 5, mailsPerIpPerHour: 1000 };

const total = async (counter: Counter, labels: Record<string, string> = {}) =>
  (await counter.get()).values
    .filter((value) => Object.entries(labels).every(([name, wanted]) => value.labels[name] === wanted))
    .reduce((sum, value) => sum + value.value, 0);

const BACKUP_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789";
const backupLike = (i: number) => Array.from({ length: 12 }, (_, j) => BACKUP_ALPHABET[(i * 7 + j * 3) % BACKUP_ALPHABET.length]).join("");
const totpLike = (i: number, valid: Set<string>) =>
  [100000 + i * 7919, 100001 + i * 7919].map((n) => String(n).slice(-6)).find((code) => !valid.has(code)) as string;

function tally(statuses: number[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const status of statuses) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}

// SECURITY-TESTS.md §28 (issue #10 items 4 and 6): N parallel attempts, at one instance or spread
// over two on one database, check at most the allowance; the rest are refused with 429, none fails.
describe.each(DATABASE_KINDS)("throttles hold under bursts (%s)", (kind) => {
  let first: TestServer;
  let second: TestServer;
  let servers: TestServer[];
  let rp: RelyingParty;
  let network = 0;
  // Each test comes from its own address, so the per-IP counts of one do not touch another.
  const nextIp = () => `198.51.100.${++network}`;

  beforeAll(async () => {
    [first, second] = await startTwoInstances(kind, { throttle: THROTTLE, signUp: MAILS }, { env: { TRUST_PROXY: "true" } });
    servers = [first, second];
    rp = await registerRelyingParty(first, { firstParty: true });
  });
  afterAll(() => stopInstances(first, second));

  // Each instance counts its own checks: the sum is what the two together verified.
  const sum = (counts: number[]) => counts.reduce((a, b) => a + b, 0);
  const passwordChecks = async () => sum(await Promise.all(servers.map((server) => total(server.services.metrics.passwordChecks))));
  const codeChecks = async (labels: Record<string, string> = {}) =>
    sum(await Promise.all(servers.map((server) => total(server.services.metrics.secondFactorChecks, labels))));

  /** A browser at the sign-in page of a new authorization, served by `server`. */
  async function signInPage(server: TestServer, ip: string, browser = new BrowserSession()) {
    browser.forwardedFor = ip;
    // The relying party discovered the first instance; the same request goes to `server`.
    const url = (await authorizationRequest(rp)).url.toString().replace(first.issuer, server.issuer);
    const page = await browser.follow(url, server.issuer);
    return { browser, page, action: new URL(formActionOf(page.text, "/login"), server.issuer).toString() };
  }

  async function parallelPasswords(count: number, at: TestServer[], email: string) {
    const ip = nextIp();
    const pages = await Promise.all(Array.from({ length: count }, (_, i) => signInPage(at[i % at.length] as TestServer, ip)));
    const before = await passwordChecks();
    const answers = await Promise.all(
      pages.map(({ browser, page, action }) => browser.postForm(action, { _csrf: csrfTokenOf(page.text), email, password: "wrong password" })),
    );
    return { checked: (await passwordChecks()) - before, statuses: tally(answers.map((answer) => answer.status)) };
  }

  it("40 parallel wrong passwords at one instance: at most 10 are checked, the rest get 429 (§28)", async () => {
    await createUser(first, "burst-one@example.com");
    const { checked, statuses } = await parallelPasswords(40, [first], "burst-one@example.com");
    // Exactly the allowance: consume-first neither lets a burst through nor refuses early.
    expect(checked).toBe(10);
    expect(statuses).toEqual({ 400: 10, 429: 30 });
  });

  it("60 parallel wrong passwords across two instances: at most 10 are checked in total (§28)", async () => {
    await createUser(first, "burst-two@example.com");
    const { checked, statuses } = await parallelPasswords(60, servers, "burst-two@example.com");
    expect(checked).toBe(10);
    expect(statuses).toEqual({ 400: 10, 429: 50 });
  });

  it("counts an unknown address's burst the same way (§20)", async () => {
    const { checked, statuses } = await parallelPasswords(30, servers, "nobody-burst@example.com");
    expect(checked).toBe(10);
    expect(statuses).toEqual({ 400: 10, 429: 20 });
  });

  it("60 parallel wrong codes at one account across two instances: at most 5 are verified (§17, §28)", async () => {
    const email = "burst-mfa@example.com";
    const id = await createUser(first, email);
    const { secret } = await first.services.totp.startEnrolment({ id, email });
    const codeAt = (seconds: number) => generate({ secret, epoch: seconds });
    const now = Math.floor(Date.now() / 1000);
    expect(await first.services.totp.confirmEnrolment(id, await codeAt(now - 30))).toBe(true);
    await first.services.backupCodes.regenerate(id);
    const valid = new Set(await Promise.all([-60, -30, 0, 30, 60].map((offset) => codeAt(now + offset))));

    const { browser, page, action } = await signInPage(first, nextIp());
    const challenge = await browser.postForm(action, { _csrf: csrfTokenOf(page.text), email, password: PASSWORD });
    expect(challenge.text).toContain("/mfa");
    const mfaPath = formActionOf(challenge.text, "/mfa");
    // Half look like TOTP codes, half like backup codes: one allowance covers both kinds.
    const wrong = Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? totpLike(i, valid) : backupLike(i)));
    const before = await codeChecks();
    const answers: PageResponse[] = await Promise.all(
      wrong.map((code, i) => browser.postForm(`${(servers[i % 2] as TestServer).issuer}${mfaPath}`, { _csrf: csrfTokenOf(challenge.text), code })),
    );
    const checked = (await codeChecks()) - before;
    expect(checked).toBe(5);
    expect(await codeChecks({ kind: "totp" })).toBeGreaterThan(0);
    expect(tally(answers.map((answer) => answer.status))).toEqual({ 400: 5, 429: 55 });
  });

  it("20 parallel sign-up link requests for one address: 5 mails, the allowance (§28)", async () => {
    const email = "burst-new@example.com";
    const ip = nextIp();
    const forms = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const server = servers[i % 2] as TestServer;
        const { browser, page } = await signInPage(server, ip);
        const url = `${server.issuer}${page.text.match(/href="(\/interaction\/[^"]+\/signup)"/)?.[1]}`;
        return { browser, url, form: await browser.get(url) };
      }),
    );
    const answers = await Promise.all(forms.map(({ browser, url, form }) => browser.postForm(url, { _csrf: csrfTokenOf(form.text), email })));
    const sent = (await mailsTo(first, email)).length + (await mailsTo(second, email)).length;
    // One mail per request admitted, and only those (the outbox is read after the queued mails went out).
    expect(sent).toBe(5);
    expect(tally(answers.map((answer) => answer.status))).toEqual({ 200: 5, 429: 15 });
  });

  it("20 parallel recovery link requests for one account: 5 mails, the allowance (§28)", async () => {
    const email = "burst-recover@example.com";
    await createUser(first, email);
    const ip = nextIp();
    const forms = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const server = servers[i % 2] as TestServer;
        const { browser, page } = await signInPage(server, ip);
        const url = `${server.issuer}${page.text.match(/href="(\/interaction\/[^"]+\/recover)"/)?.[1]}`;
        return { browser, url, form: await browser.get(url) };
      }),
    );
    const answers = await Promise.all(forms.map(({ browser, url, form }) => browser.postForm(url, { _csrf: csrfTokenOf(form.text), email })));
    const sent = [...(await mailsTo(first, email)), ...(await mailsTo(second, email))].filter((mail) => mail.subject.startsWith("Recover"));
    expect(sent).toHaveLength(5);
    expect(tally(answers.map((answer) => answer.status))).toEqual({ 200: 5, 429: 15 });
  });

  it("30 parallel admin API requests of one client across two instances: at most 8 are served (§28)", async () => {
    const created = await first.services.clients.create({ name: "Burst", redirectUris: [], clientCredentials: true, scopes: ["admin"] });
    const issued = await tokenRequest(
      first.issuer,
      { grant_type: "client_credentials", scope: "admin" },
      { clientId: created.client_id, clientSecret: created.client_secret as string },
    );
    const headers = { authorization: `Bearer ${issued.body.access_token}` };
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => fetch(`${(servers[i % 2] as TestServer).issuer}/admin/api/users`, { headers }).then((response) => response.status)),
    );
    expect(tally(answers)).toEqual({ 200: 8, 429: 22 });
  });
});
