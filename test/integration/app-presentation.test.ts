import * as oidc from "openid-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCommand } from "../../src/cli/run-command.js";
import type { ClientView } from "../../src/clients/client-registry.js";
import { BrowserSession, csrfTokenOf, formActionOf, type PageResponse } from "../helpers/browser-session.js";
import { authorizationRequest, createUser, PASSWORD, type RelyingParty, RP_CALLBACK } from "../helpers/relying-party.js";
import { DATABASE_KINDS } from "../helpers/test-database.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { tokenRequest } from "../helpers/token-requests.js";

// A real 1×1 PNG, and one whose bytes are not what its type says.
const PNG_LOGO = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
const HTML_AS_PNG = `data:image/png;base64,${Buffer.from("<script>alert(1)</script>").toString("base64")}`;
const SVG_LOGO = `data:image/svg+xml;base64,${Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>').toString("base64")}`;

const PRESENTATION = {
  client_uri: "https://app.example.com/",
  logo_uri: "https://cdn.example.com/brand/logo.png",
  policy_uri: "https://app.example.com/privacy",
  tos_uri: "https://app.example.com/terms",
};

// Each: what it is, the field, the value, and what the refusal says. A NUL never gets past the
// server's own guard on request bodies (hostile-input), so the admin API refuses it before the registry.
const REFUSED: [what: string, field: keyof typeof PRESENTATION, value: string, says: string, apiSays?: string][] = [
  ["a javascript: URL", "client_uri", "javascript:alert(document.cookie)", "must be an absolute https URL"],
  ["plain http", "client_uri", "http://app.example.com/", "must use https"],
  ["credentials", "policy_uri", "https://user:secret@app.example.com/privacy", "must not contain credentials"],
  ["a fragment", "policy_uri", "https://app.example.com/privacy#top", "must not contain a fragment"],
  ["a NUL", "tos_uri", "https://app.example.com/\u0000terms", "control characters", "contains a NUL character"],
  ["CRLF", "tos_uri", "https://app.example.com/terms\r\nSet-Cookie: a=b", "control characters"],
  ["2,001 characters", "tos_uri", `https://app.example.com/${"t".repeat(2001)}`, "at most 2000 characters"],
  ["a javascript: logo", "logo_uri", "javascript:alert(1)", "must be an absolute https URL"],
  ["an SVG logo", "logo_uri", SVG_LOGO, "no SVG"],
  ["HTML labelled image/png", "logo_uri", HTML_AS_PNG, "its bytes are not a PNG image"],
  ["invalid base64", "logo_uri", "data:image/png;base64,iVBORw0KGgo$$$$", "valid base64"],
  ["a 37 KB logo", "logo_uri", `data:image/png;base64,${"A".repeat(50_000)}`, "at most 32 KiB"],
];

const flagOf = (field: string) => `--${field.replace("_", "-")}`;

// Issue #14: the app's home page, logo, privacy policy and terms, registered by an operator and
// shown on the sign-in and consent pages.
describe.each(DATABASE_KINDS)("app presentation (%s)", (kind) => {
  let server: TestServer;
  let adminToken: string;

  beforeAll(async () => {
    server = await startTestServer(kind);
    await createUser(server, "presentation@example.com");
    const admin = await server.services.clients.create({ name: "Operations", redirectUris: [], clientCredentials: true, scopes: ["admin"] });
    const issued = await tokenRequest(
      server.issuer,
      { grant_type: "client_credentials", scope: "admin" },
      { clientId: admin.client_id, clientSecret: admin.client_secret as string },
    );
    adminToken = issued.body.access_token as string;
  });
  afterAll(() => server?.stop());

  async function api(method: string, path: string, body: unknown) {
    const response = await fetch(`${server.issuer}/admin/api${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  async function cli(...argv: string[]) {
    let stdout = "";
    let stderr = "";
    const io = {
      stdout: (text: string) => {
        stdout += text;
      },
      stderr: (text: string) => {
        stderr += text;
      },
      stdin: null,
    };
    return { code: await runCommand(argv, io, server.services), stdout, stderr };
  }

  /** The stored row as the registry reads it, and as oidc-provider sees it. */
  const stored = (id: string) => server.services.clients.show(id);

  describe("registration through the CLI", () => {
    it("sets the four fields on create, shows them, and clears one with an empty value", async () => {
      const created = await cli(
        "clients",
        "create",
        "--name",
        "Wiki",
        "--redirect-uri",
        "https://wiki.example.com/cb",
        "--client-uri",
        "https://wiki.example.com",
        "--logo-uri",
        PNG_LOGO,
        "--policy-uri",
        "https://wiki.example.com/privacy",
        "--tos-uri",
        "https://wiki.example.com/terms",
        "--json",
      );
      expect(created.stderr).toBe("");
      expect(created.code).toBe(0);
      const client = JSON.parse(created.stdout) as ClientView;
      // Kept in the URL parser's normal form (the trailing slash), which is what the pages print.
      expect(client).toMatchObject({
        client_uri: "https://wiki.example.com/",
        logo_uri: PNG_LOGO,
        policy_uri: "https://wiki.example.com/privacy",
        tos_uri: "https://wiki.example.com/terms",
      });

      const shown = await cli("clients", "show", client.client_id);
      expect(shown.stdout).toContain("home page:     https://wiki.example.com/");
      expect(shown.stdout).toMatch(/logo: {10}inline image\/png, 70 bytes, sha256:[0-9a-f]{16}\n/);
      expect(shown.stdout).toContain("privacy:       https://wiki.example.com/privacy");
      expect(shown.stdout).toContain("terms:         https://wiki.example.com/terms");

      const updated = await cli("clients", "update", client.client_id, "--logo-uri", "", "--tos-uri", "https://wiki.example.com/tos", "--json");
      expect(updated.code).toBe(0);
      expect(JSON.parse(updated.stdout)).toMatchObject({ logo_uri: null, tos_uri: "https://wiki.example.com/tos", client_uri: "https://wiki.example.com/" });

      // The audit log keeps an inline logo by type, size and digest: one record, not 90 KB of base64 twice.
      const [cleared, createdEvent] = await server.services.audit.query({ targetId: client.client_id, limit: 2 });
      expect(createdEvent).toMatchObject({ action: "client.created", after: { logo_uri: expect.stringMatching(/^inline image\/png, 70 bytes, sha256:/) } });
      expect(cleared).toMatchObject({ action: "client.updated", before: { logo_uri: expect.stringMatching(/^inline image\/png/) }, after: { logo_uri: null } });
      expect(JSON.stringify(createdEvent)).not.toContain(PNG_LOGO.slice(30));
    });

    it.each(REFUSED)("refuses %s in %s with a message naming the flag, exit 1, and changes nothing", async (_what, field, value, says) => {
      const created = await cli("clients", "create", "--name", "Refused app", "--redirect-uri", "https://refused.example.com/cb", flagOf(field), value);
      expect(created.stderr.slice(0, 300)).toContain(`${flagOf(field)} `);
      expect(created.code).toBe(1);
      expect(created.stderr).toContain(says);
      // The message quotes a hostile value escaped and cut short, never raw.
      expect(created.stderr).not.toContain("\u0000");
      expect(created.stderr).not.toContain("\r\n");
      expect(created.stderr.length).toBeLessThan(400);
      expect((await server.services.clients.list()).some((client) => client.client_name === "Refused app")).toBe(false);

      const target = await server.services.clients.create({ name: "Kept", redirectUris: ["https://kept.example.com/cb"], ...asInput(PRESENTATION) });
      const before = await stored(target.client_id);
      const updated = await cli("clients", "update", target.client_id, "--name", "Renamed", flagOf(field), value);
      expect(updated.code).toBe(1);
      expect(updated.stderr).toContain(says);
      expect(await stored(target.client_id)).toEqual(before);
    });
  });

  describe("registration through the admin API", () => {
    it("takes the RFC 7591 fields on create, clears with null or an empty string on PATCH, and gives them to oidc-provider as standard metadata", async () => {
      const created = await api("POST", "/clients", { client_name: "Dashboards", redirect_uris: ["https://dash.example.com/cb"], ...PRESENTATION });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject(PRESENTATION);
      const id = created.body.client_id as string;

      const client = await server.provider.Client.find(id);
      expect(client).toMatchObject({
        clientUri: PRESENTATION.client_uri,
        logoUri: PRESENTATION.logo_uri,
        policyUri: PRESENTATION.policy_uri,
        tosUri: PRESENTATION.tos_uri,
      });

      const cleared = await api("PATCH", `/clients/${id}`, { client_uri: null, tos_uri: "", logo_uri: PNG_LOGO });
      expect(cleared.status).toBe(200);
      expect(cleared.body).toMatchObject({ client_uri: null, tos_uri: null, logo_uri: PNG_LOGO, policy_uri: PRESENTATION.policy_uri });
      // An inline logo is no web URL: oidc-provider does not get it as logo_uri (it would refuse the client).
      const after = await server.provider.Client.find(id);
      expect(after?.clientUri).toBeUndefined();
      expect(after?.tosUri).toBeUndefined();
      expect(after?.logoUri).toBeUndefined();
      expect(after?.policyUri).toBe(PRESENTATION.policy_uri);
    });

    it.each(REFUSED)("refuses %s in %s with a 400 naming the field, and changes nothing", async (_what, field, value, registrySays, apiSays) => {
      const says = apiSays ?? registrySays;
      const created = await api("POST", "/clients", { client_name: "Refused app", redirect_uris: ["https://refused.example.com/cb"], [field]: value });
      expect(created.status).toBe(400);
      expect(created.body.error).toBe("invalid_request");
      if (!apiSays) expect(created.body.error_description).toMatch(new RegExp(`^${field} `));
      expect(created.body.error_description).toContain(says);
      expect((await server.services.clients.list()).some((client) => client.client_name === "Refused app")).toBe(false);

      const target = await server.services.clients.create({ name: "Kept", redirectUris: ["https://kept.example.com/cb"], ...asInput(PRESENTATION) });
      const before = await stored(target.client_id);
      const updated = await api("PATCH", `/clients/${target.client_id}`, { client_name: "Renamed", [field]: value });
      expect(updated.status).toBe(400);
      expect(updated.body.error_description).toContain(says);
      expect(await stored(target.client_id)).toEqual(before);
    });

    it.each([
      ["an array for a string", { logo_uri: ["https://cdn.example.com/logo.png"] }, "logo_uri"],
      ["a number", { client_uri: 42 }, "client_uri"],
      ["an object", { policy_uri: { href: "https://app.example.com/" } }, "policy_uri"],
      ["100 KB", { tos_uri: `https://app.example.com/${"x".repeat(100_000)}` }, ""],
    ])("refuses %s with a 4xx and changes nothing", async (_what, fields, named) => {
      const target = await server.services.clients.create({ name: "Kept", redirectUris: ["https://kept.example.com/cb"], ...asInput(PRESENTATION) });
      const before = await stored(target.client_id);
      const updated = await api("PATCH", `/clients/${target.client_id}`, fields);
      expect([400, 413]).toContain(updated.status);
      expect(updated.body.error).toBe("invalid_request");
      expect(updated.body.error_description).toContain(named);
      expect(await stored(target.client_id)).toEqual(before);
    });
  });

  describe("the sign-in and consent pages", () => {
    async function registerApp(name: string, presentation: Partial<typeof PRESENTATION>): Promise<RelyingParty> {
      const client = await server.services.clients.create({ name, redirectUris: [RP_CALLBACK], ...asInput(presentation) });
      const config = await oidc.discovery(new URL(server.issuer), client.client_id, undefined, oidc.ClientSecretBasic(client.client_secret), {
        execute: [oidc.allowInsecureRequests],
      });
      return { clientId: client.client_id, clientSecret: client.client_secret, config };
    }

    async function loginPage(rp: RelyingParty, browser = new BrowserSession()) {
      const start = await authorizationRequest(rp);
      return { browser, page: await browser.follow(start.url.toString(), server.issuer) };
    }

    /** Signs in with a password and declines the passkey offer: the page that follows is consent. */
    async function consentPage(rp: RelyingParty): Promise<PageResponse> {
      const { browser, page } = await loginPage(rp);
      const action = new URL(formActionOf(page.text, "/login"), server.issuer).toString();
      let next = await browser.follow(
        action,
        server.issuer,
        await browser.postForm(action, { _csrf: csrfTokenOf(page.text), email: "presentation@example.com", password: PASSWORD }),
      );
      if (next.text.includes("/passkey/skip")) {
        const skip = new URL(formActionOf(next.text, "/passkey/skip"), server.issuer).toString();
        next = await browser.follow(skip, server.issuer, await browser.postForm(skip, { _csrf: csrfTokenOf(next.text) }));
      }
      expect(next.text).toContain("/consent");
      return next;
    }

    const imgSrc = (page: PageResponse) => (page.headers.get("content-security-policy") ?? "").match(/img-src ([^;]*)/)?.[1];
    const logoTag = (page: PageResponse) => page.text.match(/<img class="app-logo"[^>]*>/)?.[0];

    it("names the app (as text, even when its name is markup) and shows its https logo, allowing exactly that origin", async () => {
      const rp = await registerApp('<script>alert("name")</script>', PRESENTATION);
      const { page } = await loginPage(rp);
      expect(page.status).toBe(200);
      const escapedName = "&lt;script&gt;alert(&quot;name&quot;)&lt;/script&gt;";
      expect(page.text).toContain(`<title>Sign in to ${escapedName}</title>`);
      expect(page.text).toContain(`<h1 id="page-title">Sign in to ${escapedName}</h1>`);
      expect(page.text).not.toContain('<script>alert("name")');
      expect(logoTag(page)).toBe(
        `<img class="app-logo" src="https://cdn.example.com/brand/logo.png" alt="${escapedName} logo" width="64" height="64" referrerpolicy="no-referrer">`,
      );
      // The logo's origin and nothing wider (no `https:`, no other app's host).
      expect(imgSrc(page)).toBe("'self' data: https://cdn.example.com");
    });

    it("shows the app's name, logo and links on the consent page, each link opened without referrer or opener", async () => {
      const rp = await registerApp("Team Wiki", PRESENTATION);
      const page = await consentPage(rp);
      expect(page.text).toContain("<title>Allow access</title>");
      expect(page.text).toContain('<h1 id="page-title">Sign in to Team Wiki</h1>');
      expect(logoTag(page)).toContain('src="https://cdn.example.com/brand/logo.png"');
      expect(imgSrc(page)).toBe("'self' data: https://cdn.example.com");
      const links = [...page.text.matchAll(/<a href="([^"]+)" target="_blank" rel="noopener noreferrer">([^<]+)<\/a>/g)].map((m) => [m[1], m[2]]);
      expect(links).toEqual([
        ["https://app.example.com/", "About Team Wiki"],
        ["https://app.example.com/privacy", "Privacy policy"],
        ["https://app.example.com/terms", "Terms of service"],
      ]);
    });

    it("shows an inline logo without opening the CSP, and neither logo nor links when none are set", async () => {
      const inline = await loginPage(await registerApp("Inline", { logo_uri: PNG_LOGO }));
      expect(logoTag(inline.page)).toContain(`src="${PNG_LOGO}"`);
      expect(imgSrc(inline.page)).toBe("'self' data:");

      const plain = await registerApp("Plain", {});
      const { page } = await loginPage(plain);
      expect(page.text).toContain('<h1 id="page-title">Sign in to Plain</h1>');
      expect(logoTag(page)).toBeUndefined();
      expect(imgSrc(page)).toBe("'self' data:");
      const consent = await consentPage(plain);
      expect(consent.text).not.toContain('class="app-links"');
    });

    it("follows a change at once: a new logo, a cleared one", async () => {
      const rp = await registerApp("Changing", PRESENTATION);
      expect(imgSrc((await loginPage(rp)).page)).toBe("'self' data: https://cdn.example.com");
      await server.services.clients.update(rp.clientId, { logoUri: "https://img.example.net:8443/l.webp" });
      const moved = (await loginPage(rp)).page;
      expect(logoTag(moved)).toContain('src="https://img.example.net:8443/l.webp"');
      expect(imgSrc(moved)).toBe("'self' data: https://img.example.net:8443");
      await server.services.clients.update(rp.clientId, { logoUri: "" });
      const cleared = (await loginPage(rp)).page;
      expect(logoTag(cleared)).toBeUndefined();
      expect(imgSrc(cleared)).toBe("'self' data:");
    });

    it("does not show an inline logo from a row written around the registry's rules (SQL, an older version)", async () => {
      // oidc-provider itself refuses a client whose client_uri, policy_uri or tos_uri is no web URL;
      // the inline logo travels in our own metadata, so the page checks it again.
      const rp = await registerApp("Legacy row", {});
      await server.database.prisma.client.update({ where: { id: rp.clientId }, data: { logoUri: SVG_LOGO } });
      server.services.clients.forget(rp.clientId);
      const { page } = await loginPage(rp);
      expect(page.text).toContain('<h1 id="page-title">Sign in to Legacy row</h1>');
      expect(page.text).not.toContain("image/svg");
      expect(logoTag(page)).toBeUndefined();
      expect(imgSrc(page)).toBe("'self' data:");
    });

    it("keeps the account page's own sign-in wording", async () => {
      const browser = new BrowserSession();
      const page = await browser.follow(`${server.issuer}/account`, server.issuer);
      expect(page.text).toContain("<title>Sign in</title>");
      expect(logoTag(page)).toBeUndefined();
    });
  });
});

/** The API's field names as the registry takes them. */
function asInput(fields: Partial<typeof PRESENTATION>) {
  return { clientUri: fields.client_uri, logoUri: fields.logo_uri, policyUri: fields.policy_uri, tosUri: fields.tos_uri };
}
