import { AppError } from "../errors.js";
import type { PageText } from "../i18n/page-text.js";

// The registry names settings as the CLI's flags; the console names its form's fields (console:app.settingNames).
const SETTING_NAMES: Record<string, string> = {
  "--name": "name",
  "--redirect-uri": "redirectUri",
  "--post-logout-redirect-uri": "postLogoutRedirectUri",
  "--backchannel-logout-uri": "backchannelLogoutUri",
  "--minimum-acr": "minimumAcr",
  "--scopes": "scopes",
  "--access-token-ttl": "accessTokenTtl",
  "--refresh-token-ttl": "refreshTokenTtl",
  "--access-token-format": "accessTokenFormat",
  "--id-token-alg": "idTokenAlg",
  "--allowed-groups": "allowedGroups",
  "--client-uri": "clientUri",
  "--logo-uri": "logoUri",
  "--policy-uri": "policyUri",
  "--tos-uri": "tosUri",
};

/**
 * A refusal of the client registry in the page's language (errors:clients.*, the setting named as the
 * form names it), or null when it is not one the form should show.
 */
export function clientProblem(error: unknown, text: PageText): { message: string; canonical: string | null } | null {
  if (!(error instanceof AppError) || error.status >= 500 || !error.code.startsWith("clients.")) return null;
  const { setting, canonical } = error.fields;
  const name = typeof setting === "string" ? SETTING_NAMES[setting] : undefined;
  const fields = name ? { ...error.fields, setting: text.t(`console:app.settingNames.${name}`) } : error.fields;
  return { message: text.errorMessage({ code: error.code, message: error.message, fields }), canonical: typeof canonical === "string" ? canonical : null };
}
