import { describe, expect, it } from "vitest";
import { code, escapeHtml, htmlText, SafeHtml, strong } from "../../src/http/html-text.js";
import { loadCatalogs } from "../../src/i18n/catalogs.js";

const t = loadCatalogs().translator("de");
const HOSTILE = '<img src=x onerror="alert(1)">';

describe("a translated sentence as HTML", () => {
  it("keeps the catalog's markup and escapes every string value, whatever it holds", () => {
    expect(htmlText(t, "sign-in:reverify.intro", { email: HOSTILE })).toContain("<strong>&#60;img src=x onerror=&#34;alert(1)&#34;&#62;</strong>");
    expect(htmlText(t, "console:app.deleteIntro", { name: strong(HOSTILE), clientId: code("a&b") })).toBe(
      "Wenn Sie <strong>&#60;img src=x onerror=&#34;alert(1)&#34;&#62;</strong> (<code>a&#38;b</code>) löschen, werden alle für sie ausgestellten Tokens widerrufen, und sie kann niemanden mehr anmelden.",
    );
  });

  it("puts markup made here in as it is, takes nested-translation syntax in a value as text, and chooses the plural by count", () => {
    const time = new SafeHtml('<time datetime="2026-12-01T20:03:00.000Z" data-local-time>1. Dez. 2026, 20:03 UTC</time>');
    expect(htmlText(t, "recovery:recover.waitUntil", { from: time })).toContain(time.html);
    expect(htmlText(t, "console:group.deleteIntro", { name: strong("$t(common:signIn)"), count: 2 })).toContain(
      "<strong>$t(common:signIn)</strong> löschen, werden ihre 2 Mitgliedschaften",
    );
    expect(htmlText(t, "console:group.deleteIntro", { name: strong("team"), count: 1 })).toContain("wird 1 Mitgliedschaft entfernt");
    expect(escapeHtml(`&<>"'`)).toBe("&#38;&#60;&#62;&#34;&#39;");
  });
});
