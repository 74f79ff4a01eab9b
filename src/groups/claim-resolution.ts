export interface FiledClaim {
  name: string;
  value: unknown;
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * A person's custom claims: from their groups (in name order), then their own. A claim several
 * groups give as JSON arrays is their union (first seen first), not the last group's list; any
 * other value comes from the first group (by name) that has it. The person's own value wins over all.
 */
export function resolveCustomClaims(own: readonly FiledClaim[], groups: readonly { name: string; claims: readonly FiledClaim[] }[]): Record<string, unknown> {
  const resolved = new Map<string, unknown>();
  for (const group of [...groups].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    for (const { name, value } of group.claims) {
      if (!resolved.has(name)) {
        resolved.set(name, value);
        continue;
      }
      const earlier = resolved.get(name);
      if (Array.isArray(earlier) && Array.isArray(value)) {
        resolved.set(name, [...earlier, ...value.filter((item) => !earlier.some((kept) => sameJson(kept, item)))]);
      }
    }
  }
  for (const { name, value } of own) resolved.set(name, value);
  return Object.fromEntries(resolved);
}
