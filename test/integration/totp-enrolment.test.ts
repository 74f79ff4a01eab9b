import { generate } from "otplib";
import type { Counter } from "prom-client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ENROLMENT_SECONDS } from "../../src/mfa/totp.js";
import { AccountPage } from "../helpers/account-page.js";
import type { PageResponse } from "../helpers/browser-session.js";
import { moveClock, restoreClock } from "../helpers/movable-clock.js";
import { createUser } from "../helpers/relying-party.js";
import { DATABASE_KINDS } from "../helpers/test-database.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

const ALLOWANCE = 5;

const secretOf = (page: PageResponse) => page.text.match(/<code id="totp-secret">([A-Z2-7]+)<\/code>/)?.[1] as string;
const totalOf = async (counter: Counter) => (await counter.get()).values.reduce((sum, value) => sum + value.value, 0);

// Issue #15 item 5.3: a wrong first code during the authenticator app's set-up is retried with the
// same secret (kept sealed server-side) until the set-up expires, throttled like every other code.
describe.each(DATABASE_KINDS)("authenticator app set-up on the account page (%s)", (kind) => {
  let server: TestServer;
  let counter = 0;

  beforeAll(async () => {
    // A verification window longer than the set-up's, so the set-up's own expiry is what is tested.
    server = await startTestServer(kind, { account: { reverifySeconds: 3 * ENROLMENT_SECONDS }, throttle: { secondFactorFailuresPerAccount: ALLOWANCE } });
  });
  afterAll(() => server?.stop());
  afterEach(restoreClock);

  async function startSetUp() {
    const email = `totp-setup-${kind}-${++counter}@example.com`;
    const id = await createUser(server, email);
    const account = new AccountPage(server, email);
    const page = await account.open();
    const enrol = await account.post(page, "/account/security/totp");
    expect(enrol.status).toBe(200);
    return { id, account, enrol, secret: secretOf(enrol) };
  }

  it("shows the same secret again after a wrong code, and a right code then confirms it", async () => {
    const { id, account, enrol, secret } = await startSetUp();
    const wrong = await account.post(enrol, "/account/security/totp/confirm", { code: "000000" });
    expect(wrong.status).toBe(400);
    expect(wrong.text).toContain("That code did not match.");
    expect(secretOf(wrong)).toBe(secret);
    expect(wrong.text).toMatch(/<img src="data:image\/png;base64,/);
    expect(wrong.text).toContain('action="/account/security/totp/confirm"');
    // Only the sealed secret is stored, never the one the page shows.
    const stored = await server.database.prisma.totpFactor.findUniqueOrThrow({ where: { userId: id } });
    expect(stored.secretEncrypted).not.toContain(secret);
    expect(await server.services.totp.isEnabled(id)).toBe(false);

    const again = await account.post(wrong, "/account/security/totp/confirm", { code: "12345" });
    expect(again.status).toBe(400);
    expect(secretOf(again)).toBe(secret);
    const done = await account.post(again, "/account/security/totp/confirm", { code: await generate({ secret }) });
    expect(done.status).toBe(200);
    expect(done.text).toContain("Your authenticator app is set up");
    expect(await server.services.totp.isEnabled(id)).toBe(true);
  });

  it("refuses a right code once the set-up expired, says so, and a new set-up works", async () => {
    const { id, account, enrol, secret } = await startSetUp();
    moveClock(ENROLMENT_SECONDS + 5);
    const late = await account.post(enrol, "/account/security/totp/confirm", { code: await generate({ secret }) });
    expect(late.status).toBe(400);
    expect(late.text).toContain("This set-up expired");
    expect(late.text).toContain('action="/account/security/totp"');
    expect(late.text).not.toContain(secret);
    expect(await server.services.totp.isEnabled(id)).toBe(false);

    const restarted = await account.post(late, "/account/security/totp");
    const fresh = secretOf(restarted);
    expect(fresh).not.toBe(secret);
    expect((await account.post(restarted, "/account/security/totp/confirm", { code: await generate({ secret: fresh }) })).status).toBe(200);
    expect(await server.services.totp.isEnabled(id)).toBe(true);
  });

  it("checks at most the allowance of 50 parallel wrong codes; the rest, and then the right code, are refused with 429", async () => {
    const { id, account, enrol, secret } = await startSetUp();
    const before = await totalOf(server.services.metrics.secondFactorChecks);
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => account.post(enrol, "/account/security/totp/confirm", { code: String(100000 + i * 7919).slice(-6) })),
    );
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.filter((status) => status !== 400 && status !== 429)).toEqual([]);
    expect(statuses.filter((status) => status === 400).length).toBeLessThanOrEqual(ALLOWANCE);
    expect((await totalOf(server.services.metrics.secondFactorChecks)) - before).toBeLessThanOrEqual(ALLOWANCE);
    const refused = answers.find((answer) => answer.status === 429);
    expect(refused?.text).toContain("Too many wrong codes.");

    const right = await account.post(enrol, "/account/security/totp/confirm", { code: await generate({ secret }) });
    expect(right.status).toBe(429);
    expect(await server.services.totp.isEnabled(id)).toBe(false);
    expect((await server.services.events.listForUser(id)).map((event) => event.type)).toContain("mfa.locked_out");
  });
});
