import type { Context } from "koa";
import { ceremonyAppFor } from "../oidc/approved-key-rule.js";
import type { CeremonyApp } from "../webauthn/passkey-service.js";
import type { InteractionDependencies } from "./routes.js";
import { interactionOf } from "./step-machine.js";

/** The app this interaction signs in to, as the passkey policy (issue #16) sees it. */
export async function ceremonyAppOf(deps: Pick<InteractionDependencies, "provider" | "globalMinimumAcr">, ctx: Context): Promise<CeremonyApp> {
  const client = await deps.provider.Client.find(String(interactionOf(ctx).details.params.client_id));
  return ceremonyAppFor(client, deps.globalMinimumAcr);
}
