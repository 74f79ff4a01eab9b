import type Provider from "oidc-provider";
import { acrRequestOf, claimsAcrOf, requiredRank } from "../auth/acr-request.js";
import { lowestRequestedRank } from "../auth/assurance.js";
import { minimumRankOf } from "../oidc/client-setting.js";
import type { InteractionDetails } from "./interaction.js";
import { type Requirement, UNREACHABLE } from "./next-step.js";

/** What this authorization requires: the operator's minimums (global and the client's) and the relying party's request. */
export async function requirementOf(deps: { provider: Provider; globalMinimumAcr: string | null }, details: InteractionDetails): Promise<Requirement> {
  const client = await deps.provider.Client.find(String(details.params.client_id));
  const policyRank = minimumRankOf(client, deps.globalMinimumAcr);
  const request = acrRequestOf(details.params.acr_values, claimsAcrOf(details.params.claims));
  // An essential request naming only values we do not issue can never be met.
  if (request.essential && lowestRequestedRank(request.values) === 0) return { rank: UNREACHABLE, mustMeet: true, policyRank };
  const rank = Math.max(policyRank, requiredRank(request, undefined));
  return { rank, mustMeet: request.essential || policyRank > 0, policyRank };
}
