import type { ClaimOwner, CustomClaimQueries } from "../db/custom-claims.js";
import { badRequest } from "../errors.js";

const MAX_VALUE_BYTES = 4096;
const MAX_DEPTH = 8;
/** The shape CUSTOM_SCOPES allows a claim name (config.ts), declared now or not. */
const FILED_NAME = /^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Who an operator names: a person (id or email) or a group (name or id). */
export type ClaimTarget = { user: string } | { group: string };

/** What is wrong with a claim's value: `context` names it for the catalogs (errors:claims.invalid_value_<context>), `text` for the CLI. */
interface ValueProblem {
  context: string;
  text: string;
}

function valueProblem(value: unknown, depth = 0): ValueProblem | null {
  if (depth > MAX_DEPTH) return { context: "too_deep", text: `is nested deeper than ${MAX_DEPTH} levels` };
  if (typeof value === "string")
    return value.includes("\0") || LONE_SURROGATE.test(value) ? { context: "bad_text", text: "contains a NUL or an unpaired surrogate" } : null;
  if (typeof value === "number") return Number.isFinite(value) ? null : { context: "not_finite", text: "is not a finite number" };
  if (value === null || typeof value === "boolean") return null;
  if (Array.isArray(value)) return value.map((item) => valueProblem(item, depth + 1)).find(Boolean) ?? null;
  if (typeof value === "object") {
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
      // A relying party merging claims into its own objects would take this key as a prototype.
      if (key === "__proto__") return { context: "proto_key", text: 'has a "__proto__" key' };
      const problem = valueProblem(key, depth + 1) ?? valueProblem(item, depth + 1);
      if (problem) return problem;
    }
    return null;
  }
  return { context: "not_json", text: "is not a JSON value" };
}

/**
 * Custom claims filed on people and groups, under the names CUSTOM_SCOPES declares: released only
 * to apps allowed (and asking for) the scope a name is filed under.
 * @throws AppError claims.unknown_name, claims.invalid_value (and the lookups' users.not_found, groups.not_found)
 */
export function createCustomClaimService(deps: {
  queries: CustomClaimQueries;
  customScopes: Readonly<Record<string, string[]>>;
  findUser(idOrEmail: string): Promise<{ id: string }>;
  findGroup(nameOrId: string): Promise<{ id: string }>;
}) {
  const scopeOf = new Map(Object.entries(deps.customScopes).flatMap(([scope, names]) => names.map((name) => [name, scope] as const)));

  function assertName(name: string): string {
    if (scopeOf.has(name)) return name;
    const known = [...scopeOf.keys()];
    throw badRequest(
      "claims.unknown_name",
      `"${name.slice(0, 64)}" is not a custom claim: declare it under a scope in CUSTOM_SCOPES${known.length ? ` (declared: ${known.join(", ")})` : " (none declared)"}`,
      { name: name.slice(0, 64), declared: known.join(", "), ...(known.length ? {} : { context: "none_declared" }) },
    );
  }

  function assertValue(value: unknown): unknown {
    const problem = value === undefined ? { context: "missing", text: "is missing" } : valueProblem(value);
    if (problem) throw badRequest("claims.invalid_value", `the claim's value ${problem.text}`, { context: problem.context, maxDepth: MAX_DEPTH });
    if (Buffer.byteLength(JSON.stringify(value)) > MAX_VALUE_BYTES)
      throw badRequest("claims.invalid_value", `the claim's value is larger than ${MAX_VALUE_BYTES} bytes as JSON`, {
        context: "too_large",
        maxBytes: MAX_VALUE_BYTES,
      });
    return value;
  }

  async function ownerOf(target: ClaimTarget): Promise<ClaimOwner> {
    return "user" in target ? { userId: (await deps.findUser(target.user)).id } : { groupId: (await deps.findGroup(target.group)).id };
  }

  const view = async (owner: ClaimOwner) =>
    Object.fromEntries((await deps.queries.claimsOf(owner)).map((claim) => [claim.name, { value: claim.value, scope: scopeOf.get(claim.name) ?? null }]));

  return {
    /** The target's claims, with the scope each is released under (null: its name is no longer declared). */
    list: async (target: ClaimTarget) => view(await ownerOf(target)),

    async set(target: ClaimTarget, name: string, value: unknown) {
      assertName(name);
      assertValue(value);
      const owner = await ownerOf(target);
      try {
        await deps.queries.upsertClaim(owner, name, value);
      } catch (error) {
        // The person or the group was deleted between the lookup and the write: say so, as the lookup would have.
        await ownerOf(target);
        throw error;
      }
      return view(owner);
    },

    /** Also a name no longer in CUSTOM_SCOPES: what was filed under it can always be removed. */
    async unset(target: ClaimTarget, name: string) {
      if (!FILED_NAME.test(name)) assertName(name);
      const owner = await ownerOf(target);
      const removed = (await deps.queries.deleteClaim(owner, name)) > 0;
      return { removed, claims: await view(owner) };
    },
  };
}

export type CustomClaimService = ReturnType<typeof createCustomClaimService>;
