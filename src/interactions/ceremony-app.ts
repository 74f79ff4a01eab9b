import type { Context } from "koa";
import { ACR, rankOf } from "../auth/assurance.js";
import { isConsoleClient } from "../console/console-client.js";
import type { CeremonyApp } from "../webauthn/passkey-service.js";
import { requirementOf } from "./requirement.js";
import type { InteractionDependencies } from "./routes.js";
import { interactionOf } from "./step-machine.js";

/** The app this interaction signs in to, as the passkey policy (issue #16) sees it. */
export async function ceremonyAppOf(deps: Pick<InteractionDependencies, "provider" | "globalMinimumAcr">, ctx: Context): Promise<CeremonyApp> {
  const { details } = interactionOf(ctx);
  const requirement = await requirementOf(deps, details);
  return { passkeyApp: requirement.policyRank >= rankOf(ACR.passkey), console: isConsoleClient(details.params.client_id) };
}
