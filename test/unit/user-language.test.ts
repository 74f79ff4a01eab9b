import { describe, expect, it } from "vitest";
import { createUserLanguage } from "../../src/users/user-language.js";

describe("a user's mail language", () => {
  const written: [string, string][] = [];
  const userLanguage = createUserLanguage({
    users: { setLanguage: async (id: string, language: string) => void written.push([id, language]) } as never,
    offered: ["en", "fr"],
    fallback: "fr",
  });

  it("is the one last used while the operator still offers it, else the default", () => {
    expect(userLanguage.of({ language: "en" })).toBe("en");
    expect(userLanguage.of({ language: "de" })).toBe("fr");
    expect(userLanguage.of({ language: "xx" })).toBe("fr");
    expect(userLanguage.of({ language: null })).toBe("fr");
    expect(userLanguage.of(null)).toBe("fr");
  });

  it("is written only when it changes", async () => {
    await userLanguage.remember({ id: "a", language: "en" }, "en");
    await userLanguage.remember({ id: "b", language: null }, "fr");
    await userLanguage.remember({ id: "c", language: "fr" }, "en");
    expect(written).toEqual([
      ["b", "fr"],
      ["c", "en"],
    ]);
  });
});
