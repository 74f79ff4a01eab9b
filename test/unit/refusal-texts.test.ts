import { describe, expect, it } from "vitest";
import { assertLogoUri, assertWebUrl } from "../../src/clients/app-presentation.js";
import { assertValidBackchannelUri } from "../../src/clients/backchannel-uri.js";
import {
  assertAccessTokenFormat,
  assertAcr,
  assertAllowedGroups,
  assertIdTokenAlg,
  assertName,
  assertScopes,
  assertSeconds,
  grantTypesFor,
} from "../../src/clients/client-rules.js";
import { assertValidRedirectUri } from "../../src/clients/redirect-uri.js";
import { formOf } from "../../src/console/form.js";
import { AppError } from "../../src/errors.js";
import { createCustomClaimService } from "../../src/groups/custom-claim-service.js";
import { normaliseGroupName } from "../../src/groups/group-rules.js";
import { type Catalog, loadCatalogs, readCatalogs } from "../../src/i18n/catalogs.js";
import { createPageTexts } from "../../src/i18n/page-text.js";

/** What `run` throws (sync or async), which must be an AppError. */
async function refusal(run: () => unknown): Promise<AppError> {
  try {
    await run();
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error("nothing was refused");
}

const policy = { supportedScopes: ["openid", "email", "admin"], maxRefreshTokenSeconds: 86_400, publicBackchannelHostsOnly: true };
const claims = createCustomClaimService({
  queries: {} as never,
  customScopes: { staff: ["department"] },
  findUser: async () => ({ id: "u" }),
  findGroup: async () => ({ id: "g" }),
});
const gifAsPng = `data:image/png;base64,${Buffer.from("GIF89a-not-a-png").toString("base64")}`;

// Every variant of a refusal the console (or any page) can show: the real rules, given bad input.
const REFUSALS: [string, () => unknown][] = [
  ...[
    "https://a.example/cb#x",
    "https://a.example/*",
    "https://a.example/c b",
    "nope",
    "https://u:p@a.example/cb",
    "http://a.example/cb",
    "ftp://a.example/cb",
    "HTTPS://A.example/cb",
  ].map((uri): [string, () => unknown] => [`redirect URI ${uri}`, () => assertValidRedirectUri(uri, "--redirect-uri")]),
  ["private back-channel URI", () => assertValidBackchannelUri("https://192.168.1.10/logout", { publicOnly: true })],
  ...(["client_uri", "logo_uri", "policy_uri", "tos_uri"] as const).flatMap((field): [string, () => unknown][] => [
    [`${field} not text`, () => assertWebUrl(42, field)],
    [`${field} too long`, () => assertWebUrl(`https://a.example/${"a".repeat(2000)}`, field)],
    [`${field} white space`, () => assertWebUrl("https://a.example/a b", field)],
    [`${field} fragment`, () => assertWebUrl("https://a.example/#x", field)],
    [`${field} not https`, () => assertWebUrl("javascript:alert(1)", field)],
    [`${field} plain http`, () => assertWebUrl("http://a.example/", field)],
    [`${field} credentials`, () => assertWebUrl("https://u:p@a.example/", field)],
    [`${field} too long normalized`, () => assertWebUrl(`https://a.example/${"é".repeat(600)}`, field)],
  ]),
  ["logo SVG", () => assertLogoUri("data:image/svg+xml;base64,PHN2Zz4=")],
  ["logo bad base64", () => assertLogoUri("data:image/png;base64,@@@")],
  ["logo too large", () => assertLogoUri(`data:image/png;base64,${"A".repeat(50_000)}`)],
  ["logo not its type", () => assertLogoUri(gifAsPng)],
  ["token format", () => assertAccessTokenFormat("paseto")],
  ["id token alg", () => assertIdTokenAlg("HS256")],
  ["empty name", () => assertName("")],
  ["name with a direction override", () => assertName("a\u202eb")],
  ["acr", () => assertAcr("strong")],
  ["blank group", () => assertAllowedGroups([" "], async () => [])],
  [
    "too many groups",
    () =>
      assertAllowedGroups(
        Array.from({ length: 51 }, (_, i) => `g${i}`),
        async () => [],
      ),
  ],
  ["unknown group", () => assertAllowedGroups(["nobody"], async () => [])],
  ["unknown scope", () => assertScopes(["nope"], ["authorization_code"], policy)],
  ["admin scope for a user-facing app", () => assertScopes(["admin"], ["authorization_code"], policy)],
  ["lifetime", () => assertSeconds(5, "--access-token-ttl", 60, 86_400)],
  ["public client credentials", () => grantTypesFor({ name: "x", redirectUris: [], public: true, clientCredentials: true })],
  ["no redirect URI", () => grantTypesFor({ name: "x", redirectUris: [] })],
  ["group name", () => normaliseGroupName("Not A Name!")],
  ["reserved group name", () => normaliseGroupName("everyone")],
  ["group name shaped like an id", () => normaliseGroupName("0b6e0c43-4f55-4a9e-9c38-1c6f3e0e9a11")],
  ["unknown claim", () => claims.set({ user: "u" }, "shoe_size", 42)],
  ["missing claim value", () => claims.set({ user: "u" }, "department", undefined)],
  ["claim value too deep", () => claims.set({ user: "u" }, "department", [[[[[[[[[["deep"]]]]]]]]]])],
  ["claim value with NUL", () => claims.set({ user: "u" }, "department", "a\u0000b")],
  ["claim value not finite", () => claims.set({ user: "u" }, "department", Number.NaN)],
  ["claim value with __proto__", () => claims.set({ user: "u" }, "department", JSON.parse('{"__proto__": 1}'))],
  ["claim value not JSON", () => claims.set({ user: "u" }, "department", () => 1)],
  ["claim value too large", () => claims.set({ user: "u" }, "department", "x".repeat(5000))],
  ["console field repeated", () => formOf({ a: ["x", "y"] }).text("a", "A")],
  ["console field too long", () => formOf({ a: "x".repeat(300) }).text("a", "A")],
  ["console field control character", () => formOf({ a: "x\u0007" }).text("a", "A")],
  ["console field two lines", () => formOf({ a: "x\ny" }).text("a", "A")],
];

const leavesOf = (catalog: Catalog, prefix = ""): string[] =>
  Object.entries(catalog).flatMap(([key, value]) => (typeof value === "string" ? [`${prefix}${key}`] : leavesOf(value as Catalog, `${prefix}${key}.`)));

// Issue #15: a refusal is shown in the page's language; each variant (`context`) has its own text in every catalog.
describe("the texts of the refusals", () => {
  const texts = createPageTexts(loadCatalogs(), { offered: ["en", "de", "fr"], fallback: "en" });
  const keys = Object.fromEntries((["en", "de", "fr"] as const).map((language) => [language, new Set(leavesOf(readCatalogs(language).errors as Catalog))]));

  it.each(REFUSALS)("%s: worded in English, German and French with every value filled in", async (_, run) => {
    const error = await refusal(run);
    const key = typeof error.fields.context === "string" ? `${error.code}_${error.fields.context}` : error.code;
    for (const language of ["en", "de", "fr"] as const) {
      expect(keys[language]?.has(key), `${language} ${key}`).toBe(true);
      const text = texts.inLanguage(language).errorMessage(error);
      expect(text, `${language} ${key}`).not.toMatch(/\{\{|\}\}/);
      if (language !== "en") expect(text, `${language} ${key}`).not.toBe(texts.inLanguage("en").errorMessage(error));
    }
  });
});
