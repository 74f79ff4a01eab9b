import { describe, expect, it } from "vitest";
import { assertLogoUri, assertWebUrl, MAX_LOGO_BYTES, presentationChanges } from "../../src/clients/app-presentation.js";

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const image = (signature: Buffer | string, size = 64) => {
  const bytes = Buffer.alloc(size);
  Buffer.from(signature).copy(bytes);
  return bytes.toString("base64");
};
const webp = () => {
  const bytes = Buffer.alloc(32);
  bytes.write("RIFF", 0, "latin1");
  bytes.write("WEBP", 8, "latin1");
  return bytes.toString("base64");
};

describe("app presentation URLs (client_uri, policy_uri, tos_uri)", () => {
  it.each([
    ["https://app.example.com", "https://app.example.com/"],
    ["https://app.example.com/privacy?lang=en", "https://app.example.com/privacy?lang=en"],
    ["https://APP.example.com:443/terms", "https://app.example.com/terms"],
    ["http://localhost:3000/about", "http://localhost:3000/about"],
    ["http://127.0.0.1/about", "http://127.0.0.1/about"],
    ["http://[::1]:8080/", "http://[::1]:8080/"],
    ["https://bücher.example/", "https://xn--bcher-kva.example/"],
  ])("accepts %s (kept as %s)", (raw, normal) => {
    expect(assertWebUrl(raw, "client_uri")).toBe(normal);
  });

  it.each([
    ["javascript:alert(1)", "must be an absolute https URL"],
    ["JavaScript:alert(1)//https://x", "must be an absolute https URL"],
    ["data:text/html,<script>alert(1)</script>", "must be an absolute https URL"],
    ["ftp://files.example.com/", "must be an absolute https URL"],
    ["/privacy", "must be an absolute https URL"],
    ["http://app.example.com/", "must use https"],
    ["http://localhost.evil.example/", "must use https"],
    ["https://user:pass@app.example.com/", "credentials"],
    ["https://user@app.example.com/", "credentials"],
    ["https://app.example.com/#section", "fragment"],
    ["https://app.example.com/\u0000", "control characters"],
    ["https://app.example.com/\r\nSet-Cookie: a=b", "control characters"],
    ["https://app.example.com/a b", "white space"],
    [" https://app.example.com/", "white space"],
    ["https://app.example.com/\uD800", "control characters"],
    [`https://app.example.com/${"a".repeat(2000)}`, "at most 2000 characters"],
  ])("refuses %s", (raw, why) => {
    expect(() => assertWebUrl(raw, "policy_uri")).toThrow(why);
  });

  it("names the field's flag and code, and refuses what is not a string", () => {
    expect(() => assertWebUrl("javascript:alert(1)", "tos_uri")).toThrow(expect.objectContaining({ code: "clients.invalid_tos_uri", status: 400 }));
    expect(() => assertWebUrl("javascript:alert(1)", "tos_uri")).toThrow(/^--tos-uri /);
    for (const value of [["https://a.example/"], 42, {}, true]) {
      expect(() => assertWebUrl(value, "client_uri")).toThrow(expect.objectContaining({ code: "clients.invalid_client_uri" }));
    }
  });
});

describe("app logos (logo_uri)", () => {
  it.each([
    ["png", image(PNG)],
    ["jpeg", image(Buffer.from([0xff, 0xd8, 0xff, 0xe0]))],
    ["gif", image("GIF89a")],
    ["gif", image("GIF87a")],
    ["webp", webp()],
  ])("accepts an inline %s whose bytes are one", (format, base64) => {
    const uri = `data:image/${format};base64,${base64}`;
    expect(assertLogoUri(uri)).toBe(uri);
  });

  it("accepts an https logo, and an inline one of exactly 32 KiB but not one byte more", () => {
    expect(assertLogoUri("https://cdn.example.com/logo.png")).toBe("https://cdn.example.com/logo.png");
    expect(assertLogoUri(`data:image/png;base64,${image(PNG, MAX_LOGO_BYTES)}`)).toMatch(/^data:image\/png;base64,/);
    expect(() => assertLogoUri(`data:image/png;base64,${image(PNG, MAX_LOGO_BYTES + 1)}`)).toThrow("at most 32 KiB");
  });

  it.each([
    ["an SVG (scripts)", `data:image/svg+xml;base64,${Buffer.from("<svg onload='alert(1)'/>").toString("base64")}`, "no SVG"],
    ["HTML", `data:text/html;base64,${Buffer.from("<script>alert(1)</script>").toString("base64")}`, "no SVG"],
    ["a data URL that is not base64", "data:image/png,rawbytes", "no SVG"],
    ["an upper-case type", `data:image/PNG;base64,${image(PNG)}`, "no SVG"],
    ["invalid base64", "data:image/png;base64,iVBORw0KGgo!!!", "valid base64"],
    ["base64 with a bad length", "data:image/png;base64,iVBORw0KGgoAA", "valid base64"],
    ["base64 with padding in the middle", "data:image/png;base64,iVBO=w0KGgo=", "valid base64"],
    ["an empty image", "data:image/png;base64,", "valid base64"],
    ["a JPEG declared as PNG", `data:image/png;base64,${image(Buffer.from([0xff, 0xd8, 0xff]))}`, "not a PNG image"],
    ["a PNG declared as GIF", `data:image/gif;base64,${image(PNG)}`, "not a GIF image"],
    ["a RIFF that is not WebP", `data:image/webp;base64,${image("RIFF")}`, "not a WEBP image"],
    ["100 KB of base64", `data:image/png;base64,${"A".repeat(100_000)}`, "at most 32 KiB"],
    ["a javascript: URL", "javascript:alert(document.domain)", "https"],
    ["a plain-http logo", "http://cdn.example.com/logo.png", "https"],
  ])("refuses %s", (_what, raw, why) => {
    expect(() => assertLogoUri(raw)).toThrow(why);
    expect(() => assertLogoUri(raw)).toThrow(expect.objectContaining({ code: "clients.invalid_logo_uri" }));
  });
});

describe("presentationChanges", () => {
  it("keeps absent fields absent, clears on null or an empty string, and checks the rest", () => {
    expect(presentationChanges({})).toEqual({});
    expect(presentationChanges({ clientUri: "", logoUri: null })).toEqual({ clientUri: null, logoUri: null });
    expect(presentationChanges({ tosUri: "https://app.example.com/terms" })).toEqual({ tosUri: "https://app.example.com/terms" });
    expect(() => presentationChanges({ clientUri: "https://app.example.com/", policyUri: "javascript:x" })).toThrow("--policy-uri");
  });
});
