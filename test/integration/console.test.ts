import * as oidc from "openid-client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { adminApi } from "../helpers/admin-api.js";
import { BrowserSession, csrfTokenOf, type PageResponse } from "../helpers/browser-session.js";
import { ConsolePage, type SeededPerson, seedPerson } from "../helpers/console-page.js";
import { moveClock, restoreClock } from "../helpers/movable-clock.js";
import { createUser, registerRelyingParty, signInAndRedeem } from "../helpers/relying-party.js";
import { DATABASE_KINDS } from "../helpers/test-database.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

const APP_FORM = {
  form: "app",
  name: "Shop",
  redirect_uris: "https://shop.example.com/cb",
  minimum_acr: "none",
  access_token_format: "opaque",
  id_token_alg: "default",
};

// Issue #14: the operators' console at /admin, over HTTP on a real server and database.
describe.each(DATABASE_KINDS)("operators' console (%s)", (kind) => {
  let server: TestServer;
  let operator: SeededPerson;
  let console_: ConsolePage;
  let counter = 0;

  const email = (what: string) => `${what}-${kind}-${++counter}@example.com`;
  const url = (path: string) => `${server.issuer}${path}`;
  const auditCount = () => server.database.prisma.auditEvent.count();

  /** Every route that changes something, for an app and a person that exist. */
  async function changeRoutes() {
    const app = await server.services.clients.create({ name: "Target app", redirectUris: ["https://target.example.com/cb"] });
    const person = await createUser(server, email("target"));
    const group = (await server.services.groups.create(`target-${kind}-${++counter}`)).id;
    return {
      app: app.client_id,
      person,
      group,
      routes: [
        "/admin/groups",
        `/admin/groups/${group}/rename`,
        `/admin/groups/${group}/members`,
        `/admin/groups/${group}/members/${person}/remove`,
        `/admin/groups/${group}/delete`,
        "/admin/apps",
        `/admin/apps/${app.client_id}`,
        `/admin/apps/${app.client_id}/secret`,
        `/admin/apps/${app.client_id}/delete`,
        "/admin/people/invite",
        ...["disable", "enable", "sign-out", "recovery", "role", "delete"].map((action) => `/admin/people/${person}/${action}`),
      ],
    };
  }

  beforeAll(async () => {
    server = await startTestServer(kind);
    operator = await seedPerson(server, email("operator"), { role: "operator" });
    console_ = new ConsolePage(server, operator);
    expect((await console_.page()).status).toBe(200);
  });
  afterEach(() => restoreClock());
  afterAll(() => server?.stop());

  it("signs an operator in with a passkey as the built-in client idp-console, and keeps the JSON API at /admin/api", async () => {
    const browser = new BrowserSession();
    const start = await browser.get(url("/admin/apps"));
    expect(start.status).toBe(303);
    const authorize = new URL(start.location as string);
    expect(authorize.pathname).toBe("/auth");
    expect(authorize.searchParams.get("client_id")).toBe("idp-console");
    const page = await new ConsolePage(server, operator, browser).signInThrough(await browser.follow(start.location as string, server.issuer));
    expect(new URL(page.url).pathname).toBe("/admin/apps");
    expect(page.headers.get("cache-control")).toBe("no-store");
    expect(page.text).toContain('<a href="/session/end">Sign out</a>');
    expect((await browser.get(url("/session/end"))).status).toBe(200);
    expect(page.headers.get("content-security-policy")).toMatch(/script-src 'nonce-/);
    // The built-in client is no stored app: not listed, not editable, not deletable.
    expect(page.text).not.toContain("idp-console");
    expect((await browser.get(url("/admin/apps/idp-console"))).status).toBe(404);
    // A notice is one of the console's own texts, chosen by key: a name every JavaScript object has shows none.
    for (const notice of ["constructor", "toString", "__proto__"]) {
      expect((await browser.get(url(`/admin/apps?notice=${notice}`))).text, notice).not.toContain('role="status"');
    }

    // The operator's account page lists no built-in client among the connected apps.
    const account = await new ConsolePage(server, operator, browser).open("/account");
    expect(account.status).toBe(200);
    expect(account.text.slice(account.text.indexOf('id="apps"'))).not.toContain("Operators");

    const api = await fetch(url("/admin/api/clients"));
    expect(api.status).toBe(401);
    expect(await api.json()).toMatchObject({ error: "invalid_token" });
  });

  it("sends a password-only operator to set up a passkey inside the sign-in, before the console; someone who is no operator gets 403 without being asked to", async () => {
    const passwordOnly = await seedPerson(server, email("password-operator"), { role: "operator", passkey: false });
    const page = await new ConsolePage(server, passwordOnly).page();
    expect(new URL(page.url).pathname).toMatch(/^\/interaction\//);
    expect(page.text).toContain('data-passkey-action="enrol"');
    expect(await server.database.prisma.credential.count({ where: { userId: passwordOnly.id } })).toBe(0);

    const user = await seedPerson(server, email("password-user"), { passkey: false });
    const refused = await new ConsolePage(server, user).page();
    expect(refused.status).toBe(403);
    expect(new URL(refused.url).pathname).toBe("/admin");
  });

  it("answers a signed-in non-operator 403 on every route, GET or POST, and changes nothing", async () => {
    const user = await seedPerson(server, email("not-operator"));
    const visitor = new ConsolePage(server, user);
    const first = await visitor.page();
    expect(first.status).toBe(403);
    expect(first.text).toContain("The console is for operators. Your account is not one.");
    const { app, person, group, routes } = await changeRoutes();
    const gets = ["/admin", "/admin/apps", "/admin/apps/new", `/admin/apps/${app}`, `/admin/apps/${app}/delete`, "/admin/people", `/admin/people/${person}`];
    const more = [
      `/admin/people/${person}/delete`,
      "/admin/groups",
      `/admin/groups/${group}`,
      `/admin/groups/${group}/delete`,
      "/admin/audit",
      "/admin/events",
    ];
    for (const path of [...gets, ...more]) {
      expect((await visitor.browser.get(url(path))).status, path).toBe(403);
    }
    // A valid CSRF token of this browser (from its account page): only the role refuses.
    const token = csrfTokenOf((await new ConsolePage(server, user, visitor.browser).open("/account")).text);
    const before = await auditCount();
    for (const path of routes) {
      const refused = await visitor.browser.postForm(url(path), { _csrf: token, ...APP_FORM, email: email("invited"), role: "operator" });
      expect(refused.status, path).toBe(403);
    }
    expect(await auditCount()).toBe(before);
    expect((await server.services.userQueries.findUserById(user.id))?.role).toBe("user");
  });

  it("refuses every change without the CSRF token, with a wrong one, or from another origin (403), changing nothing", async () => {
    const { routes } = await changeRoutes();
    const token = csrfTokenOf((await console_.browser.get(url("/admin/people"))).text);
    const before = await auditCount();
    for (const path of routes) {
      const fields = { ...APP_FORM, email: email("csrf"), role: "operator" };
      const missing = await console_.browser.postForm(url(path), fields);
      expect(missing.status, path).toBe(403);
      expect(missing.text).toContain("This form has expired");
      expect((await console_.browser.postForm(url(path), { ...fields, _csrf: "forged" })).status, path).toBe(403);
      const foreign = await console_.browser.postForm(url(path), { ...fields, _csrf: token }, { origin: "https://evil.example" });
      expect(foreign.status, path).toBe(403);
      expect(foreign.text).toContain("came from another site");
      expect((await console_.browser.postForm(url(path), { ...fields, _csrf: token }, { "sec-fetch-site": "cross-site" })).status, path).toBe(403);
    }
    expect(await auditCount()).toBe(before);
  });

  it("answers hostile input on every form with a 4xx page, never a 500, and changes nothing", async () => {
    const { routes } = await changeRoutes();
    const token = csrfTokenOf((await console_.browser.get(url("/admin/people"))).text);
    const before = { audit: await auditCount(), clients: await server.database.prisma.client.count(), users: await server.database.prisma.user.count() };
    const form = new URLSearchParams({ ...APP_FORM, email: email("hostile"), role: "operator", _csrf: token }).toString();
    const hostile: [string, string][] = [
      ["NUL", `${form}&name=a%00b&email=a%00b%40example.com&role=op%00`],
      [
        "CRLF",
        form
          .replace("name=Shop", "name=Sh%0D%0Aop")
          .replace(/email=[^&]+/, "email=a%0D%0Ab%40example.com")
          .replace("role=operator", "role=oper%0D%0Aator"),
      ],
      ["arrays", `${form}&name=Other&email=b%40example.com&role=user&redirect_uris=x`],
      [
        "nested",
        form
          .replace("name=Shop", "name[a]=Shop")
          .replace(/email=/, "email[x]=")
          .replace("role=", "role[0]="),
      ],
      [
        "long",
        form
          .replace("name=Shop", `name=${"n".repeat(10_000)}`)
          .replace(/email=[^&]+/, `email=${"e".repeat(10_000)}`)
          .replace("role=operator", `role=${"r".repeat(10_000)}`),
      ],
      ["100 KB", `${form}&name=${"x".repeat(100_000)}`],
    ];
    // The forms with fields of their own; the others (rotate, delete, disable …) read only the token.
    const forms = routes.filter((path) => !/\/(secret|delete|disable|enable|sign-out|recovery|remove)$/.test(path));
    expect(forms).toEqual([
      "/admin/groups",
      expect.stringMatching(/\/rename$/),
      expect.stringMatching(/\/members$/),
      "/admin/apps",
      expect.stringMatching(/^\/admin\/apps\/[^/]+$/),
      "/admin/people/invite",
      expect.stringMatching(/\/role$/),
    ]);
    // A checkbox given twice on the app forms, whose other fields are all valid: refused, not read as unticked.
    for (const path of forms.filter((path) => path.startsWith("/admin/apps"))) {
      const answer = await console_.browser.request(url(path), {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: `${new URLSearchParams({ ...APP_FORM, _csrf: token }).toString()}&first_party=on&first_party=on`,
      });
      expect(answer.status, path).toBe(400);
      expect(answer.text).toContain("First party must be given once, as text.");
    }
    for (const path of forms) {
      for (const [what, body] of hostile) {
        const answer = await console_.browser.request(url(path), { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body });
        expect(answer.status, `${what} → ${path}`).toBeGreaterThanOrEqual(400);
        expect(answer.status, `${what} → ${path}`).toBeLessThan(500);
        expect(answer.headers.get("content-type"), `${what} → ${path}`).toContain("text/html");
      }
    }
    // A token given twice is no token (403), on every route, the field-less ones included.
    for (const path of routes) {
      const twice = await console_.browser.request(url(path), {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: `_csrf=${token}&_csrf=${token}`,
      });
      expect(twice.status, path).toBe(403);
    }
    expect(await auditCount()).toBe(before.audit);
    expect(await server.database.prisma.client.count()).toBe(before.clients);
    expect(await server.database.prisma.user.count()).toBe(before.users);
  });

  it("creates an app showing its secret once, shows the canonical form of a bad redirect URI, edits every flag, rotates and deletes it, all audited as the operator", async () => {
    const bad = await console_.postWithToken("/admin/apps", { ...APP_FORM, redirect_uris: "HTTPS://Shop.Example.com/a/../cb" });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain(
      "Redirect URI &quot;HTTPS://Shop.Example.com/a/../cb&quot; is not in canonical form; register it exactly as &quot;https://shop.example.com/cb&quot;.",
    );
    expect(bad.text).toMatch(/<p id="canonical">Register it as <code>https:\/\/shop.example.com\/cb<\/code>/);
    // What was typed stays in the form.
    expect(bad.text).toContain("HTTPS://Shop.Example.com/a/../cb</textarea>");
    const fragment = await console_.postWithToken("/admin/apps", { ...APP_FORM, redirect_uris: "https://shop.example.com/cb#x" });
    expect(fragment.text).toContain("must not contain a fragment (#)");

    const created = await console_.postWithToken("/admin/apps", APP_FORM);
    expect(created.status).toBe(200);
    const clientId = created.text.match(/id="client-id">([^<]+)</)?.[1] as string;
    const secret = created.text.match(/id="client-secret">([^<]+)</)?.[1] as string;
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(created.text).toContain("Store the secret now: it is shown only once.");
    const shown = await console_.browser.get(url(`/admin/apps/${clientId}`));
    expect(shown.status).toBe(200);
    expect(shown.text).not.toContain(secret);
    const audit = await server.services.audit.query({ targetId: clientId, limit: 10 });
    expect(audit).toMatchObject([{ action: "client.created", actor: `operator:${operator.id}` }]);
    expect(JSON.stringify(audit)).not.toContain(secret);

    const saved = await console_.postWithToken(`/admin/apps/${clientId}`, {
      ...APP_FORM,
      name: "Shop 2",
      redirect_uris: "https://shop.example.com/cb\nhttp://localhost:8080/cb",
      post_logout_redirect_uris: "https://shop.example.com/bye",
      first_party: "on",
      minimum_acr: "mfa",
      backchannel_logout_uri: "http://localhost:8080/logout",
      scopes: "openid email",
      access_token_ttl: "600",
      refresh_token_ttl: "3600",
      access_token_format: "jwt",
      id_token_alg: "RS256",
      client_uri: "https://shop.example.com/",
      policy_uri: "https://shop.example.com/privacy",
    });
    expect(saved.status).toBe(303);
    expect(await server.services.clients.show(clientId)).toMatchObject({
      client_name: "Shop 2",
      redirect_uris: ["https://shop.example.com/cb", "http://localhost:8080/cb"],
      post_logout_redirect_uris: ["https://shop.example.com/bye"],
      first_party: true,
      minimum_acr: "urn:idp:acr:mfa",
      backchannel_logout_uri: "http://localhost:8080/logout",
      scopes: ["openid", "email"],
      access_token_ttl: 600,
      refresh_token_ttl: 3600,
      access_token_format: "jwt",
      id_token_alg: "RS256",
      client_uri: "https://shop.example.com/",
      policy_uri: "https://shop.example.com/privacy",
      tos_uri: null,
    });
    const edited = await console_.browser.get(saved.location as string);
    expect(edited.text).toContain("The app was saved.");
    expect(edited.text).toContain('<option value="RS256" selected>');
    const logo = await console_.postWithToken(`/admin/apps/${clientId}`, { ...APP_FORM, logo_uri: "data:image/svg+xml;base64,PHN2Zz4=" });
    expect(logo.status).toBe(400);
    expect(logo.text).toMatch(/<p class="error" role="alert">Logo [^<]+<\/p>/);
    const lifetime = await console_.postWithToken(`/admin/apps/${clientId}`, { ...APP_FORM, access_token_ttl: "5" });
    expect(lifetime.status).toBe(400);
    expect(lifetime.text).toContain("Access token lifetime must be a whole number of seconds from 60 to 86400 (got 5).");
    expect((await server.services.clients.show(clientId)).access_token_ttl).toBe(600);

    const rotated = await console_.postWithToken(`/admin/apps/${clientId}/secret`);
    const newSecret = rotated.text.match(/id="client-secret">([^<]+)</)?.[1] as string;
    expect(newSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(newSecret).not.toBe(secret);
    expect(JSON.stringify(await server.services.audit.query({ targetId: clientId, limit: 10 }))).not.toContain(newSecret);

    const confirm = await console_.browser.get(url(`/admin/apps/${clientId}/delete`));
    expect(confirm.text).toContain("Deleting <strong>Shop 2</strong>");
    expect(confirm.text).toContain(">Delete Shop 2</button>");
    const deleted = await console_.postWithToken(`/admin/apps/${clientId}/delete`);
    expect(deleted.status).toBe(303);
    expect((await console_.browser.get(deleted.location as string)).text).toContain("The app was deleted");
    expect((await console_.browser.get(url(`/admin/apps/${clientId}`))).status).toBe(404);
    const actions = (await server.services.audit.query({ targetId: clientId, limit: 10 })).map((entry) => [entry.action, entry.actor]);
    expect(actions).toEqual(
      ["client.deleted", "client.secret_rotated", "client.updated", "client.created"].map((action) => [action, `operator:${operator.id}`]),
    );
    const log = await console_.browser.get(url(`/admin/audit?target=${clientId}`));
    expect(log.text.match(/<td class="actor">[^<]+<\/td>/g)).toEqual(Array(4).fill(`<td class="actor">operator:${operator.id} (${operator.email})</td>`));
  });

  it("finds people a page at a time, shows a person, and invites, disables, enables, recovers, signs out, promotes and deletes", async () => {
    for (let n = 1; n <= 27; n += 1) await server.services.users.create({ email: `pager-${String(n).padStart(2, "0")}-${kind}@example.org`, name: "Pager" });
    const first = await console_.browser.get(url("/admin/people?q=PAGER-"));
    expect(first.text).toContain("27 people found.");
    expect(first.text.match(/pager-\d\d-/g)).toHaveLength(25);
    expect(first.text).toContain('rel="next"');
    const second = await console_.browser.get(url("/admin/people?q=pager-&page=2"));
    expect(second.text.match(/pager-\d\d-/g)).toEqual(["pager-26-", "pager-27-"]);
    for (const query of [
      "/admin/people?page=x",
      "/admin/people?q=a&q=b",
      `/admin/people?q=${"q".repeat(300)}`,
      "/admin/audit?since=yesterday",
      "/admin/events?page=0",
    ]) {
      const refused = await console_.browser.get(url(query));
      expect(refused.status, query).toBe(400);
      expect(refused.headers.get("content-type")).toContain("text/html");
    }
    const audit = await console_.browser.get(url(`/admin/audit?actor=operator:${operator.id}&action=user.`));
    expect(audit.status).toBe(200);

    const person = await seedPerson(server, email("person"));
    // A session of the person's own (their account page, with their passkey).
    expect((await new ConsolePage(server, person).open("/account")).status).toBe(200);
    const page = await console_.browser.get(url(`/admin/people/${person.id}`));
    expect(page.text).toContain("<strong>Test key</strong>");
    expect(page.text).toMatch(/Authenticator app: no · backup codes: 0 unused/);
    expect(page.text).toMatch(/id="sessions-title">Sessions<\/h2>\s*<ul class="items">\s*<li><strong>/);
    expect(page.text).toContain("Signed in");

    expect((await console_.postWithToken("/admin/people/invite", { email: email("invitee") })).status).toBe(303);
    for (const [action, check] of [
      ["disable", (row: { disabledAt: Date | null }) => row.disabledAt !== null],
      ["enable", (row: { disabledAt: Date | null }) => row.disabledAt === null],
    ] as const) {
      expect((await console_.postWithToken(`/admin/people/${person.id}/${action}`)).status).toBe(303);
      expect(check((await server.services.userQueries.findUserById(person.id)) as { disabledAt: Date | null })).toBe(true);
    }
    expect((await console_.postWithToken(`/admin/people/${person.id}/recovery`)).status).toBe(303);
    expect((await console_.postWithToken(`/admin/people/${person.id}/sign-out`)).status).toBe(303);
    expect(await server.services.oidcPayloads.listOfAccount("Session", person.id, new Date())).toHaveLength(0);
    const promoted = await console_.postWithToken(`/admin/people/${person.id}/role`, { role: "operator" });
    expect((await console_.browser.get(promoted.location as string)).text).toContain('role <span id="person-role">operator</span>');
    expect((await console_.postWithToken(`/admin/people/${person.id}/role`, { role: "user" })).status).toBe(303);

    const confirm = await console_.browser.get(url(`/admin/people/${person.id}/delete`));
    expect(confirm.text).toContain(`Deleting <strong>${person.email}</strong>`);
    expect((await console_.postWithToken(`/admin/people/${person.id}/delete`)).status).toBe(303);
    expect(await server.services.userQueries.findUserById(person.id)).toBeNull();
    const actions = (await server.services.audit.query({ actor: `operator:${operator.id}`, limit: 20 })).map((entry) => entry.action);
    expect(actions.slice(0, 8)).toEqual([
      "user.deleted",
      "user.updated",
      "user.updated",
      "user.signed_out",
      "user.recovery_issued",
      "user.enabled",
      "user.disabled",
      "user.invited",
    ]);
  });

  it("sends a stale verification to verify again with a passkey, then back to the form; a change then works", async () => {
    const app = await server.services.clients.create({ name: "Stale", redirectUris: ["https://stale.example.com/cb"] });
    const form = await console_.browser.get(url(`/admin/apps/${app.client_id}`));
    moveClock(server.config.account.reverifySeconds + 5);
    const stale = await console_.post(form, `/admin/apps/${app.client_id}/secret`);
    expect(stale.status).toBe(303);
    const authorize = new URL(stale.location as string);
    expect(authorize.searchParams.get("client_id")).toBe("idp-console-passkey");
    expect(authorize.searchParams.get("max_age")).toBe(String(server.config.account.reverifySeconds));
    expect(authorize.searchParams.get("acr_values")).toBe("urn:idp:acr:passkey");
    expect((await server.services.audit.query({ targetId: app.client_id, limit: 5 })).length).toBe(0);
    const back = await console_.signInThrough(await console_.browser.follow(stale.location as string, server.issuer));
    expect(new URL(back.url).pathname).toBe(`/admin/apps/${app.client_id}`);
    expect((await console_.post(back, `/admin/apps/${app.client_id}/secret`)).text).toContain('id="client-secret"');
  });

  it("takes the console away at the next request from an operator who is demoted or disabled", async () => {
    const other = await seedPerson(server, email("other-operator"), { role: "operator" });
    const page = new ConsolePage(server, other);
    const people = await page.page("/admin/people");
    expect(people.status).toBe(200);
    const admin = server.services.administration({ actor: "test", ip: null });
    await admin.users.update(other.id, { role: "user" });
    expect((await page.browser.get(url("/admin/people"))).status).toBe(403);
    expect((await page.post(people, "/admin/people/invite", { email: email("x") })).status).toBe(403);
    await admin.users.update(other.id, { role: "operator" });
    expect((await page.browser.get(url("/admin/people"))).status).toBe(200);
    await admin.users.disable(other.id);
    const gone = await page.browser.get(url("/admin/people"));
    expect(gone.status).toBe(303);
    expect(new URL(gone.location as string).pathname).toBe("/auth");
  });

  it("counts people, apps, the last day's sign-ins by method and outcome, passkey adoption and refused refresh-token reuse", async () => {
    const rp = await registerRelyingParty(server);
    const user = await createUser(server, email("reuser"));
    const { tokens } = await signInAndRedeem(server, rp, new BrowserSession(), (await server.services.userQueries.findUserById(user))?.email);
    await oidc.refreshTokenGrant(rp.config, tokens.refresh_token as string);
    await expect(oidc.refreshTokenGrant(rp.config, tokens.refresh_token as string)).rejects.toMatchObject({ error: "invalid_grant" });
    await server.services.tasks.drain();
    const page = await console_.browser.get(url("/admin"));
    const cell = (id: string) => page.text.match(new RegExp(`id="${id}">([^<]+)<`))?.[1];
    const prisma = server.database.prisma;
    expect(cell("count-users")).toBe(String(await prisma.user.count()));
    expect(cell("count-apps")).toBe(String(await prisma.client.count()));
    const active = await prisma.user.count({ where: { disabledAt: null } });
    const withPasskey = await prisma.user.count({ where: { disabledAt: null, credentials: { some: {} } } });
    expect(cell("share-passkey-users")).toBe(`${Math.round((withPasskey / active) * 100)} %`);
    expect(cell("refresh-reuse")).toBe(
      String(await prisma.securityEvent.count({ where: { type: "token.reuse_detected", details: { path: ["kind"], equals: "RefreshToken" } } })),
    );
    expect(Number(cell("refresh-reuse"))).toBeGreaterThanOrEqual(1);
    const rows = [...page.text.matchAll(/<tr><td>([^<]+)<\/td><td>(\d+)<\/td><td>(\d+)<\/td><\/tr>/g)].map((m) => [m[1], Number(m[2]), Number(m[3])]);
    const passkeySignIns = await prisma.securityEvent.count({ where: { type: "sign_in", outcome: "success", details: { path: ["amr"], equals: "hwk user" } } });
    expect(rows).toContainEqual(["Passkey", passkeySignIns, 0]);
    expect(rows.find((row) => row[0] === "Password")?.[1]).toBeGreaterThanOrEqual(1);
  });

  it("keeps one enabled operator however many removals race: 50 parallel admin API demotions, and two operators demoting each other in the console", async () => {
    const admin = server.services.administration({ actor: "test", ip: null });
    const api = await adminApi(server);
    const operators = [];
    for (let n = 0; n < 50; n += 1)
      operators.push(await admin.users.update((await server.services.users.create({ email: email("racer") })).id, { role: "operator" }));
    const everyone = (await server.services.users.list()).filter((user) => user.role === "operator" && !user.disabled);
    const answers = await Promise.all(
      everyone.map((user, n) => (n % 2 === 0 ? api("PATCH", `/users/${user.id}`, { role: "user" }) : api("POST", `/users/${user.id}/disable`))),
    );
    expect(answers.filter((answer) => answer.status === 409)).toHaveLength(1);
    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(everyone.length - 1);
    const left = (await server.services.users.list()).filter((user) => user.role === "operator" && !user.disabled);
    expect(left).toHaveLength(1);

    // Two operators only, each removing the other 25 times at once through the console.
    const a = await seedPerson(server, email("duel-a"), { role: "operator" });
    const b = await seedPerson(server, email("duel-b"), { role: "operator" });
    await admin.users.update(left[0]?.id as string, { role: "user" });
    const pageA = new ConsolePage(server, a);
    const pageB = new ConsolePage(server, b);
    const tokenA = csrfTokenOf((await pageA.page("/admin/people")).text);
    const tokenB = csrfTokenOf((await pageB.page("/admin/people")).text);
    const duel = await Promise.all(
      Array.from({ length: 50 }, (_, n) =>
        n % 2 === 0
          ? pageA.browser.postForm(url(`/admin/people/${b.id}/role`), { _csrf: tokenA, role: "user" })
          : pageB.browser.postForm(url(`/admin/people/${a.id}/role`), { _csrf: tokenB, role: "user" }),
      ),
    );
    expect(
      duel.filter((answer: PageResponse) => ![303, 403, 409].includes(answer.status)).map((answer) => `${answer.status} ${answer.text.slice(0, 300)}`),
    ).toEqual([]);
    const remaining = (await server.services.users.list()).filter((user) => user.role === "operator" && !user.disabled).map((user) => user.id);
    expect(remaining).toHaveLength(1);
    expect([a.id, b.id]).toContain(remaining[0]);
    // The one left cannot demote, disable or delete themselves either: the person's page says why.
    const [last, lastPage, lastToken] = remaining[0] === a.id ? [a, pageA, tokenA] : [b, pageB, tokenB];
    for (const action of ["role", "disable", "delete"]) {
      const refused = await lastPage.browser.postForm(url(`/admin/people/${last.id}/${action}`), { _csrf: lastToken, role: "user" });
      expect(refused.status, action).toBe(409);
      expect(refused.text).toContain(`${last.email} is the last operator: make someone else an operator first, or the console would have no one left.`);
    }
    expect(await server.services.userQueries.findUserById(last.id)).toMatchObject({ role: "operator", disabledAt: null });
    // Give the console back its usual operator for any test after this one.
    await admin.users.update(operator.id, { role: "operator" });
  });

  it("creates, renames and deletes a group, adds and removes a member, and restricts an app to it, all audited as the operator", async () => {
    const member = await seedPerson(server, email("member"));
    const created = await console_.postWithToken("/admin/groups", { name: `Staff-${kind}` });
    expect(created.status).toBe(303);
    const group = await server.services.groups.show(`staff-${kind}`);
    expect((await console_.postWithToken("/admin/groups", { name: `staff-${kind}` })).text).toContain("A group with that name exists already.");
    expect((await console_.postWithToken(`/admin/groups/${group.id}/rename`, { name: `team-${kind}` })).status).toBe(303);
    expect((await console_.postWithToken(`/admin/groups/${group.id}/members`, { email: member.email })).status).toBe(303);
    const person = await console_.browser.get(url(`/admin/people/${member.id}`));
    expect(person.text).toContain(`>team-${kind}</a>`);

    const app = await server.services.clients.create({ name: "Restricted", redirectUris: ["https://restricted.example.com/cb"] });
    const restricted = await console_.postWithToken(`/admin/apps/${app.client_id}`, { ...APP_FORM, name: "Restricted", allowed_groups: `team-${kind}` });
    expect(restricted.status).toBe(303);
    expect((await server.services.clients.show(app.client_id)).allowed_groups).toEqual([`team-${kind}`]);
    const unknown = await console_.postWithToken(`/admin/apps/${app.client_id}`, { ...APP_FORM, allowed_groups: "nobody-here" });
    expect(unknown.status).toBe(400);
    expect(unknown.text).toContain("Allowed groups: no group named &quot;nobody-here&quot;");
    const page = await console_.browser.get(url(`/admin/groups/${group.id}`));
    expect(page.text).toContain(`<a href="/admin/apps/${app.client_id}">Restricted</a>`);
    expect(page.text).toContain(member.email);

    const inUse = await console_.postWithToken(`/admin/groups/${group.id}/delete`);
    expect(inUse.status).toBe(409);
    expect(inUse.text).toContain("This group restricts apps");
    await console_.postWithToken(`/admin/apps/${app.client_id}`, { ...APP_FORM, name: "Restricted", allowed_groups: "" });
    expect((await server.services.clients.show(app.client_id)).allowed_groups).toEqual([]);
    expect((await console_.postWithToken(`/admin/groups/${group.id}/members/${member.id}/remove`)).status).toBe(303);
    expect((await console_.browser.get(url(`/admin/groups/${group.id}/delete`))).text).toContain(`Delete the group team-${kind}</button>`);
    expect((await console_.postWithToken(`/admin/groups/${group.id}/delete`)).status).toBe(303);
    const actions = (await server.services.audit.query({ targetId: group.id, limit: 10 })).map((entry) => [entry.action, entry.actor]);
    expect(actions).toEqual(
      ["group.deleted", "group.member_removed", "group.member_added", "group.renamed", "group.created"].map((action) => [action, `operator:${operator.id}`]),
    );
  });
});
