import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { diffSchemaAgainstMigrations, MIGRATIONS_DIR } from "../../src/db/migrations.js";
import { BrowserSession } from "../helpers/browser-session.js";
import { readOutbox } from "../helpers/outbox.js";
import { createUser, httpsClientAuthorizationPath, PASSWORD, type RelyingParty, registerRelyingParty, signInAndRedeem } from "../helpers/relying-party.js";
import { openTestDatabase } from "../helpers/test-database.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

describe("migrations", () => {
  it("match schema.prisma (a schema change without its migration fails here)", async () => {
    const shadow = new PGlite();
    try {
      const sql = await diffSchemaAgainstMigrations(new PrismaPGlite(shadow));
      expect(sql.replace(/^-- This is an empty migration\.?$/, "")).toBe("");
    } finally {
      await shadow.close();
    }
  });
});

describe("the oidc_payload.account_id migration", () => {
  it("copies the account of rows written before it, so sign-out-everywhere still finds them", async () => {
    const database = await openTestDatabase("pglite");
    try {
      const db = database.prisma;
      await db.$executeRaw`INSERT INTO "oidc_payload" ("id_hash", "kind", "payload") VALUES ('old-session', 'Session', '{"accountId": "user-1", "uid": "u"}'::jsonb), ('no-account', 'Interaction', '{}'::jsonb)`;
      const migration = readdirSync(MIGRATIONS_DIR).find((name) => name.endsWith("_oidc_payload_account")) as string;
      const backfill = readFileSync(join(MIGRATIONS_DIR, migration, "migration.sql"), "utf8").match(/^UPDATE [^;]+;/m)?.[0] as string;
      expect(backfill).toBeTruthy();
      await db.$executeRawUnsafe(backfill);
      const rows = await db.oidcPayload.findMany({ orderBy: { idHash: "asc" }, select: { idHash: true, accountId: true } });
      expect(rows).toEqual([
        { idHash: "no-account", accountId: null },
        { idHash: "old-session", accountId: "user-1" },
      ]);
    } finally {
      await database.close();
    }
  });
});

describe("health, logs and secrets", () => {
  let server: TestServer;
  let rp: RelyingParty;
  const logLines: string[] = [];

  beforeAll(async () => {
    server = await startTestServer("pglite", {}, { logLines });
    rp = await registerRelyingParty(server);
    await createUser(server);
  });
  afterAll(() => server?.stop());

  const requestLines = () => logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.msg === "request");

  it("answers /healthz and /readyz", async () => {
    expect(await (await fetch(`${server.issuer}/healthz`)).json()).toEqual({ status: "ok" });
    expect(await (await fetch(`${server.issuer}/readyz`)).json()).toEqual({ status: "ready" });
  });

  it("logs every request with an id and never a secret, code, token or password", async () => {
    const { tokens, callbackUrl } = await signInAndRedeem(server, rp, new BrowserSession());
    await fetch(`${server.issuer}/me`, { headers: { authorization: `Bearer ${tokens.access_token}`, "x-request-id": "trace-abc-123" } });
    // The last request's line, written once its response has gone out.
    await expect.poll(() => requestLines().some((line) => line.reqId === "trace-abc-123" && line.path === "/me")).toBe(true);
    const log = logLines.join("\n");
    const requests = requestLines();
    expect(requests.length).toBeGreaterThan(5);
    for (const line of requests) expect(line.reqId).toBeTruthy();
    for (const secret of [rp.clientSecret, tokens.access_token, tokens.refresh_token, tokens.id_token, callbackUrl.searchParams.get("code"), PASSWORD]) {
      expect(log).not.toContain(secret as string);
    }
  });

  it("never logs a mailed link's token, a TOTP secret or a backup code", async () => {
    await server.services.signUp.requestLink("newcomer@example.com", "127.0.0.1", "some-interaction", "en");
    await server.services.recovery.issueByOperator("alice@example.com");
    const links = (await readOutbox(server)).map((mail) => mail.link).filter((link): link is string => link !== null);
    const linkPaths = links.map((link) => new URL(link).pathname);
    expect([...linkPaths].sort()).toEqual(["/recover/verify", "/signup/verify"]);
    for (const link of links) await fetch(link);
    const user = await server.database.prisma.user.findUniqueOrThrow({ where: { email: "alice@example.com" } });
    const { secret } = await server.services.totp.startEnrolment(user);
    const codes = await server.services.backupCodes.regenerate(user.id);
    // Every link's request line is written (once its response has gone out) before the log is searched.
    await expect.poll(() => requestLines().filter((line) => linkPaths.includes(line.path as string)).length).toBeGreaterThanOrEqual(links.length);
    const log = logLines.join("\n");
    expect(log).toContain("/signup/verify");
    for (const value of [...links.map((link) => new URL(link).searchParams.get("token") as string), secret, ...codes]) {
      expect(log).not.toContain(value);
    }
  });
});

describe("on an https issuer behind a proxy", () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer("pglite", {}, { env: { ISSUER: "https://idp.example.test", TRUST_PROXY: "true" } });
  });
  afterAll(() => server?.stop());

  it("uses __Host- / __Secure- cookies that are Secure, HttpOnly and SameSite, and sends HSTS (§23)", async () => {
    const authPath = await httpsClientAuthorizationPath(server);
    const forwarded = { "x-forwarded-proto": "https", "x-forwarded-host": "idp.example.test" };
    const auth = await fetch(`${server.url}${authPath}`, { headers: forwarded, redirect: "manual" });
    expect(auth.status).toBe(303);
    const page = await fetch(`${server.url}${new URL(auth.headers.get("location") as string, server.url).pathname}`, {
      headers: {
        ...forwarded,
        cookie: auth.headers
          .getSetCookie()
          .map((c) => c.split(";")[0])
          .join("; "),
      },
    });
    expect(page.status).toBe(200);
    const cookies = [...auth.headers.getSetCookie(), ...page.headers.getSetCookie()];
    // __Host- pins the path-/ cookies to this origin; the interaction cookies' narrower paths allow only __Secure-.
    expect(cookies.map((cookie) => cookie.slice(0, cookie.indexOf("="))).sort()).toEqual([
      "__Host-csrf",
      "__Host-csrf.sig",
      "__Secure-interaction",
      "__Secure-interaction.sig",
      "__Secure-resume",
      "__Secure-resume.sig",
    ]);
    for (const cookie of cookies) {
      expect(cookie.toLowerCase()).toContain("; secure");
      expect(cookie.toLowerCase()).toContain("; httponly");
      expect(cookie.toLowerCase()).toContain("; samesite=lax");
      if (cookie.startsWith("__Host-")) {
        expect(cookie).toContain("; path=/;");
        expect(cookie.toLowerCase()).not.toContain("domain=");
      }
    }
    expect(page.headers.get("strict-transport-security")).toContain("max-age=");
  });
});
