import * as oidc from "openid-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrowserSession } from "../helpers/browser-session.js";
import { createUser, type RelyingParty, RP_CALLBACK, registerRelyingParty } from "../helpers/relying-party.js";
import { DATABASE_KINDS } from "../helpers/test-database.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

const REGISTERED = "https://app.example.com/cb";

// SECURITY-TESTS.md §1–2: anything but the exact registered string is an error page, never a redirect.
const NOT_REGISTERED = [
  ["trailing slash added", "https://app.example.com/cb/"],
  ["path shortened", "https://app.example.com/c"],
  ["extra path", "https://app.example.com/cb/extra"],
  ["other port", "https://app.example.com:8443/cb"],
  ["explicit default port", "https://app.example.com:443/cb"],
  ["upper-case host", "https://APP.example.com/cb"],
  ["upper-case scheme", "HTTPS://app.example.com/cb"],
  ["http instead of https", "http://app.example.com/cb"],
  ["other host", "https://evil.example.com/cb"],
  ["suffix host", "https://app.example.com.evil.example/cb"],
  ["userinfo", "https://app.example.com@evil.example/cb"],
  ["fragment", "https://app.example.com/cb#x"],
  ["added query", "https://app.example.com/cb?next=/admin"],
  ["dot segments", "https://app.example.com/cb/../cb"],
  ["encoded dot segments", "https://app.example.com/cb/%2e%2e/cb"],
  ["double-encoded dot segments", "https://app.example.com/cb/%252e%252e/cb"],
  ["percent-encoded character", "https://app.example.com/%63b"],
  ["loopback: other port", "http://localhost:8081/callback"],
  ["loopback: other address", "http://127.0.0.1:8080/callback"],
] as const;

describe.each(DATABASE_KINDS)("authorization endpoint (%s)", (kind) => {
  let server: TestServer;
  let rp: RelyingParty;
  let challenge: string;

  beforeAll(async () => {
    server = await startTestServer(kind);
    rp = await registerRelyingParty(server, { redirectUris: [REGISTERED, RP_CALLBACK] });
    await createUser(server);
    challenge = await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier());
  });
  afterAll(() => server?.stop());

  const authorize = (params: Record<string, string | undefined>) => {
    const query = new URLSearchParams(
      Object.entries({
        client_id: rp.clientId,
        response_type: "code",
        scope: "openid",
        code_challenge: challenge,
        code_challenge_method: "S256",
        ...params,
      }).filter((entry): entry is [string, string] => entry[1] !== undefined),
    );
    return new BrowserSession().get(`${server.issuer}/auth?${query}`);
  };

  it.each(NOT_REGISTERED)("refuses a redirect_uri with %s without redirecting", async (_label, redirectUri) => {
    const response = await authorize({ redirect_uri: redirectUri });
    expect(response.status).toBe(400);
    expect(response.location).toBeNull();
    expect(response.text).toContain("redirect_uri");
    expect(response.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
  });

  it("refuses a missing redirect_uri when two are registered", async () => {
    const response = await authorize({ redirect_uri: undefined });
    expect(response.status).toBe(400);
    expect(response.location).toBeNull();
  });

  it("refuses a missing redirect_uri even with a single registered URI (OIDC requires it)", async () => {
    const single = await registerRelyingParty(server, { redirectUris: [REGISTERED] });
    const query = new URLSearchParams({
      client_id: single.clientId,
      response_type: "code",
      scope: "openid",
      code_challenge: challenge,
      code_challenge_method: "S256",
    });
    const response = await new BrowserSession().get(`${server.issuer}/auth?${query}`);
    expect(response.status).toBe(400);
    expect(response.location).toBeNull();
  });

  it("does not redirect to a bad redirect_uri even when another parameter is also invalid", async () => {
    const response = await authorize({ redirect_uri: "https://evil.example.com/cb", response_type: "token", code_challenge_method: "plain" });
    expect(response.status).toBe(400);
    expect(response.location).toBeNull();
  });

  it("refuses an unknown client on an error page", async () => {
    const response = await authorize({ client_id: "nope", redirect_uri: REGISTERED });
    expect(response.status).toBe(400);
    expect(response.location).toBeNull();
  });

  // RFC 7636 §4.4.1: a missing or unsupported PKCE transform is invalid_request (without a method
  // the transform is plain, §4.3); RFC 6749 §4.1.2.1: a response type not offered is unsupported_response_type.
  it.each([
    ["no code_challenge", { code_challenge: undefined, code_challenge_method: undefined }, "invalid_request"],
    ["plain method", { code_challenge_method: "plain" }, "invalid_request"],
    ["challenge without a method", { code_challenge_method: undefined }, "invalid_request"],
    ["implicit response_type", { response_type: "token" }, "unsupported_response_type"],
    ["hybrid response_type", { response_type: "code id_token" }, "unsupported_response_type"],
  ] as const)("refuses %s with an error redirect that carries iss (RFC 9207)", async (_label, params, error) => {
    const response = await authorize({ redirect_uri: REGISTERED, state: "s1", ...params });
    expect(response.status).toBe(303);
    const location = new URL(response.location as string);
    expect(`${location.origin}${location.pathname}`).toBe(REGISTERED);
    // Implicit and hybrid errors travel in the fragment (their default response mode).
    const result = new URLSearchParams(location.search || location.hash.slice(1));
    expect(result.get("error")).toBe(error);
    expect(result.get("iss")).toBe(server.issuer);
    expect(result.get("state")).toBe("s1");
  });

  it("refuses duplicate parameters with invalid_request", async () => {
    const query = `client_id=${rp.clientId}&response_type=code&scope=openid&scope=email&redirect_uri=${encodeURIComponent(REGISTERED)}&code_challenge=${challenge}&code_challenge_method=S256`;
    const response = await new BrowserSession().get(`${server.issuer}/auth?${query}`);
    expect(response.status).toBe(303);
    const location = new URL(response.location as string);
    expect(`${location.origin}${location.pathname}`).toBe(REGISTERED);
    expect(location.searchParams.get("error")).toBe("invalid_request");
    expect(location.searchParams.get("iss")).toBe(server.issuer);
  });

  it("answers a huge query string with 431, not a 500", async () => {
    // Node's HTTP parser counts the request line into its 16 KiB header limit.
    const response = await fetch(`${server.issuer}/auth?client_id=${rp.clientId}&junk=${"a".repeat(20_000)}`);
    expect(response.status).toBe(431);
  });

  it("accepts the authorization request as a POST", async () => {
    const response = await new BrowserSession().postForm(`${server.issuer}/auth`, {
      client_id: rp.clientId,
      response_type: "code",
      scope: "openid",
      redirect_uri: REGISTERED,
      code_challenge: challenge,
      code_challenge_method: "S256",
    });
    expect(response.status).toBe(303);
    const get = new URL(response.location as string);
    expect(get.pathname).toBe("/auth");
    const followed = await new BrowserSession().get(get.toString());
    expect(followed.status).toBe(303);
    expect(followed.location).toMatch(new RegExp(`^${server.issuer}/interaction/`));
  });
});
