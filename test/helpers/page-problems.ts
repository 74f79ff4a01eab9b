import type axe from "axe-core";
import type { Page } from "playwright-core";

interface Violation {
  id: string;
  impact: string | null | undefined;
  nodes: string[];
}

/**
 * What is wrong with the page as it is laid out now (axe-core already injected: `page.evaluate(axe.source)`):
 * wider than the viewport, table headings broken mid-word, axe-core violations. Each problem names `where`.
 */
export async function pageProblems(page: Page, where: string): Promise<string[]> {
  const problems: string[] = [];
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth }));
  if (scrollWidth > innerWidth) problems.push(`${where}: ${scrollWidth}px wide`);
  // A table squeezed into a phone's width breaks its headings' words (more lines than words): it must scroll in its own box instead.
  const squeezed = await page.$$eval("th", (cells) =>
    cells
      .filter((cell) => {
        const range = document.createRange();
        range.selectNodeContents(cell);
        const lines = new Set(Array.from(range.getClientRects(), (rect) => Math.round(rect.top))).size;
        return lines > (cell.textContent ?? "").trim().split(/\s+/).length;
      })
      .map((cell) => cell.textContent),
  );
  if (squeezed.length > 0) problems.push(`${where}: table headings broken mid-word: ${squeezed.join(", ")}`);
  const violations: Violation[] = await page.evaluate(async () => {
    const results = await (window as unknown as { axe: typeof axe }).axe.run(document, { resultTypes: ["violations"] });
    return results.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      nodes: v.nodes.map((node) => `${node.target.join(" ")}: ${node.failureSummary}`),
    }));
  });
  for (const v of violations) problems.push(`${where}: ${v.id} [${v.impact}] ${v.nodes.join(" | ")}`);
  return problems;
}
