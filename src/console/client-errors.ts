import { AppError } from "../errors.js";

// The registry names settings as the CLI's flags; the console names its form's fields.
const FIELD_LABELS: Record<string, string> = {
  "--name": "Name",
  "--redirect-uri": "Redirect URI",
  "--post-logout-redirect-uri": "Post-logout redirect URI",
  "--backchannel-logout-uri": "Back-channel logout URI",
  "--minimum-acr": "Minimum sign-in level",
  "--scopes:": "Allowed scopes:",
  "--access-token-ttl": "Access token lifetime",
  "--refresh-token-ttl": "Refresh token lifetime",
  "--access-token-format": "Access token format",
  "--id-token-alg": "ID token algorithm",
  "--allowed-groups": "Allowed groups",
  "--allowed-groups:": "Allowed groups:",
  "--client-uri": "Home page",
  "--logo-uri": "Logo",
  "--policy-uri": "Privacy policy",
  "--tos-uri": "Terms of service",
};

const BY_CODE: Record<string, string> = {
  "clients.missing_redirect_uri": "Add at least one redirect URI (or make it a machine client with client credentials).",
  "clients.invalid_grant": "A public app cannot use client credentials: it has no secret.",
  "clients.public_client": "This app is public: it has no secret to rotate.",
  "clients.not_found": "There is no such app.",
};

/** A refusal of the client registry as the console words it, or null when it is not one the form should show. */
export function clientProblem(error: unknown): { message: string; canonical: string | null } | null {
  if (!(error instanceof AppError) || error.status >= 500 || !error.code.startsWith("clients.")) return null;
  const { setting, problem, canonical } = error.fields;
  const label = typeof setting === "string" ? FIELD_LABELS[setting] : undefined;
  const message = label && typeof problem === "string" ? `${label} ${problem}.` : (BY_CODE[error.code] ?? `${error.message}.`);
  return { message, canonical: typeof canonical === "string" ? canonical : null };
}
