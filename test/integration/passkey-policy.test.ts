import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AccountPage } from "../helpers/account-page.js";
import { makeAttestationLeaf, makeTestRoot, metadataStatement, type TestRoot } from "../helpers/attestation-certificates.js";
import { BrowserSession, csrfTokenOf, formActionOf, type PageResponse } from "../helpers/browser-session.js";
import { ConsolePage, seedPerson } from "../helpers/console-page.js";
import { mailsTo } from "../helpers/outbox.js";
import { type AuthorizationStart, authorizationRequest, createUser, PASSWORD, registerRelyingParty } from "../helpers/relying-party.js";
import { type Attestation, SoftwareAuthenticator } from "../helpers/software-authenticator.js";
import { DATABASE_KINDS } from "../helpers/test-database.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

const APPROVED_MODEL = "cb69481e-8ff7-4039-93ec-0a2729a154a8";
const OTHER_MODEL = "ee882879-721c-4913-9775-3dfcce97072a";
const aaguidBytes = (aaguid: string) => Buffer.from(aaguid.replaceAll("-", ""), "hex");

/** A security key of `model` whose attestation certificate `root` issued. */
async function securityKey(root: TestRoot, model: string): Promise<{ authenticator: SoftwareAuthenticator; attestation: Attestation }> {
  const authenticator = new SoftwareAuthenticator();
  authenticator.aaguid = aaguidBytes(model);
  const leaf = await makeAttestationLeaf(root, aaguidBytes(model));
  return { authenticator, attestation: { fmt: "packed", x5c: [leaf.der], signingKey: leaf.signingKey } };
}

// Issue #16: the operator's passkey policy — attestation to operator roots, an AAGUID allow-list, and whom it applies to.
describe.each(DATABASE_KINDS)("passkey policy (%s)", (kind) => {
  let root: TestRoot;
  let unknownRoot: TestRoot;
  let everyone: TestServer;
  let operators: TestServer;
  let passkeyApps: TestServer;
  let counter = 0;

  beforeAll(async () => {
    root = await makeTestRoot("Acme Keys");
    unknownRoot = await makeTestRoot("Unknown Keys");
    const dir = mkdtempSync(join(tmpdir(), "idp-policy-files-"));
    writeFileSync(join(dir, "roots.pem"), root.pem);
    writeFileSync(join(dir, "acme-key.json"), JSON.stringify(metadataStatement(APPROVED_MODEL, "Acme Key 5", root)));
    [everyone, operators, passkeyApps] = await Promise.all([
      startTestServer(
        kind,
        {},
        {
          env: {
            PASSKEY_ATTESTATION: "direct",
            PASSKEY_METADATA_STATEMENTS: join(dir, "acme-key.json"),
            PASSKEY_ROOTS: join(dir, "roots.pem"),
            PASSKEY_AAGUIDS: APPROVED_MODEL,
          },
        },
      ),
      startTestServer(kind, {}, { env: { PASSKEY_ATTESTATION: "direct", PASSKEY_ROOTS: join(dir, "roots.pem"), PASSKEY_POLICY_APPLIES_TO: "operators" } }),
      startTestServer(kind, {}, { env: { PASSKEY_ATTESTATION: "direct", PASSKEY_ROOTS: join(dir, "roots.pem"), PASSKEY_POLICY_APPLIES_TO: "passkey-apps" } }),
    ]);
  });
  afterAll(() => Promise.all([everyone?.stop(), operators?.stop(), passkeyApps?.stop()]));

  /** Signs in on the account page and starts adding a passkey, as the page's script does; answers the options and a verify. */
  async function startRegistration(server: TestServer, email: string) {
    const account = new AccountPage(server, email);
    const addPage = await account.postVerified(await account.open(), "/account/passkeys/add");
    expect(addPage.status, addPage.location ?? "").toBe(200);
    const csrf = addPage.text.match(/data-csrf="([^"]+)"/)?.[1] as string;
    const options = JSON.parse((await account.browser.postJson(`${server.issuer}/account/passkey/register/options`, csrf, {})).text) as {
      challenge: string;
      attestation: string;
    };
    const verify = (authenticator: SoftwareAuthenticator, attestation?: Attestation) =>
      account.browser.postJson(
        `${server.issuer}/account/passkey/register/verify`,
        csrf,
        authenticator.registration({ challenge: options.challenge, origin: server.issuer, rpId: "127.0.0.1" }, undefined, attestation),
      );
    return { options, verify, account };
  }

  async function newUser(server: TestServer) {
    const email = `policy-${kind}-${++counter}@example.com`;
    return { email, id: await createUser(server, email) };
  }

  const credentialsOf = (server: TestServer, userId: string) => server.database.prisma.credential.findMany({ where: { userId } });
  const refusalsOf = (server: TestServer, userId: string) =>
    server.database.prisma.securityEvent.findMany({ where: { userId, type: "passkey_policy.refused" }, orderBy: { createdAt: "asc" } });

  /** A refused registration: 400, the rule named in plain words, nothing stored, a security event. */
  async function expectRefused(server: TestServer, userId: string, response: PageResponse, code: string, words: string) {
    expect(response.status, response.text).toBe(400);
    const body = JSON.parse(response.text) as { error: string; error_description: string };
    expect(body.error).toBe(code);
    expect(body.error_description).toContain(words);
    expect(await credentialsOf(server, userId)).toEqual([]);
    const events = await refusalsOf(server, userId);
    expect(events.at(-1)?.details).toMatchObject({ ceremony: "registration", rule: code.replace("passkey_policy.", "") });
  }

  it("asks for direct attestation, and refuses a passkey without one, naming the rule", async () => {
    const user = await newUser(everyone);
    const { options, verify } = await startRegistration(everyone, user.email);
    expect(options.attestation).toBe("direct");
    await expectRefused(
      everyone,
      user.id,
      await verify(new SoftwareAuthenticator()),
      "passkey_policy.attestation_required",
      "This site accepts only approved security keys (Acme Key 5, Acme Keys), and this passkey does not show which model it is.",
    );
  });

  it("refuses self attestation: signed by the new key itself, it proves nothing about the maker", async () => {
    const user = await newUser(everyone);
    const { verify } = await startRegistration(everyone, user.email);
    const authenticator = new SoftwareAuthenticator();
    authenticator.aaguid = aaguidBytes(APPROVED_MODEL);
    await expectRefused(
      everyone,
      user.id,
      await verify(authenticator, { fmt: "packed", self: true }),
      "passkey_policy.attestation_required",
      "approved security keys",
    );
  });

  it("refuses an attestation chaining to a root the operator did not name", async () => {
    const user = await newUser(everyone);
    const { verify } = await startRegistration(everyone, user.email);
    const key = await securityKey(unknownRoot, APPROVED_MODEL);
    await expectRefused(
      everyone,
      user.id,
      await verify(key.authenticator, key.attestation),
      "passkey_policy.untrusted_attestation",
      "this key's maker certificate is not one the site trusts",
    );
  });

  it("refuses chains SimpleWebAuthn's path check lets through: a leaf as issuer, an unrelated certificate, a leaf without its constraints or model", async () => {
    const user = await newUser(everyone);
    const authenticator = new SoftwareAuthenticator();
    authenticator.aaguid = aaguidBytes(APPROVED_MODEL);
    const batch = await makeAttestationLeaf(root, aaguidBytes(APPROVED_MODEL));
    const minted = await makeAttestationLeaf(batch.asIssuer, aaguidBytes(APPROVED_MODEL));
    const unrelated = await makeAttestationLeaf(unknownRoot, aaguidBytes(APPROVED_MODEL));
    const unconstrained = await makeAttestationLeaf(root, aaguidBytes(APPROVED_MODEL), { basicConstraints: false });
    const modelless = await makeAttestationLeaf(root);
    const chains = [
      { x5c: [minted.der, batch.der], signingKey: minted.signingKey },
      { x5c: [batch.der, unrelated.der], signingKey: batch.signingKey },
      { x5c: [unconstrained.der], signingKey: unconstrained.signingKey },
      { x5c: [modelless.der], signingKey: modelless.signingKey },
    ];
    for (const chain of chains) {
      const { verify } = await startRegistration(everyone, user.email);
      const refused = await verify(authenticator, { fmt: "packed", ...chain });
      await expectRefused(everyone, user.id, refused, "passkey_policy.untrusted_attestation", "this key's maker certificate is not one the site trusts");
    }
  });

  it("refuses a verified model that is not on the AAGUID allow-list", async () => {
    const user = await newUser(everyone);
    const { verify } = await startRegistration(everyone, user.email);
    const key = await securityKey(root, OTHER_MODEL);
    await expectRefused(
      everyone,
      user.id,
      await verify(key.authenticator, key.attestation),
      "passkey_policy.aaguid_not_allowed",
      "this model is not on its list",
    );
  });

  it("accepts an allowed model whose attestation verifies against the test root, and marks it attested", async () => {
    const user = await newUser(everyone);
    const { verify } = await startRegistration(everyone, user.email);
    const key = await securityKey(root, APPROVED_MODEL);
    const response = await verify(key.authenticator, key.attestation);
    expect(response.status, response.text).toBe(200);
    const [stored] = await credentialsOf(everyone, user.id);
    expect(stored).toMatchObject({ aaguid: APPROVED_MODEL, attested: true, attestationFormat: "packed" });
  });

  it("states the refusal in the reader's language", async () => {
    const user = await newUser(everyone);
    const { verify, account } = await startRegistration(everyone, user.email);
    account.browser.acceptLanguage = "de";
    const response = await verify(new SoftwareAuthenticator());
    expect(JSON.parse(response.text).error_description).toBe(
      "Diese Website akzeptiert nur zugelassene Sicherheitsschlüssel (Acme Key 5, Acme Keys), und dieser Passkey gibt nicht an, welches Modell er ist. Verwenden Sie einen der zugelassenen Sicherheitsschlüssel.",
    );
  });

  it("stores exactly one passkey when the same attested response is sent 50 times at once", async () => {
    const user = await newUser(everyone);
    const { verify } = await startRegistration(everyone, user.email);
    const key = await securityKey(root, APPROVED_MODEL);
    const responses = await Promise.all(Array.from({ length: 50 }, () => verify(key.authenticator, key.attestation)));
    expect(responses.filter((response) => response.status === 200)).toHaveLength(1);
    // The others find the challenge taken, or (once the passkey is in) the account asking to verify again with it.
    const refusals = new Set(responses.filter((response) => response.status !== 200).map((response) => JSON.parse(response.text).error));
    expect([...refusals].every((error) => error === "passkey.challenge_expired" || error === "account.verify_again")).toBe(true);
    expect(await credentialsOf(everyone, user.id)).toHaveLength(1);
  });

  describe("applied to operators only", () => {
    it("accepts an ordinary user's passkey without attestation, and does not ask for one", async () => {
      const user = await newUser(operators);
      const { options, verify } = await startRegistration(operators, user.email);
      expect(options.attestation).toBe("none");
      expect((await verify(new SoftwareAuthenticator())).status).toBe(200);
      expect(await credentialsOf(operators, user.id)).toMatchObject([{ attested: false, attestationFormat: "none" }]);
    });

    it("marks an ordinary user's security key whose attestation passes anyway, so it counts should they become an operator", async () => {
      const user = await newUser(operators);
      const { verify } = await startRegistration(operators, user.email);
      const key = await securityKey(root, APPROVED_MODEL);
      expect((await verify(key.authenticator, key.attestation)).status).toBe(200);
      expect(await credentialsOf(operators, user.id)).toMatchObject([{ attested: true, attestationFormat: "packed" }]);
    });

    it("refuses an operator's passkey without attestation, and accepts their attested security key", async () => {
      const operator = await seedPerson(operators, `policy-operator-${kind}-${++counter}@example.com`, { role: "operator", passkey: false });
      const first = await startRegistration(operators, operator.email);
      expect(first.options.attestation).toBe("direct");
      await expectRefused(operators, operator.id, await first.verify(new SoftwareAuthenticator()), "passkey_policy.attestation_required", "Acme Keys");

      const second = await startRegistration(operators, operator.email);
      const key = await securityKey(root, OTHER_MODEL);
      expect((await second.verify(key.authenticator, key.attestation)).status).toBe(200);
      expect(await credentialsOf(operators, operator.id)).toMatchObject([{ attested: true, attestationFormat: "packed" }]);

      // The console takes the attested key.
      const console = new ConsolePage(operators, { ...operator, authenticator: key.authenticator });
      const page = await console.page();
      expect(new URL(page.url).pathname).toBe("/admin");
      expect(page.status).toBe(200);
    });

    it("refuses an operator's console sign-in with a passkey registered before the policy, in plain words", async () => {
      const operator = await seedPerson(operators, `policy-old-key-${kind}-${++counter}@example.com`, { role: "operator" });
      const console = new ConsolePage(operators, operator);
      await expect(console.page()).rejects.toThrow(
        /passkey authenticate failed \(403\).*This app accepts only passkeys registered as approved security keys, and this one is not/,
      );
      const [event] = await refusalsOf(operators, operator.id);
      expect(event?.details).toMatchObject({ ceremony: "sign_in", rule: "approved_key_required" });

      // The same passkey still opens the account page, where an approved key can be added.
      const account = new AccountPage(operators, operator.email);
      account.passkey = { authenticator: operator.authenticator as SoftwareAuthenticator, userId: operator.id };
      expect(new URL((await account.open()).url).pathname).toBe("/account");
    });

    it("does not let the account page's session, made with an unapproved passkey, open the console", async () => {
      const operator = await seedPerson(operators, `policy-session-${kind}-${++counter}@example.com`, { role: "operator" });
      const account = new AccountPage(operators, operator.email);
      account.passkey = { authenticator: operator.authenticator as SoftwareAuthenticator, userId: operator.id };
      expect(new URL((await account.open()).url).pathname).toBe("/account");
      // Same browser, same session: the console asks to confirm with an approved key instead of opening.
      const consolePage = await account.browser.follow(`${operators.issuer}/admin`, operators.issuer);
      expect(new URL(consolePage.url).pathname).toMatch(/^\/interaction\//);
      expect(consolePage.text).toContain('data-passkey-action="reverify"');
      const options = JSON.parse((await account.browser.postJson(`${consolePage.url}/passkey/reverify/options`, csrfTokenOf(consolePage.text), {})).text);
      const assertion = (operator.authenticator as SoftwareAuthenticator).assertion(
        { challenge: options.challenge, origin: operators.issuer, rpId: "127.0.0.1" },
        operator.id,
      );
      const refused = await account.browser.postJson(`${consolePage.url}/passkey/reverify/verify`, csrfTokenOf(consolePage.text), assertion);
      expect(refused.status).toBe(403);
      expect(JSON.parse(refused.text).error).toBe("passkey_policy.approved_key_required");
    });
  });

  describe("applied to apps whose minimum is a passkey", () => {
    async function passwordStep(server: TestServer, browser: BrowserSession, start: AuthorizationStart, email: string) {
      const page = await browser.follow(start.url.toString(), server.issuer);
      const action = new URL(formActionOf(page.text, "/login"), server.issuer).toString();
      return browser.follow(action, server.issuer, await browser.postForm(action, { _csrf: csrfTokenOf(page.text), email, password: PASSWORD }));
    }

    /** The usernameless passkey sign-in on the app's sign-in page, as passkey.js does it; answers the verify. */
    async function passkeySignIn(server: TestServer, start: AuthorizationStart, authenticator: SoftwareAuthenticator, userId: string) {
      const browser = new BrowserSession();
      const page = await browser.follow(start.url.toString(), server.issuer);
      const base = page.text.match(/data-base="([^"]+)"/)?.[1] as string;
      const csrf = page.text.match(/data-csrf="([^"]+)"/)?.[1] as string;
      const options = JSON.parse((await browser.postJson(`${server.issuer}${base}/passkey/authenticate/options`, csrf, {})).text);
      const assertion = authenticator.assertion({ challenge: options.challenge, origin: server.issuer, rpId: "127.0.0.1" }, userId);
      return browser.postJson(`${server.issuer}${base}/passkey/authenticate/verify`, csrf, assertion);
    }

    it("asks the passkey set up during a sign-in to such an app for attestation, refuses one without, takes an attested one", async () => {
      const strict = await registerRelyingParty(passkeyApps, { firstParty: true });
      await passkeyApps.services.clients.update(strict.clientId, { minimumAcr: "passkey" });
      const user = await newUser(passkeyApps);
      const browser = new BrowserSession();
      const enrolPage = await passwordStep(passkeyApps, browser, await authorizationRequest(strict), user.email);
      expect(enrolPage.text).toContain('data-passkey-action="enrol"');
      const uid = enrolPage.url.match(/\/interaction\/([^/]+)/)?.[1] as string;
      const post = (path: string, body: unknown) => browser.postJson(`${passkeyApps.issuer}/interaction/${uid}${path}`, csrfTokenOf(enrolPage.text), body);
      const register = async (authenticator: SoftwareAuthenticator, attestation?: Attestation) => {
        const options = JSON.parse((await post("/passkey/enrol/options", {})).text) as { challenge: string; attestation: string };
        expect(options.attestation).toBe("direct");
        return post(
          "/passkey/enrol/verify",
          authenticator.registration({ challenge: options.challenge, origin: passkeyApps.issuer, rpId: "127.0.0.1" }, undefined, attestation),
        );
      };
      await expectRefused(passkeyApps, user.id, await register(new SoftwareAuthenticator()), "passkey_policy.attestation_required", "Acme Keys");
      const key = await securityKey(root, APPROVED_MODEL);
      const created = await register(key.authenticator, key.attestation);
      expect(created.status, created.text).toBe(200);
      expect(JSON.parse(created.text).redirectTo).toBeTruthy();
      expect(await credentialsOf(passkeyApps, user.id)).toMatchObject([{ attested: true }]);
    });

    it("refuses a passkey without attestation at such an app's sign-in, and takes it at any other app's", async () => {
      const strict = await registerRelyingParty(passkeyApps, { firstParty: true });
      await passkeyApps.services.clients.update(strict.clientId, { minimumAcr: "passkey" });
      const relaxed = await registerRelyingParty(passkeyApps);
      const person = await seedPerson(passkeyApps, `policy-app-${kind}-${++counter}@example.com`);
      const authenticator = person.authenticator as SoftwareAuthenticator;

      const refused = await passkeySignIn(passkeyApps, await authorizationRequest(strict), authenticator, person.id);
      expect(refused.status).toBe(403);
      expect(JSON.parse(refused.text)).toMatchObject({ error: "passkey_policy.approved_key_required" });
      const accepted = await passkeySignIn(passkeyApps, await authorizationRequest(relaxed), authenticator, person.id);
      expect(accepted.status, accepted.text).toBe(200);
      expect(JSON.parse(accepted.text).redirectTo).toBeTruthy();
    });

    it("does not open such an app with a passkey made at sign-up during its sign-in without attestation", async () => {
      const strict = await registerRelyingParty(passkeyApps, { firstParty: true });
      await passkeyApps.services.clients.update(strict.clientId, { minimumAcr: "passkey" });
      const browser = new BrowserSession();
      const email = `policy-signup-${kind}-${++counter}@example.com`;
      const login = await browser.follow((await authorizationRequest(strict)).url.toString(), passkeyApps.issuer);
      const signUpUrl = `${passkeyApps.issuer}${login.text.match(/href="(\/interaction\/[^"]+\/signup)"/)?.[1]}`;
      const form = await browser.get(signUpUrl);
      await browser.postForm(signUpUrl, { _csrf: csrfTokenOf(form.text), email });
      const link = (await mailsTo(passkeyApps, email)).at(-1)?.link as string;
      const page = await browser.get(link);
      const csrf = page.text.match(/data-csrf="([^"]+)"/)?.[1] as string;
      const token = new URL(link).searchParams.get("token");
      const post = (path: string, body: unknown) => browser.postJson(`${passkeyApps.issuer}/signup${path}`, csrf, body);
      const { challenge } = JSON.parse((await post("/passkey/register/options", { token })).text) as { challenge: string };
      const plain = new SoftwareAuthenticator().registration({ challenge, origin: passkeyApps.issuer, rpId: "127.0.0.1" });
      const created = await post("/passkey/register/verify", { ...plain, token });
      expect(created.status, created.text).toBe(200);
      const after = await browser.follow(new URL(JSON.parse(created.text).redirectTo, passkeyApps.issuer).toString(), passkeyApps.issuer);
      expect(after.location ?? "").not.toContain("code=");
      expect(after.text).toContain('data-passkey-action="reverify"');
    });

    it("does not carry a session made with an unapproved passkey at another app into such an app; an approved key's session passes", async () => {
      const strict = await registerRelyingParty(passkeyApps, { firstParty: true });
      await passkeyApps.services.clients.update(strict.clientId, { minimumAcr: "passkey" });
      const relaxed = await registerRelyingParty(passkeyApps, { firstParty: true });

      /** Signs in at `relaxed` with the passkey in `browser`, then asks `strict` in the same browser. */
      async function ssoToStrict(authenticator: SoftwareAuthenticator, userId: string, extra: Record<string, string> = {}) {
        const browser = new BrowserSession();
        const page = await browser.follow((await authorizationRequest(relaxed)).url.toString(), passkeyApps.issuer);
        const base = page.text.match(/data-base="([^"]+)"/)?.[1] as string;
        const csrf = csrfTokenOf(page.text);
        const options = JSON.parse((await browser.postJson(`${passkeyApps.issuer}${base}/passkey/authenticate/options`, csrf, {})).text);
        const assertion = authenticator.assertion({ challenge: options.challenge, origin: passkeyApps.issuer, rpId: "127.0.0.1" }, userId);
        const signedIn = await browser.postJson(`${passkeyApps.issuer}${base}/passkey/authenticate/verify`, csrf, assertion);
        const landed = await browser.follow(new URL(JSON.parse(signedIn.text).redirectTo, passkeyApps.issuer).toString(), passkeyApps.issuer);
        expect(landed.location).toContain("code=");
        return browser.follow((await authorizationRequest(strict, extra)).url.toString(), passkeyApps.issuer);
      }

      const person = await seedPerson(passkeyApps, `policy-sso-${kind}-${++counter}@example.com`);
      const unapproved = await ssoToStrict(person.authenticator as SoftwareAuthenticator, person.id);
      expect(unapproved.location ?? "").not.toContain("code=");
      expect(unapproved.text).toContain('data-passkey-action="reverify"');
      const silent = await ssoToStrict(person.authenticator as SoftwareAuthenticator, person.id, { prompt: "none" });
      expect(new URL(silent.location as string).searchParams.get("error")).toBe("login_required");

      // An approved key's session opens the strict app without a new ceremony.
      const user = await newUser(passkeyApps);
      const key = await securityKey(root, APPROVED_MODEL);
      const { verify } = await startRegistration(passkeyApps, user.email);
      // Outside the policy's scope (the account page), an attested key is still marked as passing.
      expect((await verify(key.authenticator, key.attestation)).status).toBe(200);
      const approved = await ssoToStrict(key.authenticator, user.id);
      expect(approved.location).toContain("code=");
    });
  });
});
