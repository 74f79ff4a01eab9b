import { createHash } from "node:crypto";
import { badRequest } from "../errors.js";
import { isLoopbackHost } from "./redirect-uri.js";

/** What the sign-in and consent pages show about an app (RFC 7591 §2), as the registry stores it. */
export interface AppPresentation {
  clientUri: string | null;
  logoUri: string | null;
  policyUri: string | null;
  tosUri: string | null;
}

export type PresentationField = "client_uri" | "logo_uri" | "policy_uri" | "tos_uri";

/** The CLI flag that sets each field; the admin API names the field itself. */
export const PRESENTATION_FLAGS: Record<PresentationField, string> = {
  client_uri: "--client-uri",
  logo_uri: "--logo-uri",
  policy_uri: "--policy-uri",
  tos_uri: "--tos-uri",
};

export const MAX_PRESENTATION_URL_LENGTH = 2000;
/** The largest logo carried inline as a data URL (decoded bytes). */
export const MAX_LOGO_BYTES = 32 * 1024;

const MAX_LOGO_BASE64_LENGTH = Math.ceil(MAX_LOGO_BYTES / 3) * 4;

// Raster formats only, each with the bytes its files start with. No SVG: it can carry scripts.
const LOGO_SIGNATURES: Record<string, (bytes: Buffer) => boolean> = {
  png: (bytes) => bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])),
  jpeg: (bytes) => bytes.subarray(0, 3).equals(Buffer.from([0xff, 0xd8, 0xff])),
  gif: (bytes) => ["GIF87a", "GIF89a"].includes(bytes.subarray(0, 6).toString("latin1")),
  webp: (bytes) => bytes.subarray(0, 4).toString("latin1") === "RIFF" && bytes.subarray(8, 12).toString("latin1") === "WEBP",
};

const DATA_LOGO = /^data:image\/(png|jpeg|gif|webp);base64,([A-Za-z0-9+/]*={0,2})$/;
// URL parsing silently drops tabs and newlines and trims control characters: refuse them instead.
// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what this refuses
const CONTROL_OR_SPACE = /[\u0000-\u0020\u007f-\u009f\s]/;
const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const preview = (raw: string) => JSON.stringify(raw.length > 60 ? `${raw.slice(0, 60)}…` : raw);

/** `context` picks the variant of the code's text in the catalogs (i18next `<code>_<context>`); `got` is what was sent, shortened. */
function invalid(field: PresentationField, context: string, why: string, raw?: string, more: Record<string, string | number> = {}) {
  const got = raw === undefined ? undefined : preview(raw);
  const problem = `${why}${got === undefined ? "" : ` (got ${got})`}`;
  return badRequest(`clients.invalid_${field}`, `${PRESENTATION_FLAGS[field]} ${problem}`, {
    setting: PRESENTATION_FLAGS[field],
    problem,
    context,
    ...(got === undefined ? {} : { got }),
    ...more,
  });
}

/**
 * An https page an app links to (http only on loopback, as for redirect URIs). Returns it in the
 * URL parser's normal form, which is what the pages print into href and src.
 * @throws AppError clients.invalid_<field>
 */
export function assertWebUrl(raw: unknown, field: PresentationField): string {
  if (typeof raw !== "string") throw invalid(field, "not_url", "must be a URL");
  if (raw.length > MAX_PRESENTATION_URL_LENGTH)
    throw invalid(field, "too_long", `must be at most ${MAX_PRESENTATION_URL_LENGTH} characters (got ${raw.length})`, undefined, {
      max: MAX_PRESENTATION_URL_LENGTH,
      length: raw.length,
    });
  if (CONTROL_OR_SPACE.test(raw) || UNPAIRED_SURROGATE.test(raw))
    throw invalid(field, "white_space", "must not contain white space or control characters", raw);
  // A fragment means nothing to a page we link to; refusing it keeps what is stored what is shown.
  if (raw.includes("#")) throw invalid(field, "fragment", "must not contain a fragment (#)", raw);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalid(field, "not_https_url", "must be an absolute https URL", raw);
  }
  // A javascript: or data: link on the consent page would run or show whatever its author wrote.
  if (url.protocol === "http:") {
    if (!isLoopbackHost(url.hostname)) throw invalid(field, "plain_http", "must use https (plain http only for localhost, 127.0.0.1 and [::1])", raw);
  } else if (url.protocol !== "https:") {
    throw invalid(field, "not_https_url", "must be an absolute https URL", raw);
  }
  // Credentials in a link would be sent to the site by every browser that follows it.
  if (url.username || url.password) throw invalid(field, "credentials", "must not contain credentials (user@host)", raw);
  if (url.href.length > MAX_PRESENTATION_URL_LENGTH)
    throw invalid(field, "too_long_normalized", `must be at most ${MAX_PRESENTATION_URL_LENGTH} characters once normalized`, undefined, {
      max: MAX_PRESENTATION_URL_LENGTH,
    });
  return url.href;
}

/**
 * A logo: an https URL (the rules of `assertWebUrl`), or a PNG, JPEG, GIF or WebP data URL of at
 * most 32 KiB whose bytes really are that format.
 * @throws AppError clients.invalid_logo_uri
 */
export function assertLogoUri(raw: unknown): string {
  if (typeof raw !== "string" || !raw.startsWith("data:")) return assertWebUrl(raw, "logo_uri");
  const header = raw.slice(0, raw.indexOf(",") + 1);
  const match = DATA_LOGO.exec(raw);
  if (!match) {
    if (!/^data:image\/(png|jpeg|gif|webp);base64,$/.test(header)) {
      throw invalid("logo_uri", "data_type", "as a data URL must be data:image/png, image/jpeg, image/gif or image/webp;base64 (no SVG)", raw);
    }
    throw invalid("logo_uri", "data_base64", "as a data URL must be valid base64");
  }
  const format = match[1] as string;
  const base64 = match[2] as string;
  if (base64.length > MAX_LOGO_BASE64_LENGTH)
    throw invalid("logo_uri", "data_too_large", `as a data URL must be an image of at most ${MAX_LOGO_BYTES / 1024} KiB`, undefined, {
      kib: MAX_LOGO_BYTES / 1024,
    });
  const bytes = Buffer.from(base64, "base64");
  // Node's decoder skips what it cannot read; re-encoding shows whether anything was skipped.
  if (base64.length === 0 || bytes.toString("base64") !== base64) throw invalid("logo_uri", "data_base64", "as a data URL must be valid base64");
  if (bytes.length > MAX_LOGO_BYTES)
    throw invalid("logo_uri", "data_too_large", `as a data URL must be an image of at most ${MAX_LOGO_BYTES / 1024} KiB`, undefined, {
      kib: MAX_LOGO_BYTES / 1024,
    });
  // The declared type must be the real one: the browser would otherwise sniff what it is given.
  if (!LOGO_SIGNATURES[format]?.(bytes))
    throw invalid("logo_uri", "data_mismatch", `as a data URL says image/${format} but its bytes are not a ${format.toUpperCase()} image`, undefined, {
      format,
      formatName: format.toUpperCase(),
    });
  return raw;
}

/** An absent value stays absent; null or "" clears the field; anything else must pass its rule. */
export function presentationChange(raw: unknown, field: PresentationField): string | null | undefined {
  if (raw === undefined) return undefined;
  if (raw === null || raw === "") return null;
  return field === "logo_uri" ? assertLogoUri(raw) : assertWebUrl(raw, field);
}

/** The presentation fields of a create or update, each checked; absent fields stay absent. */
export function presentationChanges(input: { clientUri?: unknown; logoUri?: unknown; policyUri?: unknown; tosUri?: unknown }): Partial<AppPresentation> {
  const changes: Partial<AppPresentation> = {};
  const clientUri = presentationChange(input.clientUri, "client_uri");
  const logoUri = presentationChange(input.logoUri, "logo_uri");
  const policyUri = presentationChange(input.policyUri, "policy_uri");
  const tosUri = presentationChange(input.tosUri, "tos_uri");
  if (clientUri !== undefined) changes.clientUri = clientUri;
  if (logoUri !== undefined) changes.logoUri = logoUri;
  if (policyUri !== undefined) changes.policyUri = policyUri;
  if (tosUri !== undefined) changes.tosUri = tosUri;
  return changes;
}

/** The logo is inline (a data URL) rather than on a web server. */
export const isDataLogo = (logoUri: string) => logoUri.startsWith("data:");

/**
 * A logo as the CLI and the audit log show it: an inline one is tens of kilobytes of base64, so its
 * type, size and digest stand for it (one audit line stays one log line, not 90 KB).
 */
export function logoSummary(logoUri: string): string {
  if (!isDataLogo(logoUri)) return logoUri;
  const type = logoUri.slice("data:".length, logoUri.indexOf(";"));
  const bytes = Buffer.from(logoUri.slice(logoUri.indexOf(",") + 1), "base64");
  return `inline ${type}, ${bytes.length} bytes, sha256:${createHash("sha256").update(bytes).digest("hex").slice(0, 16)}`;
}
