import type { TFunction } from "i18next";

export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Markup made here (a `<time>`, a value in `<strong>`): put into a translated sentence as it is. */
export class SafeHtml {
  constructor(readonly html: string) {}
  toString(): string {
    return this.html;
  }
}

export const strong = (text: string): SafeHtml => new SafeHtml(`<strong>${escapeHtml(text)}</strong>`);
export const code = (text: string): SafeHtml => new SafeHtml(`<code>${escapeHtml(text)}</code>`);

/**
 * A translated sentence as HTML for `<%~ %>`: the catalog's own markup is kept (the catalogs are
 * ours), every string value is escaped (XSS: names and emails are users' and operators' input),
 * SafeHtml values go in as they are, numbers stay numbers (they choose the plural).
 */
export function htmlText(t: TFunction, key: string, values: Record<string, unknown> = {}): string {
  const escaped = Object.fromEntries(
    Object.entries(values).map(([name, value]) => [
      name,
      value instanceof SafeHtml ? value.html : typeof value === "number" ? value : escapeHtml(String(value)),
    ]),
  );
  return t(key, escaped);
}
