import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrowserSession, csrfTokenOf, formActionOf } from "../helpers/browser-session.js";
import { authorizationRequest, createUser, type RelyingParty, RP_CALLBACK, registerRelyingParty, signIn } from "../helpers/relying-party.js";
import { DATABASE_KINDS } from "../helpers/test-database.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

const codeOf = (location: string | null) => (location?.startsWith(RP_CALLBACK) ? new URL(location).searchParams.get("code") : null);

// Found by the red team of issue #13 (SECURITY-TESTS.md: single-use values, sign-out): a request's
// writes of the session or interaction it read must not outlive a sign-out, or another resume, that
// came while it ran.
describe.each(DATABASE_KINDS)("sign-in state ended while a request runs (%s)", (kind) => {
  let server: TestServer;
  let rp: RelyingParty;
  let firstParty: RelyingParty;
  let userId: string;

  beforeAll(async () => {
    server = await startTestServer(kind);
    rp = await registerRelyingParty(server);
    firstParty = await registerRelyingParty(server, { firstParty: true });
    userId = await createUser(server);
  });
  afterAll(() => server?.stop());

  it("50 parallel resumes of one approved interaction give exactly one code", async () => {
    const browser = new BrowserSession();
    const start = await authorizationRequest(rp);
    let page = await browser.follow(start.url.toString(), server.issuer);
    const login = new URL(formActionOf(page.text, "/login"), server.issuer).toString();
    page = await browser.follow(
      login,
      server.issuer,
      await browser.postForm(login, { _csrf: csrfTokenOf(page.text), email: "alice@example.com", password: "correct horse battery staple" }),
    );
    const skip = new URL(formActionOf(page.text, "/passkey/skip"), server.issuer).toString();
    page = await browser.follow(skip, server.issuer, await browser.postForm(skip, { _csrf: csrfTokenOf(page.text) }));
    const consent = new URL(formActionOf(page.text, "/consent"), server.issuer).toString();
    const approved = await browser.postForm(consent, { _csrf: csrfTokenOf(page.text) });
    const resume = approved.location as string;
    expect(resume).toContain("/auth/");

    const answers = await Promise.all(Array.from({ length: 50 }, () => browser.get(resume)));
    const codes = answers.map((answer) => codeOf(answer.location)).filter((code) => code !== null);
    expect(codes.length).toBe(1);
    expect(answers.every((answer) => answer.status < 500)).toBe(true);
  });

  // PostgreSQL only: another connection holds the sign-out open until the request is waiting for it.
  it.skipIf(kind !== "postgres")("a sign-out committed while an authorization runs is not undone, and the authorization gives no code", async () => {
    const browser = new BrowserSession();
    await signIn(server, rp, browser);
    const admin = new pg.Client({ connectionString: server.database.url as string });
    await admin.connect();
    try {
      await admin.query("BEGIN");
      // What "sign out everywhere" deletes first: the account's sessions (held uncommitted).
      await admin.query(`DELETE FROM "oidc_payload" WHERE "kind" = 'Session' AND "account_id" = $1`, [userId]);
      // A new app for this session: the authorization reads the session, adds the app to it and issues a code.
      const pending = browser.follow((await authorizationRequest(firstParty, { prompt: "none" })).url.toString(), server.issuer);
      await expect
        .poll(
          async () =>
            (await admin.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE "datname" = current_database() AND "wait_event_type" = 'Lock'`)).rows[0]
              .n,
        )
        .toBeGreaterThan(0);
      await admin.query("COMMIT");
      const answer = await pending;
      expect(codeOf(answer.location)).toBeNull();
      expect(answer.status).toBe(400);
      expect(answer.text).toContain("It was completed or ended in another window, or you were signed out meanwhile.");
    } finally {
      await admin.end();
    }
    expect(await server.database.prisma.oidcPayload.count({ where: { kind: "Session", accountId: userId } })).toBe(0);
    const silent = await browser.follow((await authorizationRequest(rp, { prompt: "none" })).url.toString(), server.issuer);
    expect(new URL(silent.location as string).searchParams.get("error")).toBe("login_required");
  });

  // The other order (red team, second pass): the resume gives the session a new id and commits while
  // the sign-out's delete, whose snapshot predates that row, waits for the old one.
  it.skipIf(kind !== "postgres").each(["sign out everywhere", "sign out this session"] as const)(
    "%s, waiting while a resume renames the session, still ends it: no session, no code",
    async (how) => {
      const browser = new BrowserSession();
      await signIn(server, rp, browser);
      // Consent asked again and approved: its resume completes a sign-in, so the session gets a new id.
      const start = await authorizationRequest(rp, { prompt: "consent" });
      const consent = await browser.follow(start.url.toString(), server.issuer);
      const action = new URL(formActionOf(consent.text, "/consent"), server.issuer).toString();
      const resume = (await browser.postForm(action, { _csrf: csrfTokenOf(consent.text) })).location as string;
      const [session] = await server.database.prisma.oidcPayload.findMany({ where: { kind: "Session", accountId: userId } });
      const admin = new pg.Client({ connectionString: server.database.url as string });
      await admin.connect();
      const waiting = async () =>
        (await admin.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE "datname" = current_database() AND "wait_event_type" = 'Lock'`)).rows[0].n;
      try {
        await admin.query("BEGIN");
        await admin.query(`SELECT 1 FROM "oidc_payload" WHERE "id_hash" = $1 FOR UPDATE`, [session?.idHash]);
        // First in the lock's queue: the resume; behind it, the sign-out (its snapshot taken before the resume commits).
        const resumed = browser.get(resume);
        await expect.poll(waiting).toBe(1);
        const signedOut =
          how === "sign out everywhere" ? server.services.signOutEverywhere(userId) : server.services.signOutSession(userId, session?.uid as string);
        await expect.poll(waiting).toBe(2);
        await admin.query("COMMIT");
        await Promise.all([resumed, signedOut]);
      } finally {
        await admin.end();
      }
      expect(await server.database.prisma.oidcPayload.count({ where: { accountId: userId, kind: { in: ["Session", "AuthorizationCode"] } } })).toBe(0);
      const silent = await browser.follow((await authorizationRequest(rp, { prompt: "none" })).url.toString(), server.issuer);
      expect(new URL(silent.location as string).searchParams.get("error")).toBe("login_required");
    },
  );
});
