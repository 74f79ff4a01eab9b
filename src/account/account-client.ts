import type { AdapterPayload } from "oidc-provider";

/**
 * The account pages sign people in through the IdP's own authorization endpoint, as a built-in
 * first-party public client: every sign-in, step-up and fresh-verification rule applies to them
 * exactly as to any application. Not stored, so operators cannot delete or change it.
 */
export const ACCOUNT_CLIENT_ID = "idp-account";

export const accountCallbackUrl = (issuer: string) => `${issuer}/account/callback`;

export function accountClientMetadata(issuer: string): AdapterPayload {
  return {
    client_id: ACCOUNT_CLIENT_ID,
    client_name: "Your account",
    token_endpoint_auth_method: "none",
    scope: "openid",
    grant_types: ["authorization_code"],
    response_types: ["code"],
    redirect_uris: [accountCallbackUrl(issuer)],
    post_logout_redirect_uris: [],
    idp_first_party: true,
  };
}
