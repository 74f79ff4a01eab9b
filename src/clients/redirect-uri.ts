import { badRequest } from "../errors.js";

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** The hosts plain http is allowed for (a URL's `hostname`). */
export const isLoopbackHost = (hostname: string) => LOOPBACK_HOSTS.has(hostname);

/**
 * Validates a redirect (or post-logout redirect) URI an operator registers. It must
 * already be in canonical form, because the authorization endpoint compares the
 * string character for character (RFC 9700 §4.1.3: exact matching only).
 * @throws AppError clients.invalid_redirect_uri
 */
export function assertValidRedirectUri(raw: string, setting = "redirect URI"): string {
  // `context` picks the variant of the code's text in the catalogs (i18next `<code>_<context>`).
  const fail = (context: string, why: string, canonical?: string) =>
    badRequest("clients.invalid_redirect_uri", `${setting} "${raw}" ${why}`, {
      setting,
      problem: `"${raw}" ${why}`,
      uri: raw,
      context,
      ...(canonical ? { canonical } : {}),
    });
  if (raw.includes("#")) throw fail("fragment", "must not contain a fragment (#)");
  if (raw.includes("*")) throw fail("wildcard", "must not contain wildcards (*)");
  if (/\s/.test(raw)) throw fail("white_space", "must not contain white space");
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw fail("not_absolute", "is not an absolute URL");
  }
  if (url.username || url.password) throw fail("credentials", "must not contain credentials (user@host)");
  if (url.protocol === "http:") {
    if (!isLoopbackHost(url.hostname)) throw fail("plain_http", "must use https (plain http is allowed only for localhost, 127.0.0.1 and [::1])");
  } else if (url.protocol !== "https:") {
    throw fail("not_https", "must use https");
  }
  // Also catches dot segments (plain or %2e-encoded), which URL parsing resolves away.
  if (url.href !== raw) throw fail("not_canonical", `is not in canonical form; register it exactly as "${url.href}"`, url.href);
  return raw;
}
