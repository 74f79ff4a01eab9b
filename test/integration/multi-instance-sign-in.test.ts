import * as oidc from "openid-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { idHashFor } from "../../src/oidc/adapter.js";
import { RoundRobin, RoundRobinBrowser } from "../helpers/alternating-instances.js";
import { csrfTokenOf, formActionOf } from "../helpers/browser-session.js";
import { heardAt } from "../helpers/heard.js";
import { authorizationRequest, createUser, PASSWORD, RP_CALLBACK, RP_LOGOUT_CALLBACK, signIn } from "../helpers/relying-party.js";
import { FLAGS, SoftwareAuthenticator } from "../helpers/software-authenticator.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { tokenRequest } from "../helpers/token-requests.js";

// Two instances behind one issuer on one PostgreSQL database, every HTTP request going to the
// other instance than the one before (a round-robin load balancer without sticky sessions).
describe.skipIf(!process.env.TEST_POSTGRES_URL)("a sign-in alternating between two instances", () => {
  let first: TestServer;
  let second: TestServer;

  beforeAll(async () => {
    // Behind the balancer: one proxy hop, which passes the issuer's host on.
    first = await startTestServer("postgres", {}, { env: { TRUST_PROXY: "1" } });
    second = await startTestServer("postgres", {}, { shareWith: first, env: { ISSUER: first.issuer, TRUST_PROXY: "1" } });
    await createUser(first);
  });
  afterAll(async () => {
    await second?.stop();
    await first?.stop();
  });

  /** What the balancer adds to a request it forwards to an instance. */
  const behindBalancer = () => ({ "x-forwarded-host": new URL(first.issuer).host });

  async function relyingPartyBehind(balancer: RoundRobin, options: { firstParty?: boolean } = {}) {
    const client = await first.services.clients.create({
      name: "Round-robin RP",
      redirectUris: [RP_CALLBACK],
      postLogoutRedirectUris: [RP_LOGOUT_CALLBACK],
      firstParty: options.firstParty,
    });
    const config = await oidc.discovery(new URL(first.issuer), client.client_id, undefined, oidc.ClientSecretBasic(client.client_secret), {
      execute: [oidc.allowInsecureRequests],
      [oidc.customFetch]: balancer.fetch,
    });
    config[oidc.customFetch] = balancer.fetch;
    return { clientId: client.client_id, clientSecret: client.client_secret, config };
  }

  async function signInRoundRobin(options: { firstParty?: boolean } = {}) {
    const balancer = new RoundRobin([first, second]);
    const rp = await relyingPartyBehind(balancer, options);
    const browser = new RoundRobinBrowser(balancer);
    const { callbackUrl, start } = await signIn(first, rp, browser);
    const tokens = await oidc.authorizationCodeGrant(rp.config, callbackUrl, {
      pkceCodeVerifier: start.codeVerifier,
      expectedState: start.state,
      expectedNonce: start.nonce,
    });
    return { balancer, rp, browser, tokens, callbackUrl, start };
  }

  it("completes with consent: password, consent, code, tokens and userinfo each at the other instance than the hop before", async () => {
    const { balancer, rp, tokens } = await signInRoundRobin();
    const claims = tokens.claims() as { sub: string };
    const userinfo = await oidc.fetchUserInfo(rp.config, tokens.access_token, claims.sub);
    expect(userinfo.email).toBe("alice@example.com");
    expect(balancer.hops.length).toBeGreaterThan(6);
    expect(balancer.hops.every((instance, i) => instance === i % 2)).toBe(true);
  });

  it("completes for a first-party client (no consent page)", async () => {
    const { rp, tokens } = await signInRoundRobin({ firstParty: true });
    const userinfo = await oidc.fetchUserInfo(rp.config, tokens.access_token, (tokens.claims() as { sub: string }).sub);
    expect(userinfo.sub).toBe((tokens.claims() as { sub: string }).sub);
  });

  it("creates an automatic passkey with options from one instance and the answer at the other, once (issue #16)", async () => {
    const balancer = new RoundRobin([first, second]);
    const rp = await relyingPartyBehind(balancer, { firstParty: true });
    const email = "round-robin-automatic@example.com";
    const userId = await createUser(first, email);
    const browser = new RoundRobinBrowser(balancer);
    const page = await browser.follow((await authorizationRequest(rp)).url.toString(), first.issuer);
    const action = new URL(formActionOf(page.text, "/login"), first.issuer).toString();
    const offer = await browser.follow(action, first.issuer, await browser.postForm(action, { _csrf: csrfTokenOf(page.text), email, password: PASSWORD }));
    const uid = offer.text.match(/\/interaction\/([^/"?]+)/)?.[1] as string;
    const post = (path: string, body: unknown) =>
      browser.postJson(`${first.issuer}/interaction/${uid}/passkey/register/automatic/${path}`, csrfTokenOf(offer.text), body);
    const before = balancer.hops.length;
    const options = JSON.parse((await post("options", {})).text) as { challenge: string };
    const answer = new SoftwareAuthenticator().registration({ challenge: options.challenge, origin: first.issuer, rpId: "127.0.0.1" }, FLAGS.BE | FLAGS.BS);
    const [created, replayed] = [await post("verify", answer), await post("verify", answer)];
    expect(balancer.hops[before]).not.toBe(balancer.hops[before + 1]);
    expect(created.status, created.text).toBe(200);
    expect(replayed.status).toBeGreaterThanOrEqual(400);
    expect(replayed.status).toBeLessThan(500);
    expect(await first.services.credentials.listCredentialsOfUser(userId)).toHaveLength(1);
  });

  it("a code redeemed at one instance is consumed at the other at once", async () => {
    const balancer = new RoundRobin([first, second]);
    const rp = await relyingPartyBehind(balancer);
    const { callbackUrl, start } = await signIn(first, rp, new RoundRobinBrowser(balancer));
    const code = callbackUrl.searchParams.get("code") as string;
    // The second instance holds the code (unconsumed) in its cache.
    expect(((await second.provider.AuthorizationCode.find(code)) as { consumed?: number } | undefined)?.consumed).toBeUndefined();

    const heard = heardAt(second, (message) => "idHash" in message && message.idHash === idHashFor("AuthorizationCode", code));
    const params = { grant_type: "authorization_code", code, redirect_uri: RP_CALLBACK, code_verifier: start.codeVerifier };
    expect((await tokenRequest(first.url, params, rp, behindBalancer())).status).toBe(200);
    await heard;
    expect(((await second.provider.AuthorizationCode.find(code)) as { consumed?: number } | undefined)?.consumed).toBeTruthy();
    expect(await tokenRequest(second.url, params, rp, behindBalancer())).toMatchObject({ status: 400, body: { error: "invalid_grant" } });
  });

  it("an access token revoked at one instance is refused at the other at once", async () => {
    const { rp, tokens } = await signInRoundRobin();
    const userinfoAt = (server: TestServer) => fetch(`${server.url}/me`, { headers: { authorization: `Bearer ${tokens.access_token}`, ...behindBalancer() } });
    expect((await userinfoAt(second)).status).toBe(200);

    const heard = heardAt(second, (message) => "idHash" in message);
    const revoked = await fetch(`${first.url}/token/revocation`, {
      method: "POST",
      headers: {
        ...behindBalancer(),
        "content-type": "application/x-www-form-urlencoded",
        authorization: `Basic ${Buffer.from(`${rp.clientId}:${rp.clientSecret}`).toString("base64")}`,
      },
      body: new URLSearchParams({ token: tokens.access_token }),
    });
    expect(revoked.status).toBe(200);
    await heard;
    expect((await userinfoAt(second)).status).toBe(401);
  });

  it("a session ended at one instance is over at the other at once", async () => {
    const { balancer, rp, browser, tokens } = await signInRoundRobin();
    const endSession = new URL(`${first.issuer}/session/end`);
    endSession.searchParams.set("id_token_hint", tokens.id_token as string);
    endSession.searchParams.set("post_logout_redirect_uri", RP_LOGOUT_CALLBACK);
    const confirm = await browser.get(endSession.toString());
    const xsrf = confirm.text.match(/name="xsrf" value="([^"]+)"/)?.[1] as string;
    const done = await browser.postForm(`${first.issuer}/session/end/confirm`, { xsrf, logout: "yes" });
    expect(done.location).toBe(RP_LOGOUT_CALLBACK);
    const endedAt = balancer.hops.at(-1);

    const silent = await browser.get((await authorizationRequest(rp, { prompt: "none" })).url.toString());
    expect(balancer.hops.at(-1)).not.toBe(endedAt);
    expect(new URL(silent.location as string).searchParams.get("error")).toBe("login_required");
  });
});
