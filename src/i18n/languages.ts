/** The languages the IdP has complete catalogs for (`locales/<language>/`). */
export const CATALOG_LANGUAGES = ["en", "de", "fr"] as const;

export type Language = (typeof CATALOG_LANGUAGES)[number];

export const isCatalogLanguage = (value: string): value is Language => (CATALOG_LANGUAGES as readonly string[]).includes(value);

/**
 * The first requested language tag (BCP 47, in order of preference) that one of `available`
 * serves, exactly or by its primary subtag (`de-CH` → `de`); `fallback` when none does.
 */
export function chooseLanguage(requested: readonly string[], available: readonly Language[], fallback: Language): Language {
  for (const tag of requested) {
    const primary = tag.trim().toLowerCase().split("-")[0] ?? "";
    const match = available.find((language) => language === primary);
    if (match) return match;
  }
  return fallback;
}

/** OIDC Core §3.1.2.1 `ui_locales`: space-separated tags, most preferred first; anything else is ignored. */
export function uiLocalesOf(value: unknown): string[] {
  return typeof value === "string" ? value.split(" ").filter((tag) => /^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$/.test(tag)) : [];
}
