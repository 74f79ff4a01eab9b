import type { TFunction } from "i18next";

/** Outcomes the activity list names; a success needs no word. */
const NAMED_OUTCOMES = new Set(["failure", "refused"]);

/**
 * What a security event means to the account's owner, for the activity list: `account:events.<type>`
 * (dots as underscores: i18next nests keys on dots), the raw type for one the catalog does not know.
 */
export function describeEvent(t: TFunction, type: string, outcome: string): string {
  const label = t(`account:events.${type.replaceAll(".", "_")}`, { defaultValue: type });
  return NAMED_OUTCOMES.has(outcome) ? t(`account:outcome.${outcome}`, { label }) : label;
}
