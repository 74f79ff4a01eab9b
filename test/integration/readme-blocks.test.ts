import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrowserSession, csrfTokenOf, formActionOf, type PageResponse } from "../helpers/browser-session.js";
import { runEntry } from "../helpers/cli-process.js";
import { freePort } from "../helpers/free-port.js";
import { type ServerProcess, spawnServer, stopServer, waitUntilStarted } from "../helpers/server-process.js";
import { seededDataDir } from "../helpers/test-database.js";

// README blocks marked `<!-- readme-test: NAME -->` run as a reader types them: bash -euo pipefail,
// in the project directory, the CLI as `npm run idp` forwarding to a server that holds DATA_DIR.
const ROOT = resolve(import.meta.dirname, "../..");
const README = readFileSync(join(ROOT, "README.md"), "utf8");

function blocks(name: string): string[] {
  return [...README.matchAll(/<!-- readme-test: ([a-z-]+) -->\n```sh\n([\s\S]*?)```\n/g)].filter((m) => m[1] === name).map((m) => m[2] as string);
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a script with bash; `onOutput` sees stdout as it grows and may write to stdin (the reader at the terminal). */
function runBash(
  script: string,
  env: Record<string, string>,
  { cwd = ROOT, onOutput }: { cwd?: string; onOutput?: (stdout: string, answer: (line: string) => void) => void } = {},
): Promise<Run> {
  return new Promise((done) => {
    const child = spawn("bash", ["-euo", "pipefail", "-c", script], { cwd, env: { ...process.env, LOG_LEVEL: "silent", ...env } });
    let stdout = "";
    let stderr = "";
    let answered = false;
    const answer = (line: string) => {
      if (answered) return;
      answered = true;
      child.stdin.end(line);
    };
    // A block edited so that it never prints what the reader answers: end its input, so `read` fails.
    const deadline = setTimeout(() => answer(""), 30_000);
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
      onOutput?.(stdout, (line) => answer(`${line}\n`));
    });
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("close", (code) => {
      clearTimeout(deadline);
      done({ code, stdout, stderr });
    });
    if (!onOutput) answer("");
  });
}

const EMAIL = "you@example.com";

/** What a block wrote to stderr, but for npm's own notices about the machine (an old npm, a config key). */
const complaints = (run: Run) => run.stderr.replace(/^npm (notice|warn)\b.*\n/gm, "");

/** Signs in at the printed URL as the quick start's user, like a reader clicking through; returns the callback's code. */
async function signInAt(url: string, issuer: string, password: string): Promise<URL> {
  const browser = new BrowserSession();
  let page: PageResponse = await browser.follow(url, issuer);
  for (let step = 0; step < 5 && !page.location?.startsWith("http://localhost:8080/"); step += 1) {
    const next = ["/login", "/passkey/skip", "/consent"].find((path) => page.text.includes(`${path}"`));
    if (!next) throw new Error(`unexpected page (${page.status}): ${page.text.slice(0, 300)}`);
    const action = new URL(formActionOf(page.text, next), issuer).toString();
    const fields: Record<string, string> = { _csrf: csrfTokenOf(page.text), ...(next === "/login" ? { email: EMAIL, password } : {}) };
    page = await browser.follow(action, issuer, await browser.postForm(action, fields));
  }
  if (!page.location?.startsWith("http://localhost:8080/callback?")) throw new Error(`no callback (${page.status}): ${page.text.slice(0, 300)}`);
  return new URL(page.location);
}

describe("the README's shell blocks run as written", { timeout: 120_000 }, () => {
  const dataDir = seededDataDir("idp-readme-");
  let port: number;
  let server: ServerProcess;
  let env: Record<string, string>;

  beforeAll(async () => {
    port = await freePort();
    // What `PORT=… npm start` runs: HOST and ISSUER left to their defaults (localhost).
    env = { DATA_DIR: dataDir, DATABASE_URL: "", ISSUER: "", HOST: "", PORT: String(port) };
    server = spawnServer(env);
    await waitUntilStarted(server);
  });
  afterAll(async () => {
    if (server) await stopServer(server);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("says of every shell block whether it runs, and why not", () => {
    const fences = [...README.matchAll(/^(.*)\n```sh\n/gm)].map((m) => m[1]);
    expect(fences.length).toBeGreaterThan(10);
    expect(fences.filter((line) => !/^<!-- readme-test: ([a-z-]+|not run: [^>]+) -->$/.test(line as string))).toEqual([]);
  });

  it("marks the blocks the test runs", () => {
    expect(blocks("quick-start")).toHaveLength(3);
    expect(blocks("example-consent")).toHaveLength(1);
    expect(blocks("admin-api")).toHaveLength(1);
    expect(blocks("docker-run")).toHaveLength(1);
    expect(blocks("console")).toHaveLength(1);
    expect(blocks("connect-an-application")).toHaveLength(3);
  });

  let myAppId: string;

  it("quick start: registers the app and the user, prints an authorization URL that signs in, and exchanges the pasted code", async () => {
    const script = blocks("quick-start").join("\n");
    const password = script.match(/printf '%s\\n' '([^']+)' \| npm run -s idp -- users create --email you@example\.com/)?.[1] as string;
    expect(password).toBeDefined();
    let signIn: Promise<void> | undefined;
    let callback: URL | undefined;
    let signInError: Error | undefined;
    const run = await runBash(script, env, {
      onOutput: (stdout, answer) => {
        const url = stdout.match(/^(http:\/\/localhost:\d+\/auth\?\S+)$/m)?.[1];
        if (!url || signIn) return;
        signIn = signInAt(url, `http://localhost:${port}`, password).then(
          (received) => {
            callback = received;
            answer(received.searchParams.get("code") as string);
          },
          (error: Error) => {
            signInError = error;
            answer("");
          },
        );
      },
    });
    await signIn;
    if (signInError) throw signInError;
    expect(complaints(run)).toBe("");
    expect(run.code).toBe(0);

    const lines = run.stdout.trim().split("\n");
    const [, clientId, clientSecret] = lines[0]?.match(/^client_id: (\S+) {2}client_secret: (\S+)$/) ?? [];
    expect(clientSecret).toMatch(/^[\w-]{43}$/);
    expect(lines[1]).toMatch(/^Created user you@example\.com \(id [0-9a-f-]{36}\)\.$/);
    const authorization = new URL(lines[2] as string);
    expect(authorization.origin).toBe(`http://localhost:${port}`);
    expect(authorization.searchParams.get("client_id")).toBe(clientId);
    expect(callback?.searchParams.get("state")).toBe("try-it");
    const tokens = JSON.parse(lines[3] as string) as Record<string, unknown>;
    expect(tokens).toMatchObject({ token_type: "Bearer", scope: "openid email" });
    expect(Object.keys(tokens)).toEqual(expect.arrayContaining(["access_token", "id_token", "refresh_token"]));
    myAppId = clientId as string;
  });

  it("example relying party: marks the registered example first-party", async () => {
    // What `npm run example` keeps after its first run.
    writeFileSync(join(dataDir, "example-bff-client.json"), JSON.stringify({ client_id: myAppId, client_secret: "unused" }), { mode: 0o600 });
    const run = await runBash(blocks("example-consent").join("\n"), env);
    expect(complaints(run)).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`client_id:     ${myAppId}`);
    expect(run.stdout).toContain("confidential (first party)");
  });

  it("admin API: registers the operations client, takes a token and lists the apps", async () => {
    const run = await runBash(blocks("admin-api").join("\n"), env);
    expect(complaints(run)).toBe("");
    expect(run.code).toBe(0);
    const { clients } = JSON.parse(run.stdout) as { clients: { client_id: string; client_name: string; first_party: boolean }[] };
    expect(clients.map((client) => client.client_name)).toEqual(["My app", "Operations"]);
    expect(clients.find((client) => client.client_id === myAppId)?.first_party).toBe(true);
    expect(clients.filter((client) => "client_secret" in client)).toEqual([]);
  });

  it("operators' console: makes the quick start's user an operator", async () => {
    const run = await runBash(blocks("console").join("\n"), env);
    expect(complaints(run)).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Updated user you@example\.com: .*, role operator\.$/m);
  });

  it("connect an application: registers Grafana (groups first), Nextcloud and the wiki", async () => {
    const run = await runBash(blocks("connect-an-application").join("\n"), env);
    expect(complaints(run)).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout.match(/^client_secret: [\w-]{43}$/gm)).toHaveLength(3);
    expect(run.stdout).toContain("allowed:       members of grafana-admins, grafana-editors, grafana-viewers");
  });

  it("docker run: its settings start the server in production mode, and each required one is required", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "idp-readme-docker-"));
    const prodDataDir = seededDataDir("idp-readme-prod-");
    let prod: ServerProcess | undefined;
    try {
      // A stand-in for docker: each call's arguments, NUL-separated, one call a line.
      const run = await runBash(`docker() { printf '%s\\0' "$@"; echo; }\n${blocks("docker-run").join("\n")}`, {}, { cwd });
      expect(complaints(run)).toBe("");
      expect(run.code).toBe(0);
      const calls = run.stdout
        .split("\0\n")
        .filter(Boolean)
        .map((call) => call.split("\0"));
      expect(calls[0]).toEqual(["build", "-t", "idp", "."]);
      const args = calls[1] as string[];
      expect(args[0]).toBe("run");
      expect(args.at(-1)).toBe("idp");
      const valuesOf = (flag: string) => args.flatMap((arg, i) => (args[i - 1] === flag ? [arg] : []));
      expect(valuesOf("-v")).toEqual(["idp-data:/data"]);
      expect(valuesOf("-p")).toEqual(["3000:3000"]);
      const settings = Object.fromEntries(valuesOf("-e").map((pair) => [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)]));
      expect(Object.keys(settings).sort()).toEqual(["ISSUER", "SECRET_KEY", "SMTP_URL", "TRUST_PROXY"]);
      expect(settings.SECRET_KEY).toBe(readFileSync(join(cwd, "idp-secret-key"), "utf8").trim());

      // The image's own environment (Dockerfile ENV), with this machine's DATA_DIR and a free port.
      const prodPort = await freePort();
      const image = { NODE_ENV: "production", DATA_DIR: prodDataDir, PORT: String(prodPort), HOST: "127.0.0.1", DATABASE_URL: "" };
      const [noSmtp, noProxy, noSecret] = await Promise.all(
        ["SMTP_URL", "TRUST_PROXY", "SECRET_KEY"].map((name) => runEntry("src/main.ts", [], { ...image, ...settings, [name]: "", [`${name}_FILE`]: "" })),
      );
      expect([noSmtp?.code, noProxy?.code, noSecret?.code]).toEqual([78, 78, 78]);
      expect(noSmtp?.stderr).toContain("SMTP_URL");
      expect(noProxy?.stderr).toContain("TRUST_PROXY");
      expect(noSecret?.stderr).toContain("SECRET_KEY");

      prod = spawnServer({ ...image, ...settings });
      await waitUntilStarted(prod);
      // fetch sets Host itself; the proxy may name the browser's host in X-Forwarded-Host instead.
      const proxied = { "x-forwarded-proto": "https", "x-forwarded-host": new URL(settings.ISSUER as string).host };
      const health = await fetch(`http://127.0.0.1:${prodPort}/healthz`, { headers: { "x-forwarded-proto": "https" } });
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: "ok" });
      const discovery = await fetch(`http://127.0.0.1:${prodPort}/.well-known/openid-configuration`, { headers: proxied });
      expect(discovery.status).toBe(200);
      expect(((await discovery.json()) as { issuer: string }).issuer).toBe(settings.ISSUER);
      const signInPage = await fetch(`http://127.0.0.1:${prodPort}/account`, { headers: proxied, redirect: "manual" });
      expect(signInPage.status).toBeLessThan(500);
    } finally {
      if (prod) await stopServer(prod);
      rmSync(cwd, { recursive: true, force: true });
      rmSync(prodDataDir, { recursive: true, force: true });
    }
  });
});
