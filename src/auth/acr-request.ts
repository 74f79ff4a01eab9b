import { lowestRequestedRank, rankOf } from "./assurance.js";

export interface AcrRequest {
  /** Requested `acr` values, most preferred first. */
  values: string[];
  /** From the claims parameter with `essential: true`: a lower level must not be returned. */
  essential: boolean;
}

/**
 * What a relying party asked for: the claims parameter's `id_token.acr` (`value`/`values`, maybe
 * essential) wins over `acr_values` (always voluntary, OIDC Core §3.1.2.1).
 */
export function acrRequestOf(acrValues: unknown, claimsAcr: unknown): AcrRequest {
  const claim = typeof claimsAcr === "object" && claimsAcr !== null ? (claimsAcr as { essential?: unknown; value?: unknown; values?: unknown }) : null;
  const fromClaim = Array.isArray(claim?.values) ? claim.values : typeof claim?.value === "string" ? [claim.value] : [];
  const claimValues = fromClaim.filter((value): value is string => typeof value === "string");
  if (claimValues.length > 0) return { values: claimValues, essential: claim?.essential === true };
  const values = typeof acrValues === "string" ? acrValues.split(" ").filter(Boolean) : [];
  return { values, essential: false };
}

/** The `acr` request inside the claims parameter as oidc-provider's interaction details carry it (a JSON string). */
export function claimsAcrOf(claimsParam: unknown): unknown {
  if (typeof claimsParam !== "string") return undefined;
  try {
    return (JSON.parse(claimsParam) as { id_token?: { acr?: unknown } }).id_token?.acr;
  } catch {
    return undefined;
  }
}

/** The rank a sign-in must reach: the client's minimum, and the lowest requested level (any requested one will do). */
export function requiredRank(request: AcrRequest, clientMinimumAcr: string | undefined): number {
  return Math.max(rankOf(clientMinimumAcr), lowestRequestedRank(request.values));
}
