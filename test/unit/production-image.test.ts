import { execFile } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const run = promisify(execFile);
const DOCKERFILE = readFileSync(join(ROOT, "Dockerfile"), "utf8").replace(/\\\n/g, " ");
const PACKAGE = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string> };
// Build tools that must not ship: the Prisma CLI and what it brings, the compiler, `npm start`'s Node 24.
const BUILD_TOOLS = ["prisma", "@prisma/engines", "@prisma/dev", "@prisma/studio-core", "effect", "typescript", "node", "tsx", "vitest"];
// Optional run-time packages that `--omit=optional` leaves out, and why nothing needs them.
const OMITTED_OPTIONAL: Record<string, string> = { "pg-cloudflare": "pg loads it only on Cloudflare Workers" };

/** Every command of the Dockerfile's RUN instructions, as words. */
const RUN_COMMANDS = DOCKERFILE.split("\n")
  .filter((line) => line.startsWith("RUN "))
  .flatMap((line) => line.slice(4).split("&&"))
  .map((command) => command.trim().split(/\s+/));
const NPM_CI = RUN_COMMANDS.filter(([tool, verb]) => tool === "npm" && verb === "ci");
const PRODUCTION_INSTALL = NPM_CI.find((command) => command.includes("--omit=dev"));

// npm variables of an `npm test` run (its `--omit`, `--include` …) would change what the install plans.
const npmEnv = () => Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith("npm_")));

describe("the Docker image", () => {
  let directory: string;
  let installed: string[];

  beforeAll(async () => {
    // The image's own install command, planned (not run) from package.json and the lockfile alone: no network.
    directory = mkdtempSync(join(tmpdir(), "idp-image-modules-"));
    for (const file of ["package.json", "package-lock.json"]) copyFileSync(join(ROOT, file), join(directory, file));
    const { stdout } = await run("npm", [...(PRODUCTION_INSTALL ?? []).slice(1), "--dry-run", "--offline"], { cwd: directory, env: npmEnv() });
    installed = [...stdout.matchAll(/^add (\S+) /gm)].map((match) => match[1] as string);
  });
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it("installs its production node_modules with npm ci, run-time packages only", () => {
    expect(PRODUCTION_INSTALL, "a `RUN … npm ci --omit=dev …` in the Dockerfile").toBeDefined();
    expect(installed.length).toBeGreaterThan(100);
    expect(Object.keys(PACKAGE.dependencies).filter((name) => !installed.includes(name))).toEqual([]);
    expect(BUILD_TOOLS.filter((name) => installed.includes(name))).toEqual([]);
  });

  it("leaves out no optional package the run time needs", () => {
    // `--omit=optional` drops these as well as the dev packages npm marks devOptional.
    const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as {
      packages: Record<string, { optional?: boolean; dev?: boolean; devOptional?: boolean }>;
    };
    const runTimeOptional = Object.entries(lock.packages)
      .filter(([, entry]) => entry.optional && !entry.dev && !entry.devOptional)
      .map(([path]) => path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length));
    expect(PRODUCTION_INSTALL).toContain("--omit=optional");
    expect(runTimeOptional.filter((name) => !(name in OMITTED_OPTIONAL))).toEqual([]);
  });

  it("runs no install scripts: the `node` dev dependency's preinstall would download a second Node", () => {
    expect(NPM_CI.length).toBeGreaterThan(0);
    expect(NPM_CI.filter((command) => !command.includes("--ignore-scripts")).map((command) => command.join(" "))).toEqual([]);
  });

  it("checks health on the port PORT names", async () => {
    const match = /^HEALTHCHECK .*?CMD (\[.*\])$/m.exec(DOCKERFILE);
    expect(match, "a HEALTHCHECK … CMD [exec form]").not.toBeNull();
    const [binary, ...args] = JSON.parse(match?.[1] ?? "[]") as string[];
    expect(binary).toBe("node");
    const healthcheck = (port: number) =>
      run(process.execPath, args, { env: { ...process.env, PORT: String(port) } }).then(
        () => 0,
        (error: { code: number }) => error.code,
      );
    let status = 200;
    const server = createServer((request, response) => response.writeHead(request.url === "/healthz" ? status : 404).end());
    await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
    const { port } = server.address() as AddressInfo;
    try {
      expect(await healthcheck(port)).toBe(0);
      status = 503;
      expect(await healthcheck(port)).toBe(1);
    } finally {
      await new Promise((closed) => server.close(closed));
    }
    expect(await healthcheck(port)).toBe(1);
  });
});
