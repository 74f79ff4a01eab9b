import type { TFunction } from "i18next";

/** A value printed inside `<strong>` or `<code>`; a plain string or number is printed as text. */
export type MarkedValue = string | number | { strong: string } | { code: string };

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
// Private-use characters: where each value goes once the translated text is escaped.
const SLOT = /\uE000(\d+)\uE001/g;

function htmlOf(value: MarkedValue): string {
  if (typeof value === "object") {
    const [tag, text] = "strong" in value ? ["strong", value.strong] : ["code", value.code];
    return `<${tag}>${escapeHtml(text)}</${tag}>`;
  }
  return escapeHtml(String(value));
}

/**
 * A translated sentence as HTML, some of its values in `<strong>` or `<code>`, for `<%~ %>`. The
 * translation and every value are escaped here (XSS: names and emails are the operators' and users' input);
 * `count` also chooses the plural.
 */
export function markedText(t: TFunction, key: string, values: Record<string, MarkedValue>): string {
  const names = Object.keys(values);
  const slots: Record<string, string | number> = Object.fromEntries(names.map((name, index) => [name, `\uE000${index}\uE001`]));
  if (typeof values.count === "number") slots.count = values.count;
  return escapeHtml(t(key, slots)).replace(SLOT, (_, index: string) => htmlOf(values[names[Number(index)] as string] as MarkedValue));
}
