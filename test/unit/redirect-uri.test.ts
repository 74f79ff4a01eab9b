import { describe, expect, it } from "vitest";
import { assertValidRedirectUri } from "../../src/clients/redirect-uri.js";

describe("assertValidRedirectUri", () => {
  it.each([
    "https://app.example.com/cb",
    "https://app.example.com:8443/auth/callback?tenant=a",
    "http://localhost:8080/cb",
    "http://127.0.0.1:5000/cb",
    "http://[::1]:5000/cb",
  ])("accepts %s", (uri) => expect(assertValidRedirectUri(uri)).toBe(uri));

  it.each([
    ["https://app.example.com/cb#", "fragment"],
    ["https://app.example.com/*", "wildcards"],
    ["https://*.example.com/cb", "wildcards"],
    ["http://app.example.com/cb", "must use https"],
    ["http://localhost.evil.example/cb", "must use https"],
    ["custom-scheme://cb", "must use https"],
    ["data:text/html,hi", "must use https"],
    ["cb", "absolute URL"],
    ["https://a@app.example.com/cb", "credentials"],
    ["https://app.example.com", "canonical form"],
    ["https://app.example.com:443/cb", "canonical form"],
    ["https://app.example.com/a/../cb", "canonical form"],
    ["https://app.example.com/a/%2e%2e/cb", "canonical form"],
    ["https://app.example.com/cb x", "white space"],
  ])("refuses %s (%s)", (uri, why) => {
    expect(() => assertValidRedirectUri(uri)).toThrow(why);
  });
});
