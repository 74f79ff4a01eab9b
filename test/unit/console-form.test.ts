import { describe, expect, it } from "vitest";
import { assertValidRedirectUri } from "../../src/clients/redirect-uri.js";
import { clientProblem } from "../../src/console/client-errors.js";
import { formOf } from "../../src/console/form.js";
import { badRequest } from "../../src/errors.js";
import { loadCatalogs } from "../../src/i18n/catalogs.js";
import { createPageTexts } from "../../src/i18n/page-text.js";

const texts = createPageTexts(loadCatalogs(), { offered: ["en", "de", "fr"], fallback: "en" });
const english = texts.inLanguage("en");

describe("console form fields", () => {
  it("reads one-line text, lines, words and checkboxes, and refuses repeated, nested, over-long or multi-line values naming the field", () => {
    const form = formOf({ name: "  Shop ", uris: "https://a.example/cb\r\n\r\n https://b.example/cb ", scopes: "openid, email  profile", on: "on" });
    expect(form.text("name", "Name")).toBe("Shop");
    expect(form.text("absent", "Absent")).toBe("");
    expect(form.lines("uris", "Redirect URIs")).toEqual(["https://a.example/cb", "https://b.example/cb"]);
    expect(form.words("scopes", "Scopes")).toEqual(["openid", "email", "profile"]);
    expect([form.flag("on", "On"), form.flag("off", "Off")]).toEqual([true, false]);

    const refused = (body: unknown, read: (f: ReturnType<typeof formOf>) => unknown) => {
      try {
        read(formOf(body));
      } catch (error) {
        return [(error as { code: string }).code, (error as Error).message];
      }
      return null;
    };
    expect(refused({ name: ["a", "b"] }, (f) => f.text("name", "Name"))).toEqual(["console.invalid_field", "Name must be given once, as text."]);
    expect(refused({ name: { a: "b" } }, (f) => f.text("name", "Name"))).toEqual(["console.invalid_field", "Name must be given once, as text."]);
    expect(refused({ on: ["on", "on"] }, (f) => f.flag("on", "First party"))).toEqual(["console.invalid_field", "First party must be given once, as text."]);
    expect(refused({ name: "a\r\nb" }, (f) => f.text("name", "Name"))).toEqual(["console.invalid_field", "Name must be one line."]);
    expect(refused({ name: "x".repeat(201) }, (f) => f.text("name", "Name"))).toEqual(["console.invalid_field", "Name must be at most 200 characters."]);
    expect(refused({ name: "a\u0007b" }, (f) => f.text("name", "Name"))).toEqual(["console.invalid_field", "Name must not contain control characters."]);
    expect(refused("not an object", (f) => f.text("name", "Name"))).toBeNull();
  });

  it("words the client registry's refusals with the form's labels, and keeps the canonical redirect URI", () => {
    let error: unknown;
    try {
      assertValidRedirectUri("HTTPS://App.example.com/cb", "--redirect-uri");
    } catch (caught) {
      error = caught;
    }
    expect(clientProblem(error, english)).toEqual({
      message: 'Redirect URI "HTTPS://App.example.com/cb" is not in canonical form; register it exactly as "https://app.example.com/cb".',
      canonical: "https://app.example.com/cb",
    });
    expect(clientProblem(error, texts.inLanguage("de"))?.message).toBe(
      "Redirect-URI „HTTPS://App.example.com/cb“ ist nicht in kanonischer Form; registrieren Sie sie genau als „https://app.example.com/cb“.",
    );
    expect(clientProblem(badRequest("clients.missing_redirect_uri", "at least one --redirect-uri is required"), english)?.message).toBe(
      "Add at least one redirect URI (or make it a machine client with client credentials).",
    );
    expect(clientProblem(badRequest("users.invalid_role", "x"), english)).toBeNull();
    expect(clientProblem(new Error("boom"), english)).toBeNull();
  });
});
