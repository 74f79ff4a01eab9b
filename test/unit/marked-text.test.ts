import { describe, expect, it } from "vitest";
import { markedText } from "../../src/console/marked-text.js";
import { loadCatalogs } from "../../src/i18n/catalogs.js";

const t = loadCatalogs().translator("de");

describe("a translated sentence with marked values", () => {
  it("wraps each value in its element and escapes the values, whatever they hold", () => {
    expect(markedText(t, "console:app.deleteIntro", { name: { strong: '<img src=x onerror="alert(1)">' }, clientId: { code: "a&b" } })).toBe(
      "Wenn Sie <strong>&#60;img src=x onerror=&#34;alert(1)&#34;&#62;</strong> (<code>a&#38;b</code>) löschen, werden alle für sie ausgestellten Tokens widerrufen, und sie kann niemanden mehr anmelden.",
    );
  });

  it("takes a value that looks like another value's slot as text, and chooses the plural by count", () => {
    expect(markedText(t, "console:group.deleteIntro", { name: { strong: "\uE0001\uE001" }, count: 2 })).toBe(
      "Wenn Sie die Gruppe <strong>\uE0001\uE001</strong> löschen, werden ihre 2 Mitgliedschaften entfernt; die Personen bleiben.",
    );
    expect(markedText(t, "console:group.deleteIntro", { name: { strong: "team" }, count: 1 })).toContain("wird 1 Mitgliedschaft entfernt");
  });
});
