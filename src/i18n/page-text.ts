import type { TFunction } from "i18next";
import type { Context } from "koa";
import { escapeHtml } from "../http/html-text.js";
import type { Catalogs } from "./catalogs.js";
import { chooseLanguage, type Language, uiLocalesOf } from "./languages.js";

/** What a page or a mail needs to speak its reader's language. */
export interface PageText {
  language: Language;
  t: TFunction;
  /** A readable date and time in UTC ("1 Dec 2026, 20:03 UTC"), for mails and pages without script. */
  dateTime(date: Date): string;
  /** `<time datetime>` with `dateTime` inside; the page's script rewrites it in the reader's time zone. */
  timeElement(date: Date): string;
  /** An AppError in this language: `errors:<code>` with its fields; without one, a sentence in this language around the English message. */
  errorMessage(error: { code: string; message: string; fields?: Readonly<Record<string, string | number>> }): string;
}

export interface LanguageSettings {
  /** The languages offered (ui_locales_supported), each with a complete catalog. */
  offered: readonly Language[];
  fallback: Language;
}

const UNTRANSLATED = "\u0000untranslated";

export function createPageTexts(catalogs: Catalogs, settings: LanguageSettings) {
  const texts = new Map<Language, PageText>();

  function inLanguage(language: Language): PageText {
    const cached = texts.get(language);
    if (cached) return cached;
    const format = new Intl.DateTimeFormat(language, { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" });
    const dateTime = (date: Date) => `${format.format(date)} UTC`;
    const t = catalogs.translator(language);
    const text: PageText = {
      language,
      t,
      errorMessage: (error) => {
        const translated = t(`errors:${error.code}`, { ...error.fields, defaultValue: UNTRANSLATED });
        if (translated !== UNTRANSLATED) return translated;
        // A refusal without a catalog text (developer-facing ones): said in this language, the detail in English.
        return language === "en" ? error.message : t("common:refusedUntranslated", { detail: error.message });
      },
      dateTime,
      timeElement: (date) => `<time datetime="${date.toISOString()}" data-local-time>${escapeHtml(dateTime(date))}</time>`,
    };
    texts.set(language, text);
    return text;
  }

  /**
   * The language of this request: the sign-in's `ui_locales` (OIDC Core §3.1.2.1, kept with the
   * interaction), then Accept-Language, then the operator's default.
   */
  function ofRequest(ctx: Context): PageText {
    const state = ctx.state as { pageText?: PageText; uiLocales?: string[] };
    if (state.pageText) return state.pageText;
    const oidcParams = (ctx as Context & { oidc?: { params?: Record<string, unknown> } }).oidc?.params;
    const requested = [...(state.uiLocales ?? uiLocalesOf(oidcParams?.ui_locales)), ...ctx.acceptsLanguages()];
    state.pageText = inLanguage(chooseLanguage(requested, settings.offered, settings.fallback));
    return state.pageText;
  }

  return { ofRequest, inLanguage, offered: settings.offered };
}

export type PageTexts = ReturnType<typeof createPageTexts>;
