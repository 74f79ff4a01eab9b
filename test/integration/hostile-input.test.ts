import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AccountPage } from "../helpers/account-page.js";
import { BrowserSession, csrfTokenOf } from "../helpers/browser-session.js";
import { authorizationRequest, createUser, type RelyingParty, RP_CALLBACK, registerRelyingParty } from "../helpers/relying-party.js";
import { DATABASE_KINDS } from "../helpers/test-database.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { tokenRequest } from "../helpers/token-requests.js";

// The fixed corpus. Form and query values are written percent-encoded as sent: URLSearchParams
// would turn an unpaired surrogate into U+FFFD, and these must arrive as the attacker wrote them.
const HUGE = "x".repeat(100_000);
const ENCODED_VALUES: Record<string, (field: string) => string> = {
  nul: (f) => `${f}=a%00b`,
  crlf: (f) => `${f}=a%0D%0ASet-Cookie%3A%20planted%3D1`,
  huge: (f) => `${f}=${HUGE}`,
  surrogate: (f) => `${f}=%ED%A0%80`,
  invalidUtf8: (f) => `${f}=%FF%FEa`,
  bracketArray: (f) => `${f}[]=a&${f}[]=b`,
  duplicate: (f) => `${f}=a&${f}=b`,
  bracketObject: (f) => `${f}[x]=1`,
  empty: (f) => `${f}=`,
};
const JSON_VALUES: Record<string, unknown> = {
  nul: "a\u0000b",
  surrogate: "\ud800",
  crlf: "a\r\nSet-Cookie: planted=1",
  huge: HUGE,
  array: ["a", "b"],
  object: { a: { b: 1 } },
  number: 1e308,
  negative: -1,
  null: null,
  boolean: true,
};
const DEEP_JSON = `${"[".repeat(10_000)}${"]".repeat(10_000)}`;
/** Whole bodies that are hostile however their fields are named. */
const RAW_JSON_BODIES: Record<string, string | Uint8Array> = {
  deep: DEEP_JSON,
  deepObject: `${'{"a":'.repeat(5_000)}1${"}".repeat(5_000)}`,
  topLevelArray: '["a"]',
  topLevelString: '"a"',
  truncated: '{"a":',
  invalidUtf8: Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
  nulEscapeInKey: '{"a\\u0000":"b"}',
};
const RAW_FORM_BODIES = (fields: string[]): Record<string, Uint8Array> => ({
  invalidUtf8: Buffer.concat([Buffer.from(`${fields[0]}=`), Buffer.from([0xff, 0xfe, 0xc0, 0x80])]),
  rawNul: Buffer.concat([Buffer.from(`${fields[0]}=a`), Buffer.from([0x00]), Buffer.from("b")]),
});
/** Path segments: where a route takes an id. */
const PATH_VALUES = ["%00", "%FF", "%ED%A0%80", "a%0D%0Ab", "..%2F..%2Fetc", "x".repeat(2_000)];

interface Probe {
  label: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  browser?: BrowserSession;
}

interface Answer {
  probe: Probe;
  status: number;
  location: string | null;
  contentType: string;
  text: string;
}

// A stack trace: "    at fn (/path/file.ts:12:34)" or a source path of ours.
const STACK_TRACE = /\n\s+at .+:\d+:\d+|node_modules\/|\/src\/[\w/.-]+\.ts/;

/** Query-string probes: each corpus value in each field, on top of `base` (a valid request's parameters). */
function queryProbes(label: string, method: string, path: string, fields: string[], base = "", browser?: BrowserSession): Probe[] {
  return fields.flatMap((field) =>
    Object.entries(ENCODED_VALUES).map(([name, encode]) => ({
      label: `${label} ${field}=${name}`,
      method,
      path: `${path}?${[base, encode(field)].filter(Boolean).join("&")}`,
      browser,
    })),
  );
}

/** Form-body probes: each corpus value in each field (plus `base`, e.g. the CSRF token), and raw byte bodies. */
function formProbes(label: string, path: string, fields: string[], base = "", extra: Partial<Probe> = {}): Probe[] {
  const headers = { "content-type": "application/x-www-form-urlencoded", ...extra.headers };
  const encoded = fields.flatMap((field) =>
    Object.entries(ENCODED_VALUES).map(([name, encode]) => ({
      label: `${label} ${field}=${name}`,
      method: "POST",
      path,
      ...extra,
      headers,
      body: [base, encode(field)].filter(Boolean).join("&"),
    })),
  );
  const raw = Object.entries(RAW_FORM_BODIES(fields)).map(([name, body]) => ({
    label: `${label} ${name} body`,
    method: "POST",
    path,
    ...extra,
    headers,
    body: base ? Buffer.concat([Buffer.from(`${base}&`), body]) : body,
  }));
  return [...encoded, ...raw];
}

/** JSON-body probes: each corpus value in each field, wrong types, and whole hostile bodies. */
function jsonProbes(label: string, method: string, path: string, fields: string[], extra: Partial<Probe> = {}): Probe[] {
  const headers = { "content-type": "application/json", accept: "application/json", ...extra.headers };
  const perField = fields.flatMap((field) =>
    Object.entries(JSON_VALUES).map(([name, value]) => ({
      label: `${label} ${field}=${name}`,
      method,
      path,
      ...extra,
      headers,
      body: JSON.stringify({ [field]: value }),
    })),
  );
  const whole = Object.entries(RAW_JSON_BODIES).map(([name, body]) => ({ label: `${label} ${name}`, method, path, ...extra, headers, body }));
  return [...perField, ...whole];
}

/** Probes with each hostile path segment in place of `:id`. */
function pathProbes(label: string, method: string, template: string, extra: Partial<Probe> = {}): Probe[] {
  return PATH_VALUES.map((value) => ({ label: `${label} id=${value.slice(0, 12)}`, method, path: template.replace(":id", value), ...extra }));
}

// SECURITY-TESTS.md §34 and §25 (issue #11 item 6): a fixed corpus of hostile input on every route
// of the interaction, the account page, the admin API and the protocol endpoints.
describe.each(DATABASE_KINDS)("hostile input on every route (%s)", (kind) => {
  const logLines: string[] = [];
  let server: TestServer;
  let rp: RelyingParty;
  let adminToken: string;
  let targetClientId: string;
  let targetUserId: string;

  beforeAll(async () => {
    server = await startTestServer(kind, { throttle: { adminRequestsPerMinute: 100_000 } }, { logLines, env: { CUSTOM_SCOPES: "fuzz=fuzz_claim" } });
    rp = await registerRelyingParty(server, { firstParty: true });
    const admin = await server.services.clients.create({ name: "Operations", redirectUris: [], clientCredentials: true, scopes: ["admin"] });
    const issued = await tokenRequest(
      server.issuer,
      { grant_type: "client_credentials", scope: "admin" },
      { clientId: admin.client_id, clientSecret: admin.client_secret },
    );
    adminToken = issued.body.access_token as string;
    targetClientId = (await server.services.clients.create({ name: "Fuzz target", redirectUris: ["https://app.example.com/cb"] })).client_id;
    targetUserId = (await server.services.users.create({ email: "fuzz-target@example.com" })).id;
    await server.services.groups.create("fuzz-group");
  });
  afterAll(() => server?.stop());

  async function send(probe: Probe): Promise<Answer> {
    const url = `${server.issuer}${probe.path}`;
    const init: RequestInit = { method: probe.method, headers: probe.headers ?? {} };
    if (probe.body !== undefined) init.body = typeof probe.body === "string" ? probe.body : new Uint8Array(probe.body);
    if (probe.browser) {
      const page = await probe.browser.request(url, init);
      return { probe, status: page.status, location: page.location, contentType: page.headers.get("content-type") ?? "", text: page.text };
    }
    const response = await fetch(url, { ...init, redirect: "manual" });
    return {
      probe,
      status: response.status,
      location: response.headers.get("location"),
      contentType: response.headers.get("content-type") ?? "",
      text: await response.text(),
    };
  }

  /** Sends the probes in concurrent batches; every answer must be below 500 and free of stack traces. */
  async function sendAll(probes: Probe[], batchSize = 12): Promise<Answer[]> {
    const answers: Answer[] = [];
    for (let start = 0; start < probes.length; start += batchSize) {
      answers.push(...(await Promise.all(probes.slice(start, start + batchSize).map(send))));
    }
    const failures = answers.filter((answer) => answer.status >= 500 || STACK_TRACE.test(answer.text));
    expect(failures.map(({ probe, status, text }) => `${probe.method} ${probe.label} → ${status} ${text.slice(0, 160)}`)).toEqual([]);
    return answers;
  }

  const refusedAtEdge = (answers: Answer[], names: string[]) =>
    answers.filter((answer) => names.some((name) => answer.probe.label.endsWith(`=${name}`) || answer.probe.label.endsWith(` ${name} body`)));

  it("answers every corpus value on the interaction's routes with 4xx, never 5xx (§34)", async () => {
    const browser = new BrowserSession();
    const page = await browser.follow((await authorizationRequest(rp)).url.toString(), server.issuer);
    const uid = new URL(page.url).pathname.split("/")[2] as string;
    const csrf = `_csrf=${encodeURIComponent(csrfTokenOf(page.text))}`;
    const base = `/interaction/${uid}`;
    const json = { browser, headers: { "x-csrf-token": csrfTokenOf(page.text) } };
    const forms: [string, string[]][] = [
      ["/login", ["email", "password", "remember"]],
      ["/signup", ["email", "name"]],
      ["/recover", ["email"]],
      ["/mfa", ["code"]],
      ["/consent", ["scope"]],
      ["/enrol/totp", ["x"]],
      ["/enrol/totp/confirm", ["code"]],
      ["/enrol/continue", ["x"]],
      ["/passkey/skip", ["x"]],
    ];
    const jsonRoutes = ["authenticate", "register", "enrol", "reverify", "second-factor"].flatMap((ceremony) => [
      `/passkey/${ceremony}/options`,
      `/passkey/${ceremony}/verify`,
    ]);
    const probes = [
      ...queryProbes("interaction page", "GET", base, ["x"], "", browser),
      ...queryProbes("sign-up page", "GET", `${base}/signup`, ["email"], "", browser),
      ...queryProbes("sign-up continue", "GET", `${base}/signup/continue`, ["token"], "", browser),
      ...queryProbes("recover page", "GET", `${base}/recover`, ["email"], "", browser),
      ...forms.flatMap(([path, fields]) => formProbes(`POST ${path}`, `${base}${path}`, fields, csrf, { browser })),
      ...jsonRoutes.flatMap((path) => jsonProbes(`POST ${path}`, "POST", `${base}${path}`, ["id", "response", "rawId"], json)),
      ...pathProbes("interaction uid", "GET", "/interaction/:id", { browser }),
      ...pathProbes("interaction uid login", "POST", "/interaction/:id/login", { browser }),
      ...queryProbes("sign-up link", "GET", "/signup/verify", ["token"]),
      ...queryProbes("recovery link", "GET", "/recover/verify", ["token"]),
    ];
    const answers = await sendAll(probes);
    // Refused at the edge with a 400 page, whichever route it was.
    for (const answer of refusedAtEdge(answers, ["nul", "surrogate", "invalidUtf8", "rawNul"])) expect(answer.status, answer.probe.label).toBe(400);
    // Last: aborting ends the interaction, which the others need.
    await sendAll(formProbes("POST /abort", `${base}/abort`, ["x"], csrf, { browser }));
  });

  it("answers every corpus value on the signed-in account page's routes with 4xx, never 5xx (§34)", async () => {
    const email = `fuzz-${kind}@example.com`;
    await createUser(server, email);
    const account = new AccountPage(server, email);
    const page = await account.open();
    const { browser } = account;
    const csrf = `_csrf=${encodeURIComponent(csrfTokenOf(page.text))}`;
    const json = { browser, headers: { "x-csrf-token": csrfTokenOf(page.text) } };
    const forms: [string, string[]][] = [
      ["/account/email", ["email"]],
      ["/account/email/cancel", ["x"]],
      ["/account/email/confirm", ["token"]],
      ["/account/passkeys/add", ["x"]],
      ["/account/security/totp", ["x"]],
      ["/account/security/totp/confirm", ["code"]],
      ["/account/security/totp/remove", ["confirm"]],
      ["/account/security/backup-codes", ["x"]],
      ["/account/sessions/sign-out-others", ["x"]],
      ["/account/passkeys/AAAA/rename", ["name"]],
      ["/account/passkeys/AAAA/remove", ["confirm"]],
    ];
    const probes = [
      ...queryProbes("account", "GET", "/account", ["x"], "", browser),
      ...queryProbes("account security", "GET", "/account/security", ["x"], "", browser),
      ...queryProbes("account sign-in", "GET", "/account/signin", ["return"], "", browser),
      ...queryProbes("account callback", "GET", "/account/callback", ["code", "state", "error"], "", browser),
      ...queryProbes("email confirm page", "GET", "/account/email/confirm", ["token"], "", browser),
      ...forms.flatMap(([path, fields]) => formProbes(`POST ${path}`, path, fields, csrf, { browser })),
      ...jsonProbes("POST /account/passkey/register/options", "POST", "/account/passkey/register/options", ["x"], json),
      ...jsonProbes("POST /account/passkey/register/verify", "POST", "/account/passkey/register/verify", ["id", "response"], json),
      ...pathProbes("passkey rename", "POST", "/account/passkeys/:id/rename", {
        browser,
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: csrf,
      }),
      ...pathProbes("session sign-out", "POST", "/account/sessions/:id/sign-out", {
        browser,
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: csrf,
      }),
      ...pathProbes("app revoke", "POST", "/account/apps/:id/revoke", {
        browser,
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: csrf,
      }),
    ];
    const answers = await sendAll(probes);
    for (const answer of refusedAtEdge(answers, ["nul", "surrogate", "invalidUtf8", "rawNul"])) expect(answer.status, answer.probe.label).toBe(400);
    // Still signed in: nothing in the corpus broke the session.
    expect((await browser.get(`${server.issuer}/account`)).status).toBe(200);
  });

  it("answers every corpus value on the admin API with JSON 4xx, never 5xx or HTML (§34)", async () => {
    const withAuth = (probe: Probe): Probe => ({ ...probe, headers: { ...probe.headers, authorization: `Bearer ${adminToken}` } });
    const clientFields = [
      "client_name",
      "redirect_uris",
      "post_logout_redirect_uris",
      "public",
      "scopes",
      "minimum_acr",
      "backchannel_logout_uri",
      "access_token_ttl",
      "id_token_alg",
      "allowed_groups",
      "client_uri",
      "logo_uri",
      "policy_uri",
      "tos_uri",
    ];
    const probes = [
      ...queryProbes("clients", "GET", "/admin/api/clients", ["x"]),
      ...queryProbes("users", "GET", "/admin/api/users", ["x"]),
      ...queryProbes("audit", "GET", "/admin/api/audit", ["actor", "action", "target", "since", "limit"]),
      ...jsonProbes("create client", "POST", "/admin/api/clients", clientFields),
      ...jsonProbes("update client", "PATCH", `/admin/api/clients/${targetClientId}`, clientFields),
      ...jsonProbes("invite", "POST", "/admin/api/users/invitations", ["email"]),
      ...formProbes("create client as a form", "/admin/api/clients", ["client_name"]),
      ...pathProbes("show client", "GET", "/admin/api/clients/:id"),
      ...pathProbes("rotate secret", "POST", "/admin/api/clients/:id/secret"),
      ...pathProbes("delete client", "DELETE", "/admin/api/clients/:id"),
      ...pathProbes("show user", "GET", "/admin/api/users/:id"),
      ...pathProbes("disable user", "POST", "/admin/api/users/:id/disable"),
      ...pathProbes("delete user", "DELETE", "/admin/api/users/:id"),
      ...jsonProbes("update user", "PATCH", `/admin/api/users/${targetUserId}`, ["name", "username", "role"]),
      ...jsonProbes("create group", "POST", "/admin/api/groups", ["name"]),
      ...jsonProbes("rename group", "PATCH", "/admin/api/groups/fuzz-group", ["name"]),
      ...jsonProbes("set a person's claim", "PUT", `/admin/api/users/${targetUserId}/claims/fuzz_claim`, ["value"]),
      ...jsonProbes("set a group's claim", "PUT", "/admin/api/groups/fuzz-group/claims/fuzz_claim", ["value"]),
      ...pathProbes("show group", "GET", "/admin/api/groups/:id"),
      ...pathProbes("delete group", "DELETE", "/admin/api/groups/:id"),
      ...pathProbes("add member", "PUT", `/admin/api/groups/fuzz-group/members/:id`),
      ...pathProbes("remove member", "DELETE", "/admin/api/groups/:id/members/fuzz-target@example.com"),
      ...pathProbes("claims of", "GET", "/admin/api/users/:id/claims"),
      ...pathProbes("set a claim named", "PUT", `/admin/api/users/${targetUserId}/claims/:id`, {
        headers: { "content-type": "application/json" },
        body: '{"value":1}',
      }),
    ].map(withAuth);
    const answers = await sendAll(probes);
    for (const answer of answers) {
      // 431: Node refuses the 100 KB query before the app sees it.
      if (answer.status < 400 || answer.status === 431) continue;
      expect(answer.contentType, answer.probe.label).toContain("application/json");
      expect(JSON.parse(answer.text), answer.probe.label).toMatchObject({ error: expect.any(String), error_description: expect.any(String) });
    }
    // The NUL client name that used to answer an HTML 500.
    const nulName = answers.find((answer) => answer.probe.label === "create client client_name=nul");
    expect(nulName?.status).toBe(400);
    expect(JSON.parse(nulName?.text ?? "{}")).toMatchObject({ error: "invalid_request" });
  });

  it("answers every corpus value on the protocol endpoints with 4xx, never 5xx; duplicate parameters are invalid_request (§25, §34)", async () => {
    const start = await authorizationRequest(rp);
    const authBase = start.url.search.slice(1);
    const authFields = [
      "state",
      "nonce",
      "login_hint",
      "redirect_uri",
      "client_id",
      "scope",
      "claims",
      "prompt",
      "max_age",
      "acr_values",
      "ui_locales",
      "id_token_hint",
      "request",
      "code_challenge",
    ];
    const basic = { authorization: `Basic ${Buffer.from(`${rp.clientId}:${rp.clientSecret}`).toString("base64")}` };
    const tokenFields = ["grant_type", "code", "code_verifier", "redirect_uri", "refresh_token", "scope", "client_id"];
    const probes = [
      ...authFields.flatMap((field) => queryProbes("GET /auth", "GET", "/auth", [field], authBase.replace(new RegExp(`(^|&)${field}=[^&]*`), ""))),
      ...formProbes("POST /auth", "/auth", ["state", "nonce", "login_hint"], authBase),
      ...formProbes("POST /token", "/token", tokenFields, "grant_type=authorization_code&code=abc&code_verifier=abc", { headers: basic }),
      ...formProbes("POST /token (public form)", "/token", ["client_id", "client_secret"], "grant_type=refresh_token&refresh_token=abc"),
      ...formProbes("POST /token/introspection", "/token/introspection", ["token", "token_type_hint"], "", { headers: basic }),
      ...formProbes("POST /token/revocation", "/token/revocation", ["token", "token_type_hint"], "", { headers: basic }),
      ...queryProbes("GET /me", "GET", "/me", ["access_token", "x"]),
      ...formProbes("POST /me", "/me", ["access_token"]),
      ...queryProbes("GET /session/end", "GET", "/session/end", ["id_token_hint", "post_logout_redirect_uri", "state", "client_id", "logout_hint"]),
      ...formProbes("POST /session/end/confirm", "/session/end/confirm", ["xsrf", "logout"]),
      ...queryProbes("discovery", "GET", "/.well-known/openid-configuration", ["x"]),
      ...queryProbes("jwks", "GET", "/jwks", ["x"]),
      ...jsonProbes("POST /token as JSON", "POST", "/token", ["grant_type"], { headers: basic }),
    ];
    const answers = await sendAll(probes);
    for (const answer of answers.filter((a) => a.probe.path.startsWith("/auth") || a.probe.label.startsWith("POST /auth"))) {
      // An authorization request that was refused never reaches the client's redirect URI with the hostile value.
      if (/=(nul|surrogate|invalidUtf8|huge)$|rawNul|invalidUtf8 body/.test(answer.probe.label)) {
        expect(answer.status, answer.probe.label).toBeGreaterThanOrEqual(400);
        expect(answer.location ?? "", answer.probe.label).not.toContain(RP_CALLBACK);
      }
    }
    for (const answer of answers.filter((a) => a.probe.path.startsWith("/token") && a.status === 400)) {
      expect(JSON.parse(answer.text), answer.probe.label).toMatchObject({ error: expect.any(String) });
    }
    // §25: a repeated parameter is an invalid_request: sent to the client once its redirect URI is
    // known good, on the error page (never a redirect) when the repeated one is the redirect URI.
    const duplicate = (field: string) => answers.find((answer) => answer.probe.label === `GET /auth ${field}=duplicate`) as Answer;
    for (const field of ["state", "nonce", "scope"]) {
      expect(new URL(duplicate(field).location as string).searchParams.get("error"), field).toBe("invalid_request");
    }
    expect(duplicate("redirect_uri")).toMatchObject({ status: 400, location: null });
    expect(duplicate("redirect_uri").text).toContain("invalid_request");
  });

  it("refuses NUL in login_hint, state or nonce with a 400 page, not a 500 or a redirect (§34)", async () => {
    for (const field of ["login_hint", "state", "nonce"]) {
      const url = (await authorizationRequest(rp, { [field]: "a\u0000b" })).url;
      const answer = await new BrowserSession().get(url.toString());
      expect(answer.status, field).toBe(400);
      expect(answer.location, field).toBeNull();
      expect(answer.text, field).toContain("NUL");
    }
  });

  it("keeps every log line one JSON object, none of them an error (§34)", () => {
    expect(logLines.length).toBeGreaterThan(100);
    const entries = logLines.map((line) => JSON.parse(line) as Record<string, unknown>);
    for (const entry of entries) expect(typeof entry === "object" && entry !== null && !Array.isArray(entry)).toBe(true);
    const errors = entries.filter((entry) => Number(entry.level) >= 50);
    expect(errors.map((entry) => `${entry.msg} ${JSON.stringify(entry.err ?? "").slice(0, 200)}`)).toEqual([]);
  });
});
