import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTestRoot } from "../helpers/attestation-certificates.js";
import { addVirtualAuthenticator, chromiumAvailable, launchChromium, openTestPage, signInWithPassword } from "../helpers/chromium.js";
import { createUser, PASSWORD } from "../helpers/relying-party.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

// Issue #16: a security-key-only policy, met by Chromium's virtual authenticator (its attestation is not from the operator's root).
describe.skipIf(!chromiumAvailable)("passkey policy in Chromium", () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), "idp-policy-e2e-"));
    writeFileSync(join(dir, "roots.pem"), (await makeTestRoot("Acme Keys")).pem);
    server = await startTestServer("pglite", {}, { issuerHost: "localhost", env: { PASSKEY_ATTESTATION: "direct", PASSKEY_ROOTS: join(dir, "roots.pem") } });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it("refuses the virtual authenticator's passkey on the account page with the rule in plain words, and stores nothing", async () => {
    const email = "policy-browser@example.com";
    const userId = await createUser(server, email);
    const { context, page } = await openTestPage(browser, { hideAutofill: true });
    await addVirtualAuthenticator(context, page);
    await page.goto(`${server.issuer}/account`);
    await signInWithPassword(page, email, PASSWORD);
    await page.waitForURL(`${server.issuer}/account`);
    await page.getByRole("button", { name: "Add a passkey" }).click();
    await page.getByRole("button", { name: "Create a passkey" }).click();
    const error = page.locator("#passkey-error");
    await error.waitFor({ state: "visible" });
    expect(await error.textContent()).toMatch(
      /^This site accepts only approved security keys \(Acme Keys\), and this (passkey does not show which model it is|key's maker certificate is not one the site trusts)\./,
    );
    expect(await server.database.prisma.credential.count({ where: { userId } })).toBe(0);
    await context.close();
  });
});
