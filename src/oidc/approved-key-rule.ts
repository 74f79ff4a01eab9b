import type { KoaContextWithOIDC } from "oidc-provider";
import { ACR, rankOf } from "../auth/assurance.js";
import { isConsoleClient } from "../console/console-client.js";
import { coversSignIn, type PasskeyPolicy } from "../webauthn/passkey-policy.js";
import type { CeremonyApp } from "../webauthn/passkey-service.js";
import { minimumRankOf } from "./client-setting.js";

/** The app a sign-in is for, as the passkey policy (issue #16) sees it: a passkey minimum, the console. */
export function ceremonyAppFor(client: { clientId?: string } | undefined | null, globalMinimumAcr: string | null): CeremonyApp {
  return { passkeyApp: minimumRankOf(client, globalMinimumAcr) >= rankOf(ACR.passkey), console: isConsoleClient(client?.clientId) };
}

/**
 * Whether the passkey policy covers an authorization: the same scope the interaction's passkey
 * ceremonies use (src/interactions/ceremony-app.ts), read from the authorization request.
 */
export function approvedKeyRule(deps: { policy: PasskeyPolicy; globalMinimumAcr: string | null; isOperator(userId: string): Promise<boolean> }) {
  const { policy } = deps;
  return async (ctx: KoaContextWithOIDC, userId: string): Promise<boolean> => {
    if (policy.attestation === "none") return false;
    return coversSignIn(policy, {
      operator: policy.appliesTo === "operators" && (await deps.isOperator(userId)),
      ...ceremonyAppFor(ctx.oidc.client, deps.globalMinimumAcr),
    });
  };
}
