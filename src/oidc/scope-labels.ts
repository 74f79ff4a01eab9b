import type { TFunction } from "i18next";

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
