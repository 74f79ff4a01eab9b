import type { AdapterPayload } from "oidc-provider";
import { ACR } from "../auth/assurance.js";

/**
 * The operators' console signs in through the IdP's own authorization endpoint as built-in
 * first-party clients, not stored, so operators cannot delete or weaken them:
 * - `idp-console` only learns who is there, at any level: someone who is no operator gets the
 *   console's 403 without being made to set up anything;
 * - `idp-console-passkey` has a passkey as its minimum (phishing-resistant): an operator below it
 *   steps up, or sets a passkey up inside the sign-in (the enrolment step). The console itself
 *   opens only to a session at that level.
 */
export const CONSOLE_CLIENT_ID = "idp-console";
export const CONSOLE_PASSKEY_CLIENT_ID = "idp-console-passkey";

const CONSOLE_CLIENTS: ReadonlySet<string> = new Set([CONSOLE_CLIENT_ID, CONSOLE_PASSKEY_CLIENT_ID]);
export const isConsoleClient = (clientId: unknown): boolean => typeof clientId === "string" && CONSOLE_CLIENTS.has(clientId);

export const consoleCallbackUrl = (issuer: string) => `${issuer}/admin/callback`;

function metadata(issuer: string, clientId: string, extra: Partial<AdapterPayload>): AdapterPayload {
  return {
    client_id: clientId,
    client_name: "Operators' console",
    token_endpoint_auth_method: "none",
    scope: "openid",
    grant_types: ["authorization_code"],
    response_types: ["code"],
    redirect_uris: [consoleCallbackUrl(issuer)],
    post_logout_redirect_uris: [],
    idp_first_party: true,
    ...extra,
  };
}

export const consoleClientsMetadata = (issuer: string): AdapterPayload[] => [
  metadata(issuer, CONSOLE_CLIENT_ID, {}),
  metadata(issuer, CONSOLE_PASSKEY_CLIENT_ID, { idp_minimum_acr: ACR.passkey }),
];
