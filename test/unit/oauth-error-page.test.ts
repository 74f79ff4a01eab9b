import { describe, expect, it } from "vitest";
import { explainOAuthError } from "../../src/http/oauth-error-page.js";
import { loadCatalogs } from "../../src/i18n/catalogs.js";

describe("error pages people can act on", () => {
  const catalogs = loadCatalogs();

  it.each([
    [{ error: "invalid_client", error_description: "client is invalid" }, "This app is not known here", "tell the app's owner"],
    [
      { error: "invalid_redirect_uri", error_description: "redirect_uri did not match any of the client's registered redirect_uris" },
      "This sign-in link is not set up right",
      "tell the app's owner",
    ],
    [
      { error: "invalid_request", error_description: "redirect_uri must only contain one value" },
      "This sign-in link is not set up right",
      "tell the app's owner",
    ],
    [{ error: "server_error" }, "Something went wrong on our side", "try again"],
    [{ error: "invalid_request", error_description: "interaction session not found" }, "This step already ended", "start signing in again"],
    [{ error: "invalid_request", error_description: "unrecognized route or not allowed method" }, "Signing in could not continue", "start signing in again"],
  ] as [{ error: string; error_description?: string }, string, string][])(
    "%j: a plain title, what to do next, the OAuth error only as details",
    (out, title, next) => {
      const page = explainOAuthError(out, catalogs.translator("en"));
      expect(page.title).toBe(title);
      expect(page.next).toContain(next);
      expect(`${page.title} ${page.message} ${page.next}`).not.toMatch(/redirect_uri|client is invalid|_/);
      expect(page).toMatchObject({ error: out.error, details: out.error_description });
    },
  );

  it("says it in the reader's language, the OAuth error staying as it is", () => {
    const page = explainOAuthError({ error: "invalid_client", error_description: "client is invalid" }, catalogs.translator("fr"));
    expect(page.title).toBe("Cette application n'est pas connue ici");
    expect(page.next).toContain("prévenez le responsable de l'application");
    expect(page).toMatchObject({ error: "invalid_client", details: "client is invalid" });
  });
});
