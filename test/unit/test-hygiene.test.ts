import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const TEST_ROOT = resolve(import.meta.dirname, "..");
// The timers allowed: deadlines of waits on spawned processes (a server's start-up line, a README
// block's prompt), which end a test that would otherwise hang; neither waits for time to pass.
const ALLOWED = new Set(["helpers/server-process.ts", "integration/readme-blocks.test.ts"]);
// Waiting for time to pass instead of moving the clock (movable-clock.ts) or waiting for an event.
const WAITS = /\b(setTimeout|setInterval|sleep|waitForTimeout)\s*\(/;

function sourcesUnder(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return sourcesUnder(path);
    return /\.(ts|mjs|js)$/.test(entry.name) ? [path] : [];
  });
}

// Issue #12: a suite that sleeps through lifetimes is slow, and flaky on a loaded machine.
describe("the test suite", () => {
  it("waits for events or moves the clock, never for time to pass", () => {
    const offenders = sourcesUnder(TEST_ROOT)
      .map((path) => relative(TEST_ROOT, path))
      .filter((path) => !ALLOWED.has(path) && path !== "unit/test-hygiene.test.ts")
      .flatMap((path) =>
        readFileSync(join(TEST_ROOT, path), "utf8")
          .split("\n")
          .flatMap((line, index) => (WAITS.test(line) ? [`${path}:${index + 1}: ${line.trim()}`] : [])),
      );
    expect(offenders).toEqual([]);
  });
});
