import type { AdapterPayload } from "oidc-provider";
import { ACR } from "../auth/assurance.js";

/**
 * The operators' console signs in through the IdP's own authorization endpoint as a second
 * built-in first-party client. Not stored, so operators cannot delete or weaken it; its minimum is
 * a passkey (phishing-resistant): an operator without one sets one up inside the sign-in.
 */
export const CONSOLE_CLIENT_ID = "idp-console";

export const consoleCallbackUrl = (issuer: string) => `${issuer}/admin/callback`;

export function consoleClientMetadata(issuer: string): AdapterPayload {
  return {
    client_id: CONSOLE_CLIENT_ID,
    client_name: "Operators' console",
    token_endpoint_auth_method: "none",
    scope: "openid",
    grant_types: ["authorization_code"],
    response_types: ["code"],
    redirect_uris: [consoleCallbackUrl(issuer)],
    post_logout_redirect_uris: [],
    idp_first_party: true,
    idp_minimum_acr: ACR.passkey,
  };
}
