import type { TFunction } from "i18next";
import type { Client } from "oidc-provider";
import { ACCOUNT_CLIENT_ID } from "../account/account-client.js";
import { clientSetting } from "../oidc/client-setting.js";

/** An app as the sign-in and consent pages show it. */
export interface AppOnPage {
  name: string;
  logo: { src: string; alt: string } | null;
  homePage: string | null;
  privacyPolicy: string | null;
  terms: string | null;
  /** The origin the page must let images load from (the logo's, unless it is inline). */
  imageOrigins: string[];
}

// The inline logo is our own metadata, which oidc-provider does not check: a row written around the
// registry (SQL, an older version) must not put an SVG (scripts) or another type on the page.
const INLINE_LOGO = /^data:image\/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/]+={0,2}$/;

/**
 * An http(s) URL, or null. The registry allows nothing else, and oidc-provider refuses a client
 * whose client_uri, logo_uri, policy_uri or tos_uri is no web URL; checked here all the same
 * because a javascript: URL in an href would run on our origin.
 */
function webUrl(value: unknown): URL | null {
  if (typeof value !== "string") return null;
  try {
    const url = new URL(value);
    return url.protocol === "https:" || url.protocol === "http:" ? url : null;
  } catch {
    return null;
  }
}

function logoOf(client: Client, alt: string): { logo: AppOnPage["logo"]; imageOrigins: string[] } {
  const inline = clientSetting(client, "idp_logo_data_uri");
  if (typeof inline === "string" && INLINE_LOGO.test(inline)) return { logo: { src: inline, alt }, imageOrigins: [] };
  const url = webUrl(client.logoUri);
  return url ? { logo: { src: url.href, alt }, imageOrigins: [url.origin] } : { logo: null, imageOrigins: [] };
}

/** What the page shows of the app asking, in the language of `t`; null for the IdP's own account pages (they keep their wording). */
export function appOnPage(client: Client | undefined, t: TFunction): AppOnPage | null {
  if (!client || client.clientId === ACCOUNT_CLIENT_ID) return null;
  const name = client.clientName ?? client.clientId;
  return {
    name,
    ...logoOf(client, t("sign-in:app.logoAlt", { app: name })),
    homePage: webUrl(client.clientUri)?.href ?? null,
    privacyPolicy: webUrl(client.policyUri)?.href ?? null,
    terms: webUrl(client.tosUri)?.href ?? null,
  };
}
