import * as oidc from "openid-client";
import type { CookieJar } from "tough-cookie";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/db/open-database.js";
import { BrowserSession, csrfTokenOf, formActionOf } from "../helpers/browser-session.js";
import { authorizationRequest, PASSWORD, type RelyingParty, RP_CALLBACK, registerRelyingParty } from "../helpers/relying-party.js";
import { SoftwareAuthenticator } from "../helpers/software-authenticator.js";
import { DATABASE_KINDS, openTestDatabase } from "../helpers/test-database.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

// Issue #13: the statements one whole sign-in sends, counted at the driver, on each database.
describe.each(DATABASE_KINDS)("statements per sign-in (%s)", (kind) => {
  let server: TestServer;
  let rp: RelyingParty;
  const authenticator = new SoftwareAuthenticator();
  let userId: string;

  beforeAll(async () => {
    server = await startTestServer(kind);
    rp = await registerRelyingParty(server);
    userId = (await server.services.users.create({ email: "alice@example.com", password: PASSWORD })).id;
    // The passkey, created as a user would: password sign-in, then "Create a passkey".
    const browser = new BrowserSession();
    const page = await browser.follow((await authorizationRequest(rp)).url.toString(), server.issuer);
    const prompt = await browser.postForm(new URL(formActionOf(page.text, "/login"), server.issuer).toString(), {
      _csrf: csrfTokenOf(page.text),
      email: "alice@example.com",
      password: PASSWORD,
    });
    const post = (path: string, body: unknown) => browser.postJson(`${page.url}${path}`, csrfTokenOf(prompt.text), body);
    const { challenge } = JSON.parse((await post("/passkey/register/options", {})).text) as { challenge: string };
    expect((await post("/passkey/register/verify", authenticator.registration({ challenge, origin: server.issuer, rpId: "127.0.0.1" }))).status).toBe(200);
    await server.services.tasks.drain();
  });
  afterAll(() => server?.stop());

  /** The statements of each HTTP request (`POST /interaction/…/passkey/authenticate/verify`) one flow sends, in order. */
  type Requests = { request: string; statements: string[] }[];

  /** A browser whose every request starts a new entry of `requests`, and the statements each sent. */
  function recordingBrowser(jar?: CookieJar) {
    const requests: Requests = [];
    const stop = server.database.statements.listen((sql) => requests.at(-1)?.statements.push(sql));
    const browser = new (class extends BrowserSession {
      override request(url: string, init: RequestInit = {}) {
        requests.push({ request: `${init.method ?? "GET"} ${new URL(url).pathname}`, statements: [] });
        return super.request(url, init);
      }
    })(jar);
    const redeem = async (start: Awaited<ReturnType<typeof authorizationRequest>>, callback: string | null) => {
      expect(callback?.startsWith(RP_CALLBACK)).toBe(true);
      requests.push({ request: "POST /token", statements: [] });
      const tokens = await oidc.authorizationCodeGrant(rp.config, new URL(callback as string), {
        pkceCodeVerifier: start.codeVerifier,
        expectedState: start.state,
        expectedNonce: start.nonce,
      });
      expect(tokens.access_token).toBeTruthy();
      await server.services.tasks.drain();
      stop();
      return requests;
    };
    return { browser, redeem };
  }

  /** GET /auth → passkey → consent → code → tokens, in a new browser, listening to the database. */
  /** Signs in with the passkey and approves consent; returns the answer to that approval (a redirect to resume the authorization). */
  async function approvedSignIn(browser: BrowserSession, start: Awaited<ReturnType<typeof authorizationRequest>>, remember = false) {
    const page = await browser.follow(start.url.toString(), server.issuer);
    const post = (path: string, body: unknown) => browser.postJson(`${page.url}${path}`, csrfTokenOf(page.text), body);
    const { challenge } = JSON.parse((await post("/passkey/authenticate/options", {})).text) as { challenge: string };
    const assertion = authenticator.assertion({ challenge, origin: server.issuer, rpId: "127.0.0.1" }, userId);
    const verified = await post("/passkey/authenticate/verify", { ...assertion, remember });
    const consent = await browser.follow(new URL(JSON.parse(verified.text).redirectTo, server.issuer).toString(), server.issuer);
    const action = new URL(formActionOf(consent.text, "/consent"), server.issuer).toString();
    return browser.postForm(action, { _csrf: csrfTokenOf(consent.text) });
  }

  async function passkeyFlow(remember = false) {
    const { browser, redeem } = recordingBrowser();
    const start = await authorizationRequest(rp);
    const approved = await approvedSignIn(browser, start, remember);
    const callback = await browser.follow(approved.location as string, server.issuer, approved);
    return { requests: await redeem(start, callback.location), browser };
  }

  it("a passkey sign-in with consent: at most 31 statements on PostgreSQL, 23 on PGlite (44 before), the account read once in a request", async () => {
    await passkeyFlow();
    const { requests } = await passkeyFlow();
    const total = requests.reduce((sum, { statements }) => sum + statements.length, 0);
    expect(requests.map(({ request }) => request.replace(/\/interaction\/[^/]+/, "/interaction/…").replace(/\/auth\/[^/]+/, "/auth/…"))).toEqual([
      "GET /auth",
      "GET /interaction/…",
      "POST /interaction/…/passkey/authenticate/options",
      "POST /interaction/…/passkey/authenticate/verify",
      "GET /auth/…",
      "GET /interaction/…",
      "POST /interaction/…/consent",
      "GET /auth/…",
      "POST /token",
    ]);
    // PostgreSQL may have other server processes: the interaction and the session are read from it at each hop.
    expect(total).toBeLessThanOrEqual(kind === "pglite" ? 23 : 31);
    for (const { request, statements } of requests) {
      expect({ request, userReads: statements.filter((sql) => /^SELECT .* FROM "public"\."user" WHERE/s.test(sql)).length }).toEqual({
        request,
        userReads: request.endsWith("/verify") ? 1 : 0,
      });
    }
    // The sign-in's result goes into the interaction it loaded: not read again, with its session, to store it.
    const verify = requests.find(({ request }) => request.endsWith("/verify"))?.statements ?? [];
    expect(verify.filter((sql) => sql.includes('FROM "oidc_payload" WHERE "id_hash"')).length).toBe(kind === "pglite" ? 0 : 1);
    expect(verify.length).toBeLessThanOrEqual(kind === "pglite" ? 10 : 11);
  });

  it("an authorization whose writes fail answers server_error without the code, and leaves nothing half-written", async () => {
    const browser = new BrowserSession();
    const start = await authorizationRequest(rp);
    const approved = await approvedSignIn(browser, start);
    const resume = approved.location as string;
    // The database refuses the code: the last write of the statement that also ends the interaction and stores the session.
    await server.database.prisma.$executeRawUnsafe(
      `CREATE FUNCTION refuse_codes() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused for the test'; END $$`,
    );
    await server.database.prisma.$executeRawUnsafe(
      `CREATE TRIGGER refuse_codes BEFORE INSERT ON "oidc_payload" FOR EACH ROW WHEN (NEW."kind" = 'AuthorizationCode') EXECUTE FUNCTION refuse_codes()`,
    );
    const count = () =>
      Promise.all(["AuthorizationCode", "Session", "Interaction"].map((kind) => server.database.prisma.oidcPayload.count({ where: { kind } })));
    const before = await count();
    let refused: Awaited<ReturnType<BrowserSession["get"]>>;
    try {
      refused = await browser.get(resume);
    } finally {
      await server.database.prisma.$executeRawUnsafe(`DROP TRIGGER refuse_codes ON "oidc_payload"`);
      await server.database.prisma.$executeRawUnsafe("DROP FUNCTION refuse_codes");
    }
    expect({ status: refused.status, location: refused.location, error: JSON.parse(refused.text).error }).toEqual({
      status: 500,
      location: null,
      error: "server_error",
    });
    expect(await count()).toEqual(before);
    // Nor its cookies changed: the same resume completes once the database accepts it.
    const callback = await browser.follow(resume, server.issuer);
    expect(callback.location?.startsWith(RP_CALLBACK)).toBe(true);
  });

  it("a signed-in browser's next authorization leaves its unchanged session unwritten (prompt=none)", async () => {
    // "Keep me signed in": a fixed expiry, so nothing of the session changes (a session that is not kept slides, and is saved).
    const { browser } = await passkeyFlow(true);
    const recording = recordingBrowser(browser.jar);
    const start = await authorizationRequest(rp, { prompt: "none" });
    const callback = await recording.browser.follow(start.url.toString(), server.issuer);
    const [authorization] = await recording.redeem(start, callback.location);
    expect(authorization?.request).toBe("GET /auth");
    // The session's device and the account's failures (risk), the code, and after the answer the device's use (PostgreSQL: and the session).
    expect(authorization?.statements.filter((sql) => sql.includes('INSERT INTO "oidc_payload"')).length).toBe(1);
    expect(authorization?.statements.length).toBe(kind === "pglite" ? 5 : 6);
  });
});

describe.each(DATABASE_KINDS)("the statements a database handle hears (%s)", (kind) => {
  let database: Database;
  beforeAll(async () => {
    database = await openTestDatabase(kind);
  });
  afterAll(() => database?.close());

  it("hears Prisma's statements, its transactions' BEGIN and COMMIT or ROLLBACK, and the hot path's", async () => {
    const sent: string[] = [];
    const stop = database.statements.listen((sql) => sent.push(sql.trim().split(/\s+/, 1)[0] as string));
    const before = database.statements.count;
    await database.prisma.user.findMany();
    await database.prisma.$transaction([database.prisma.user.count(), database.prisma.credential.count()]);
    await expect(
      database.prisma.$transaction(async (tx) => {
        await tx.user.count();
        throw new Error("rolled back");
      }),
    ).rejects.toThrow("rolled back");
    await database.hot.query("select_one", "SELECT 1", []);
    stop();
    await database.prisma.user.count();
    expect(sent).toEqual(["SELECT", "BEGIN", "SELECT", "SELECT", "COMMIT", "BEGIN", "SELECT", "ROLLBACK", "SELECT"]);
    expect(database.statements.count - before).toBe(10);
  });
});
