import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keysCommand } from "../../src/cli/commands/keys.js";
import { BrowserSession } from "../helpers/browser-session.js";
import { heardAt } from "../helpers/heard.js";
import { movableClock } from "../helpers/movable-clock.js";
import { createUser, type RelyingParty, registerRelyingParty, signInAndRedeem } from "../helpers/relying-party.js";
import type { TestServer } from "../helpers/test-server.js";
import { startTwoInstances, stopInstances } from "../helpers/two-instances.js";

const kidsAt = async (server: TestServer) => ((await (await fetch(`${server.issuer}/jwks`)).json()) as { keys: { kid: string }[] }).keys.map((key) => key.kid);

// `keys rotate` against two running instances on one PostgreSQL database, neither restarted.
describe.skipIf(!process.env.TEST_POSTGRES_URL)("key rotation across two instances", () => {
  const clock = movableClock();
  let first: TestServer;
  let second: TestServer;
  let rpAtFirst: RelyingParty;
  let rpAtSecond: RelyingParty;

  beforeAll(async () => {
    [first, second] = await startTwoInstances("postgres", {}, { now: clock.now });
    rpAtFirst = await registerRelyingParty(first);
    rpAtSecond = await registerRelyingParty(second);
    await createUser(first);
  });
  afterAll(() => stopInstances(first, second));

  it("publishes the new keys on both at once, and both sign with them after the publish delay", async () => {
    const idTokenAt = async (server: TestServer, rp: RelyingParty) => (await signInAndRedeem(server, rp, new BrowserSession())).tokens.id_token as string;
    const oldKid = decodeProtectedHeader(await idTokenAt(first, rpAtFirst)).kid;

    const out: string[] = [];
    const heard = heardAt(second, (message) => "signingKeys" in message);
    const code = await keysCommand(["rotate", "--json"], { stdout: (text) => out.push(text), stderr: () => {}, stdin: null }, first.services);
    expect(code).toBe(0);
    const newKid = (JSON.parse(out.join("")) as { kid: string; alg: string }[]).find((key) => key.alg === "ES256")?.kid;
    await heard;

    for (const server of [first, second]) expect(await kidsAt(server)).toEqual(expect.arrayContaining([oldKid, newKid]));
    expect(decodeProtectedHeader(await idTokenAt(first, rpAtFirst)).kid).toBe(oldKid);
    expect(decodeProtectedHeader(await idTokenAt(second, rpAtSecond)).kid).toBe(oldKid);

    clock.move(first.config.keys.publishDelaySeconds);
    const tokens = [
      { idToken: await idTokenAt(first, rpAtFirst), issuer: first.issuer, audience: rpAtFirst.clientId },
      { idToken: await idTokenAt(second, rpAtSecond), issuer: second.issuer, audience: rpAtSecond.clientId },
    ];
    for (const { idToken, issuer, audience } of tokens) {
      expect(decodeProtectedHeader(idToken).kid).toBe(newKid);
      for (const server of [first, second]) {
        const jwks = createRemoteJWKSet(new URL(`${server.issuer}/jwks`));
        await expect(jwtVerify(idToken, jwks, { issuer, audience })).resolves.toBeTruthy();
      }
    }
  });
});
