import { createServer, type Server } from "node:http";
import { createRemoteJWKSet, jwtVerify } from "jose";
import * as oidc from "openid-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AccountPage } from "../helpers/account-page.js";
import { BrowserSession } from "../helpers/browser-session.js";
import { createUser, type RelyingParty, RP_LOGOUT_CALLBACK, registerRelyingParty, signInAndRedeem } from "../helpers/relying-party.js";
import { freePort, startTestServer, type TestServer } from "../helpers/test-server.js";

// Issue #5: RP-initiated logout ends the IdP session and sends signed logout tokens
// (OIDC Back-Channel Logout 1.0) to the clients that registered an endpoint.
describe("back-channel logout", () => {
  let server: TestServer;
  let receiver: Server;
  let receiverUrl: string;
  const received: string[] = [];

  beforeAll(async () => {
    server = await startTestServer("pglite");
    await createUser(server);
    const port = await freePort();
    receiver = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk) => (body += chunk));
      req.on("end", () => {
        received.push(new URLSearchParams(body).get("logout_token") ?? "");
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(port, "127.0.0.1", resolve));
    receiverUrl = `http://127.0.0.1:${port}/backchannel-logout`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
    await server?.stop();
  });

  async function logout(browser: BrowserSession, rp: RelyingParty, idToken: string) {
    const confirm = await browser.get(oidc.buildEndSessionUrl(rp.config, { id_token_hint: idToken, post_logout_redirect_uri: RP_LOGOUT_CALLBACK }).toString());
    const xsrf = confirm.text.match(/name="xsrf" value="([^"]+)"/)?.[1] as string;
    return browser.postForm(`${server.issuer}/session/end/confirm`, { xsrf, logout: "yes" });
  }

  it("sends every client with an endpoint a signed logout token naming the session", async () => {
    const rp = await registerRelyingParty(server, { firstParty: true });
    await server.services.clients.update(rp.clientId, { backchannelLogoutUri: receiverUrl });
    const plain = await registerRelyingParty(server, { firstParty: true });
    const browser = new BrowserSession();
    const { tokens } = await signInAndRedeem(server, rp, browser);
    await signInAndRedeem(server, plain, browser);
    const { sid, sub } = tokens.claims() as { sid?: string; sub: string };
    expect(sid).toBeTruthy();

    const done = await logout(browser, rp, tokens.id_token as string);
    expect(done.location).toBe(RP_LOGOUT_CALLBACK);
    await expect.poll(() => received.length).toBe(1);

    const { payload, protectedHeader } = await jwtVerify(received[0] as string, createRemoteJWKSet(new URL(`${server.issuer}/jwks`)), {
      issuer: server.issuer,
      audience: rp.clientId,
    });
    expect(protectedHeader.typ).toBe("logout+jwt");
    expect(payload).toMatchObject({ sub, sid, events: { "http://schemas.openid.net/event/backchannel-logout": {} } });
    expect(payload).not.toHaveProperty("nonce");
    expect(payload.jti).toBeTruthy();
  });

  it("also tells the relying parties when the IdP ends sessions itself: the account page, an operator", async () => {
    const rp = await registerRelyingParty(server, { firstParty: true });
    await server.services.clients.update(rp.clientId, { backchannelLogoutUri: receiverUrl });
    await createUser(server, "propagate@example.com");
    const elsewhere = await signInAndRedeem(server, rp, new BrowserSession(), "propagate@example.com");
    const elsewhereSid = elsewhere.tokens.claims()?.sid as string;
    const verify = (token: string) =>
      jwtVerify(token, createRemoteJWKSet(new URL(`${server.issuer}/jwks`)), { issuer: server.issuer, audience: rp.clientId, typ: "logout+jwt" });

    // "Sign out everywhere else" on the account page, in another browser.
    const account = new AccountPage(server, "propagate@example.com");
    const before = received.length;
    const done = await account.postVerified(await account.open(), "/account/sessions/sign-out-others");
    expect(done.text).toContain("Every other session is signed out");
    await server.services.tasks.drain();
    const [fromAccountPage] = await Promise.all(received.slice(before).map(verify));
    expect(fromAccountPage?.payload).toMatchObject({ sid: elsewhereSid, sub: elsewhere.tokens.claims()?.sub });
    expect(received.length).toBe(before + 1);

    // An operator disabling the user ends the remaining session: its relying party hears of it too.
    const again = await signInAndRedeem(server, rp, new BrowserSession(), "propagate@example.com");
    const count = received.length;
    await server.services.administration({ actor: "test", ip: null }).users.disable("propagate@example.com");
    await server.services.tasks.drain();
    const sids = (await Promise.all(received.slice(count).map(verify))).map((result) => result.payload.sid);
    expect(sids).toContain(again.tokens.claims()?.sid);
  });

  it("refuses a back-channel endpoint that is not https (outside loopback) or has a fragment", async () => {
    const rp = await registerRelyingParty(server, { firstParty: true });
    await expect(server.services.clients.update(rp.clientId, { backchannelLogoutUri: "http://rp.example.com/logout" })).rejects.toThrow(
      "--backchannel-logout-uri",
    );
    await expect(server.services.clients.update(rp.clientId, { backchannelLogoutUri: "https://rp.example.com/logout#x" })).rejects.toThrow("fragment");
    expect((await server.services.clients.update(rp.clientId, { backchannelLogoutUri: "none" })).backchannel_logout_uri).toBeNull();
  });
  // Production's rules (registration and delivery refuse private addresses): backchannel-uri-rules.test.ts.
});
