import { describe, expect, it } from "vitest";
import { resolveCustomClaims } from "../../src/groups/claim-resolution.js";

describe("resolving a person's custom claims", () => {
  it("merges JSON arrays across groups (union, first seen first) instead of keeping one group's list", () => {
    const groups = [
      { name: "ops", claims: [{ name: "roles", value: ["deploy", "read"] }] },
      { name: "dev", claims: [{ name: "roles", value: ["read", "write", { scoped: true }] }] },
      { name: "qa", claims: [{ name: "roles", value: [{ scoped: true }, "test"] }] },
    ];
    expect(resolveCustomClaims([], groups)).toEqual({ roles: ["read", "write", { scoped: true }, "deploy", "test"] });
  });

  it("takes any other value from the first group by name, whatever order the groups came in", () => {
    const groups = [
      { name: "zeta", claims: [{ name: "quota", value: "1 GB" }] },
      {
        name: "alpha",
        claims: [
          { name: "quota", value: "5 GB" },
          { name: "tier", value: 2 },
        ],
      },
      { name: "mid", claims: [{ name: "tier", value: ["not", "merged", "into", "a", "number"] }] },
    ];
    expect(resolveCustomClaims([], groups)).toEqual({ quota: "5 GB", tier: 2 });
  });

  it("lets the person's own value override every group's, arrays included", () => {
    const groups = [
      {
        name: "a",
        claims: [
          { name: "roles", value: ["x"] },
          { name: "quota", value: "1 GB" },
        ],
      },
      { name: "b", claims: [{ name: "roles", value: ["y"] }] },
    ];
    expect(
      resolveCustomClaims(
        [
          { name: "roles", value: ["mine"] },
          { name: "quota", value: null },
        ],
        groups,
      ),
    ).toEqual({ roles: ["mine"], quota: null });
    expect(resolveCustomClaims([{ name: "solo", value: { a: 1 } }], [])).toEqual({ solo: { a: 1 } });
  });
});
