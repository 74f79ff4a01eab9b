import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import i18next, { type TFunction } from "i18next";
import { PROJECT_ROOT } from "../paths.js";
import { CATALOG_LANGUAGES, type Language } from "./languages.js";

export const LOCALES_DIR = join(PROJECT_ROOT, "locales");

export type Catalog = Record<string, unknown>;

/** Every namespace file of one language: `locales/<language>/<namespace>.json`. */
export function readCatalogs(language: Language, dir = LOCALES_DIR): Record<string, Catalog> {
  const namespaces: Record<string, Catalog> = {};
  for (const file of readdirSync(join(dir, language)).filter((name) => name.endsWith(".json"))) {
    namespaces[file.slice(0, -".json".length)] = JSON.parse(readFileSync(join(dir, language, file), "utf8")) as Catalog;
  }
  return namespaces;
}

export interface Catalogs {
  /** The translate function of one language; a key missing there falls back to English. */
  translator(language: Language): TFunction;
}

/** Loads every catalog at start-up (synchronously: a missing or broken file fails the start, not a page). */
export function loadCatalogs(dir = LOCALES_DIR): Catalogs {
  const instance = i18next.createInstance();
  const resources = Object.fromEntries(CATALOG_LANGUAGES.map((language) => [language, readCatalogs(language, dir)]));
  void instance.init({
    initAsync: false,
    resources,
    supportedLngs: [...CATALOG_LANGUAGES],
    fallbackLng: "en",
    defaultNS: "common",
    ns: Object.keys(resources.en ?? {}),
    // Eta escapes what a template prints; escaping here too would show "&amp;" on the page.
    interpolation: { escapeValue: false },
    returnNull: false,
  });
  const translators = new Map(CATALOG_LANGUAGES.map((language) => [language, instance.getFixedT(language)]));
  return { translator: (language) => translators.get(language) as TFunction };
}
