import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { isSupportedNode, SUPPORTED_NODE_RANGE, UNSUPPORTED_NODE_EXIT_CODE } from "../../src/node-version.js";
import { runEntry, runRecordingModules } from "../helpers/cli-process.js";

const ROOT = resolve(import.meta.dirname, "../..");
const ENTRIES = [
  { entry: "src/main.ts", args: [], guard: ["main.ts", "node-version.ts"] },
  { entry: "src/cli/main.ts", args: ["users", "list"], guard: ["cli/main.ts", "node-version.ts"] },
];
// The machine's own Node (v20 on the project's machines), on which argon2's addon segfaults.
const SYSTEM_NODE = "/usr/bin/node";
const systemNodeVersion = existsSync(SYSTEM_NODE) ? execFileSync(SYSTEM_NODE, ["-p", "process.versions.node"], { encoding: "utf8" }).trim() : null;
const systemNodeTooOld = systemNodeVersion !== null && !isSupportedNode(systemNodeVersion);
// Should the guard let the entry through, an invalid configuration ends it at once (nothing listens or opens ./data).
const UNUSABLE = { ISSUER: "not a url", DATA_DIR: join(tmpdir(), "idp-node-version-never-created", "data") };

describe("the Node.js version guard", () => {
  it("takes 22.14 or later on the 22 line, and 24 or later", () => {
    for (const version of ["20.20.2", "22.13.1", "22.12.0", "22.9.30", "23.6.0", "21.99.0", "8.0.0", "24", "not a version"])
      expect(isSupportedNode(version), version).toBe(false);
    for (const version of ["22.14.0", "22.14.1", "22.21.0", "24.0.0", "24.21.0", "25.2.1", "100.0.0"]) expect(isSupportedNode(version), version).toBe(true);
  });

  it("holds the range package.json's engines names", () => {
    const { engines } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { engines: { node: string } };
    expect(engines.node).toBe(SUPPORTED_NODE_RANGE);
  });

  it.each(ENTRIES)("stops $entry on an older Node before anything but the guard loads", async ({ entry, args, guard }) => {
    const result = await runRecordingModules(entry, args, { ...UNUSABLE, PRETEND_NODE_VERSION: "20.20.2" }, ["./test/helpers/pretend-node-version.ts"]);
    expect(result.code).toBe(UNSUPPORTED_NODE_EXIT_CODE);
    expect(result.stderr).toContain("Node.js 20.20.2 is not supported: passkey-idp needs Node.js 22.14 or later on the 22 line, or 24 or later");
    expect(result.stdout).toBe("");
    expect(result.dependencies).toEqual([]);
    expect(result.sources.sort()).toEqual(guard);
  });

  it.skipIf(!systemNodeTooOld).each(ENTRIES)(
    `stops $entry on the machine's Node ${systemNodeVersion} with the message, not a segfault`,
    async ({ entry, args }) => {
      const result = await runEntry(entry, args, UNUSABLE, { node: SYSTEM_NODE });
      expect(result.code).toBe(UNSUPPORTED_NODE_EXIT_CODE);
      expect(result.stderr).toContain(`Node.js ${systemNodeVersion} is not supported`);
      expect(result.stderr).not.toContain("Unsupported runtime");
    },
  );
});
