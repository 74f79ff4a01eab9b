import type { KoaContextWithOIDC } from "oidc-provider";
import { ACR, rankOf } from "../auth/assurance.js";
import { isConsoleClient } from "../console/console-client.js";
import { coversSignIn, type PasskeyPolicy } from "../webauthn/passkey-policy.js";
import { minimumRankOf } from "./client-setting.js";

/**
 * Whether the passkey policy (issue #16) covers an authorization: the same scope the interaction's
 * passkey ceremonies use (src/interactions/ceremony-app.ts), read from the authorization request.
 */
export function approvedKeyRule(deps: { policy: PasskeyPolicy; globalMinimumAcr: string | null; isOperator(userId: string): Promise<boolean> }) {
  const { policy } = deps;
  return async (ctx: KoaContextWithOIDC, userId: string): Promise<boolean> => {
    if (policy.attestation === "none") return false;
    const { client } = ctx.oidc;
    return coversSignIn(policy, {
      operator: policy.appliesTo === "operators" && (await deps.isOperator(userId)),
      passkeyApp: minimumRankOf(client, deps.globalMinimumAcr) >= rankOf(ACR.passkey),
      console: isConsoleClient(client?.clientId),
    });
  };
}
