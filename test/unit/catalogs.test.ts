import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { type Catalog, LOCALES_DIR, loadCatalogs, readCatalogs } from "../../src/i18n/catalogs.js";
import { CATALOG_LANGUAGES, chooseLanguage, uiLocalesOf } from "../../src/i18n/languages.js";
import { PROJECT_ROOT } from "../../src/paths.js";

/** "ns:a.b" → its text, for every leaf of every namespace of one language. */
function flatten(namespaces: Record<string, Catalog>): Map<string, string> {
  const leaves = new Map<string, string>();
  const walk = (prefix: string, value: unknown) => {
    if (typeof value === "string") leaves.set(prefix, value);
    else for (const [key, inner] of Object.entries(value as Catalog)) walk(prefix.endsWith(":") ? `${prefix}${key}` : `${prefix}.${key}`, inner);
  };
  for (const [namespace, catalog] of Object.entries(namespaces)) walk(`${namespace}:`, catalog);
  return leaves;
}

const variablesOf = (text: string) => [...text.matchAll(/\{\{\s*([\w.]+)\s*\}\}/g)].map((match) => match[1]).sort();

function filesUnder(directory: string, pattern: RegExp): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return entry.name === "generated" ? [] : filesUnder(path, pattern);
    return pattern.test(entry.name) ? [path] : [];
  });
}

describe("the message catalogs", () => {
  const catalogs = Object.fromEntries(CATALOG_LANGUAGES.map((language) => [language, flatten(readCatalogs(language))]));
  const english = catalogs.en as Map<string, string>;

  it.each(CATALOG_LANGUAGES.filter((language) => language !== "en"))("%s has exactly the keys English has, with the same placeholders", (language) => {
    const other = catalogs[language] as Map<string, string>;
    expect({ missing: [...english.keys()].filter((key) => !other.has(key)), extra: [...other.keys()].filter((key) => !english.has(key)) }).toEqual({
      missing: [],
      extra: [],
    });
    const differing = [...english].filter(([key, text]) => variablesOf(text).join() !== variablesOf(other.get(key) ?? "").join()).map(([key]) => key);
    expect(differing).toEqual([]);
  });

  it("has no empty text", () => {
    for (const [language, leaves] of Object.entries(catalogs)) {
      expect([...leaves].filter(([, text]) => text.trim() === "").map(([key]) => `${language} ${key}`)).toEqual([]);
    }
  });

  it("holds every key a page, a route or a mail asks for", () => {
    // Literal keys only (`t("ns:key")`): a key built at run time is checked by the test of its page.
    const asked = filesUnder(join(PROJECT_ROOT, "views"), /\.(eta|js)$/)
      .concat(filesUnder(join(PROJECT_ROOT, "src"), /\.ts$/))
      .flatMap((path) =>
        [...readFileSync(path, "utf8").matchAll(/\bt\(\s*"([a-z-]+:[A-Za-z0-9_.-]+)"/g)].map((match) => `${relative(PROJECT_ROOT, path)}: ${match[1]}`),
      );
    expect(asked.length).toBeGreaterThan(10);
    const unknown = asked.filter((entry) => {
      const key = entry.split(": ")[1] as string;
      return !english.has(key) && !english.has(`${key}_one`);
    });
    expect(unknown).toEqual([]);
  });

  it("loads, and a key one language lacks falls back to English instead of showing the key", () => {
    const t = loadCatalogs().translator("de");
    expect(t("common:signIn")).toBe("Anmelden");
    expect(t("common:signInTo", { app: "Wiki" })).toBe("Bei Wiki anmelden");
    expect(t("errors:no.such_code", { defaultValue: "fallback" })).toBe("fallback");
    expect(LOCALES_DIR).toBe(join(PROJECT_ROOT, "locales"));
  });
});

describe("choosing a language", () => {
  it("takes the first requested tag with a catalog, matching on the primary subtag", () => {
    expect(chooseLanguage(["it", "de-CH", "fr"], ["en", "de", "fr"], "en")).toBe("de");
    expect(chooseLanguage(["FR-ca"], ["en", "de", "fr"], "en")).toBe("fr");
    expect(chooseLanguage(["*", "es"], ["en", "de", "fr"], "de")).toBe("de");
    expect(chooseLanguage(["de"], ["en", "fr"], "en")).toBe("en");
  });

  it("reads ui_locales as space-separated tags and ignores anything that is not one", () => {
    expect(uiLocalesOf("de-CH fr")).toEqual(["de-CH", "fr"]);
    expect(uiLocalesOf(["de"])).toEqual([]);
    expect(uiLocalesOf("de\r\nX:y ../en")).toEqual([]);
    expect(uiLocalesOf(`${"a".repeat(100)} fr`)).toEqual(["fr"]);
  });
});
