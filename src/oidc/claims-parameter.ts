import { type ClaimsParameter, type Client, errors, type KoaContextWithOIDC } from "oidc-provider";
import { jsonProblem } from "../http/input-text.js";

/** oidc-provider's `claims` configuration: a scope names its claims; a standalone claim is null. */
export type ClaimsConfiguration = Readonly<Record<string, readonly string[] | null>>;

/** Claims about the sign-in, not the user (the ones oidc-provider never lets a grant withhold). */
const SIGN_IN_CLAIMS = ["sub", "sid", "auth_time", "acr", "amr", "iss"];

type Container = NonNullable<ClaimsParameter["id_token"]>;

/** The claims a client may receive: those of the scopes it is allowed (all of them if it names none), and the sign-in claims. */
export function claimsCoveredBy(allowedScopes: string | undefined, claims: ClaimsConfiguration): Set<string> {
  const scopes = allowedScopes === undefined ? Object.keys(claims) : allowedScopes.split(" ");
  const covered = new Set(SIGN_IN_CLAIMS);
  for (const scope of scopes) for (const claim of claims[scope] ?? []) covered.add(claim);
  return covered;
}

/** The request with, in `id_token` and `userinfo`, only the members `covered` names. */
export function narrowClaimsRequest(request: ClaimsParameter, covered: ReadonlySet<string>): ClaimsParameter {
  const narrow = (container: Container | undefined) =>
    container === undefined ? undefined : Object.fromEntries(Object.entries(container).filter(([claim]) => covered.has(claim)));
  return { ...request, id_token: narrow(request.id_token), userinfo: narrow(request.userinfo) };
}

/**
 * `features.claimsParameter.assertClaimsParameter`: oidc-provider's check of each member, then the
 * request (query or request object) is narrowed to what the client's allowed scopes cover, before
 * consent, the grant or any token reads it. A client limited to `openid` cannot get `email` by
 * naming it in `claims` (scope bypass); the rest is dropped silently, as unknown scopes are.
 */
export function restrictClaimsParameter(claims: ClaimsConfiguration) {
  return (ctx: KoaContextWithOIDC, request: ClaimsParameter, client: Client) => {
    // Stored with the interaction: a JSON escape such as "\u0000" or "\ud800" the database cannot hold is the client's error, not a 500 later.
    const problem = jsonProblem(JSON.stringify(request));
    if (problem) throw new errors.InvalidRequest(`claims ${problem}`);
    for (const container of ["userinfo", "id_token"] as const) {
      for (const member of Object.values(request[container] ?? {})) {
        if (member !== null && (typeof member !== "object" || Array.isArray(member))) {
          throw new errors.InvalidRequest(`claims.${container} members must be null or objects`);
        }
      }
    }
    const params = ctx.oidc.params as { claims?: string };
    params.claims = JSON.stringify(narrowClaimsRequest(request, claimsCoveredBy(client.scope, claims)));
  };
}
