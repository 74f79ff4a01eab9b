import type { TFunction } from "i18next";
import { readCatalogs } from "../i18n/catalogs.js";

/** The scopes with a label in `locales/<language>/scopes.json`. */
const LABELLED = new Set(["openid", "email", "profile", "groups", "offline_access"]);

/** `scopes:<scope>`, the catalog key of what a scope lets an application do; null for a scope the operator configured without a label. */
export const scopeLabelKey = (scope: string): string | null => (LABELLED.has(scope) ? `scopes:${scope}` : null);

/**
 * What a scope lets an application do, as the consent page and the account page say it, in the
 * language of `t` (`views.textOf(ctx).t`): `scopes.map(scopeLabelsIn(t))`. A scope without a
 * label shows as itself.
 */
export function scopeLabelsIn(t: TFunction): (scope: string) => string {
  return (scope) => {
    const key = scopeLabelKey(scope);
    return key ? t(key) : scope;
  };
}

let english: Readonly<Record<string, string>> | undefined;

/** @deprecated English only, for callers without a request's language yet: use `scopeLabelsIn(t)`. */
export function scopeLabel(scope: string): string {
  english ??= readCatalogs("en").scopes as Record<string, string>;
  return scopeLabelKey(scope) ? (english[scope] as string) : scope;
}
