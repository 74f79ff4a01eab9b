import { createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AccountPage } from "../helpers/account-page.js";
import type { PageResponse } from "../helpers/browser-session.js";
import { createUser } from "../helpers/relying-party.js";
import { DATABASE_KINDS } from "../helpers/test-database.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

const codesOn = (page: PageResponse) => [...page.text.matchAll(/<li><code>([a-z2-9-]+)<\/code><\/li>/g)].map((m) => m[1] as string);

// Issue #15 item 5.5: copy, download and print new backup codes. The page's own script does all
// three from the codes it shows; the server never sends codes again (it keeps only their HMACs).
describe.each(DATABASE_KINDS)("backup codes page (%s)", (kind) => {
  let server: TestServer;
  let counter = 0;

  beforeAll(async () => {
    server = await startTestServer(kind);
  });
  afterAll(() => server?.stop());

  async function newCodes() {
    const email = `codes-${kind}-${++counter}@example.com`;
    const id = await createUser(server, email);
    // Once it has backup codes, a change asks for one of them (MFA): the last of the list.
    const spare: string[] = [];
    const account = new AccountPage(server, email, undefined, async () => spare.pop() as string);
    const page = await account.open();
    const shown = await account.post(page, "/account/security/backup-codes");
    expect(shown.status).toBe(200);
    const codes = codesOn(shown);
    spare.push(codes.at(-1) as string);
    return { id, account, shown, codes };
  }

  it("shows new codes once, uncached, with copy, download and print controls its script enables under the CSP", async () => {
    const { shown, codes } = await newCodes();
    expect(codes).toHaveLength(10);
    expect(shown.headers.get("cache-control")).toBe("no-store");
    expect(shown.text).toContain('<section class="backup-codes" data-backup-codes');
    // Rendered hidden (without JavaScript they could do nothing); the script shows what the browser supports.
    expect(shown.text).toMatch(/<div class="code-actions" data-backup-code-actions hidden>/);
    expect(shown.text).toMatch(/<button type="button" class="secondary" data-copy-codes hidden>Copy the codes<\/button>/);
    expect(shown.text).toMatch(/<a data-download-codes download="backup-codes.txt" hidden>Download as a text file<\/a>/);
    expect(shown.text).toMatch(/<button type="button" class="secondary" data-print-codes hidden>Print the codes<\/button>/);
    // The script loads by this response's nonce; no inline handlers, no inline script.
    const nonce = shown.headers.get("content-security-policy")?.match(/'nonce-([^']+)'/)?.[1];
    expect(shown.text).toContain(`<script nonce="${nonce}" src="/static/backup-codes.js"></script>`);
    expect(shown.text).not.toMatch(/\son[a-z]+=/i);
    expect(shown.text).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
    const script = await fetch(`${server.issuer}/static/backup-codes.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get("content-type")).toContain("text/javascript");
  });

  it("never sends the codes again: not on the account page, not at any address, and stored only as HMACs", async () => {
    const { id, account, codes } = await newCodes();
    const page = await account.browser.get(`${server.issuer}/account`);
    expect(page.text).toContain("10 unused backup codes");
    for (const code of codes) expect(page.text).not.toContain(code);
    for (const path of ["/account/security/backup-codes", "/account/security/backup-codes.txt", "/static/backup-codes.txt"]) {
      const answer = await account.browser.get(`${server.issuer}${path}`);
      expect(answer.status, path).not.toBe(200);
      for (const code of codes) expect(answer.text, path).not.toContain(code);
    }
    const stored = await server.database.prisma.backupCode.findMany({ where: { userId: id } });
    expect(stored).toHaveLength(10);
    const storedText = JSON.stringify(stored);
    for (const code of codes) {
      expect(storedText).not.toContain(code);
      expect(storedText).not.toContain(code.replace(/-/g, ""));
    }
    // What is stored is a keyed hash: without the key, the code does not even hash to it.
    const unkeyed = createHmac("sha256", Buffer.alloc(32))
      .update((codes[0] as string).replace(/-/g, ""))
      .digest("base64url");
    expect(stored.map((row) => row.codeHash)).not.toContain(unkeyed);

    // Posting again makes new codes (the page cannot be replayed into the old ones), and the old ones stop working.
    const again = await account.postVerified(page, "/account/security/backup-codes");
    const fresh = codesOn(again);
    expect(fresh).toHaveLength(10);
    expect(fresh.filter((code) => codes.includes(code))).toEqual([]);
    expect(await server.services.backupCodes.use(id, codes[0] as string)).toBe(false);
  });
});
