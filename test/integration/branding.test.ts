import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrowserSession } from "../helpers/browser-session.js";
import { mailsTo } from "../helpers/outbox.js";
import { authorizationRequest, registerRelyingParty } from "../helpers/relying-party.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64");

// Issue #15 item 3: the operator's name, logo, accent colour and CSS on every page and in every mail.
describe("branding", () => {
  let server: TestServer;
  const dir = mkdtempSync(join(tmpdir(), "idp-brand-"));

  beforeAll(async () => {
    writeFileSync(join(dir, "logo.png"), PNG);
    writeFileSync(join(dir, "extra.css"), ".card { border-width: 2px; }");
    server = await startTestServer(
      "pglite",
      {},
      {
        env: { BRAND_NAME: "Acme <ID>", BRAND_LOGO: join(dir, "logo.png"), BRAND_ACCENT_COLOR: "#0a7d33", BRAND_CSS: join(dir, "extra.css") },
      },
    );
  });
  afterAll(() => server?.stop());

  it("shows the site's name (escaped) and logo on the sign-in page, an error page and a missing page", async () => {
    const rp = await registerRelyingParty(server);
    const pages = [
      await new BrowserSession().follow((await authorizationRequest(rp)).url.toString(), server.issuer),
      await new BrowserSession().get(`${server.issuer}/auth?client_id=nope`),
      await new BrowserSession().get(`${server.issuer}/no/such/page`),
    ];
    for (const page of pages) {
      expect(page.text).toContain('<span class="site-name">Acme &lt;ID&gt;</span>');
      expect(page.text).toContain('<img class="site-logo" src="/static/brand-logo" alt=""');
      expect(page.text).toContain('<link rel="stylesheet" href="/static/brand.css">');
    }
  });

  it("serves the logo and the brand's stylesheet (the accent colour, then the operator's CSS)", async () => {
    const logo = await fetch(`${server.issuer}/static/brand-logo`);
    expect(logo.headers.get("content-type")).toBe("image/png");
    expect(Buffer.from(await logo.arrayBuffer()).equals(PNG)).toBe(true);
    const css = await (await fetch(`${server.issuer}/static/brand.css`)).text();
    expect(css).toMatch(/--accent: #0a7d33;[\s\S]*\.card \{ border-width: 2px; \}/);
  });

  it("names the site in mails", async () => {
    await server.services.administration({ actor: "cli:test", ip: null }).users.invite("brand-invite@example.com");
    const [mail] = await mailsTo(server, "brand-invite@example.com");
    expect(mail?.subject).toBe("You are invited to create an account at Acme <ID>");
  });
});

describe("a brand logo on another site", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer("pglite", {}, { env: { BRAND_LOGO: "https://cdn.example.com/brand/logo.svg" } });
  });
  afterAll(() => server?.stop());

  it("is shown from there, with exactly its origin in the page's img-src", async () => {
    const page = await new BrowserSession().get(`${server.issuer}/no/such/page`);
    expect(page.text).toContain('<img class="site-logo" src="https://cdn.example.com/brand/logo.svg"');
    expect(page.headers.get("content-security-policy")).toContain("img-src 'self' data: https://cdn.example.com;");
    expect((await fetch(`${server.issuer}/static/brand-logo`)).status).toBe(404);
  });
});

describe("an SVG brand logo", () => {
  let server: TestServer;
  const dir = mkdtempSync(join(tmpdir(), "idp-brand-svg-"));
  beforeAll(async () => {
    writeFileSync(join(dir, "logo.svg"), '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.domain)</script></svg>');
    server = await startTestServer("pglite", {}, { env: { BRAND_LOGO: join(dir, "logo.svg") } });
  });
  afterAll(() => server?.stop());

  it("is served sandboxed: opened on its own, its scripts cannot run on this origin", async () => {
    const logo = await fetch(`${server.issuer}/static/brand-logo`);
    expect(logo.headers.get("content-type")).toBe("image/svg+xml");
    expect(logo.headers.get("content-security-policy")).toBe("default-src 'none'; style-src 'unsafe-inline'; sandbox");
    expect(logo.headers.get("x-content-type-options")).toBe("nosniff");
  });
});
