import * as oidc from "openid-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrowserSession, csrfTokenOf, formActionOf } from "../helpers/browser-session.js";
import { authorizationRequest, createUser, type RelyingParty, registerRelyingParty, signInAndRedeem } from "../helpers/relying-party.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

const TOKEN = "metrics-token-for-tests-0123456789abcdef";

// Issue #5 observability: Prometheus counters behind a bearer token.
describe("metrics", () => {
  let server: TestServer;
  let rp: RelyingParty;

  beforeAll(async () => {
    server = await startTestServer("pglite", {}, { env: { METRICS_TOKEN: TOKEN } });
    rp = await registerRelyingParty(server, { firstParty: true });
    await createUser(server, "metrics@example.com");
  });
  afterAll(() => server?.stop());

  const scrape = async () => {
    const response = await fetch(`${server.issuer}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(response.status).toBe(200);
    return response.text();
  };
  const seriesValue = (text: string, series: string) =>
    Number(
      text
        .split("\n")
        .find((line) => line.startsWith(`${series} `))
        ?.split(" ")[1] ?? 0,
    );

  it("refuses a scrape without the token", async () => {
    expect((await fetch(`${server.issuer}/metrics`)).status).toBe(401);
    expect((await fetch(`${server.issuer}/metrics`, { headers: { authorization: "Bearer wrong" } })).status).toBe(401);
  });

  it("counts sign-ins by method and outcome, grants by type, and refresh-token reuse", async () => {
    const before = await scrape();
    const { tokens } = await signInAndRedeem(server, rp, new BrowserSession(), "metrics@example.com");
    const rotated = await oidc.refreshTokenGrant(rp.config, tokens.refresh_token as string);
    expect(rotated.refresh_token).toBeTruthy();
    await expect(oidc.refreshTokenGrant(rp.config, tokens.refresh_token as string)).rejects.toMatchObject({ error: "invalid_grant" });

    const browser = new BrowserSession();
    const page = await browser.follow((await authorizationRequest(rp)).url.toString(), server.issuer);
    await browser.postForm(new URL(formActionOf(page.text, "/login"), server.issuer).toString(), {
      _csrf: csrfTokenOf(page.text),
      email: "metrics@example.com",
      password: "wrong password",
    });

    const after = await scrape();
    const delta = (series: string) => seriesValue(after, series) - seriesValue(before, series);
    expect(delta('idp_sign_ins_total{method="password",outcome="success"}')).toBe(1);
    expect(delta('idp_sign_ins_total{method="password",outcome="failure"}')).toBe(1);
    expect(delta('idp_token_grants_total{grant_type="authorization_code"}')).toBe(1);
    expect(delta('idp_token_grants_total{grant_type="refresh_token"}')).toBe(1);
    expect(delta('idp_reuse_detections_total{kind="RefreshToken"}')).toBe(1);
    expect(after).toContain("idp_process_cpu_user_seconds_total");

    const user = await server.database.prisma.user.findUniqueOrThrow({ where: { email: "metrics@example.com" } });
    // The reuse is recorded after the answer, as a background task.
    await server.services.tasks.drain();
    const events = await server.services.events.listForUser(user.id);
    expect(events.filter((event) => event.type === "token.reuse_detected").map((event) => event.outcome)).toEqual(["refused"]);
  });

  it("counts the SQL statements sent, as the database handle does", async () => {
    const before = await scrape();
    const sentBefore = server.database.statements.count;
    await signInAndRedeem(server, rp, new BrowserSession(), "metrics@example.com");
    await server.services.tasks.drain();
    const sent = server.database.statements.count - sentBefore;
    const after = await scrape();
    expect(sent).toBeGreaterThan(10);
    expect(seriesValue(after, "idp_database_statements_total") - seriesValue(before, "idp_database_statements_total")).toBe(sent);
  });

  it("has no metrics endpoint unless a token is configured", async () => {
    const plain = await startTestServer("pglite");
    try {
      expect((await fetch(`${plain.issuer}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(404);
    } finally {
      await plain.stop();
    }
  });
});
