// Imports nothing: the entry points run this before anything else loads. On an older Node the
// first sign of trouble is otherwise a segfault (exit 139) while argon2's native addon loads,
// after nothing but oidc-provider's "Unsupported runtime" warning.

/**
 * The Node.js releases the server and the CLI run on, as package.json's `engines` says (a test
 * holds them equal). argon2 0.45's prebuilt addon declares Node-API 10, which Node has from 22.14.0
 * on the 22 line; Node 22.13 and 20 crash loading it. Prisma 7 supports `^22.12 || >=24`, and
 * oidc-provider 9 LTS lines only, so 23 is left out.
 */
export const SUPPORTED_NODE_RANGE = "^22.14.0 || >=24";
const OLDEST_22 = [22, 14, 0];
const FIRST_AFTER_22 = 24;

/** The exit code of a Node.js not supported, the one configuration errors use (EX_CONFIG). */
export const UNSUPPORTED_NODE_EXIT_CODE = 78;

/** Whether `running` (`process.versions.node`, e.g. "20.20.2") is in SUPPORTED_NODE_RANGE. */
export function isSupportedNode(running: string): boolean {
  const parts = running.split(".").map((part) => Number.parseInt(part, 10));
  if (parts.length < 3 || parts.some(Number.isNaN)) return false;
  const [major = 0, minor = 0, patch = 0] = parts;
  if (major >= FIRST_AFTER_22) return true;
  if (major !== 22) return false;
  const [, oldestMinor = 0, oldestPatch = 0] = OLDEST_22;
  return minor > oldestMinor || (minor === oldestMinor && patch >= oldestPatch);
}

export function unsupportedNodeMessage(running: string): string {
  return (
    `Node.js ${running} is not supported: passkey-idp needs Node.js 22.14 or later on the 22 line, or 24 or later (24 LTS recommended). ` +
    "`npm start` and `npm run idp` run on the Node 24 that `npm install` puts in node_modules/.bin (node_modules/.bin/node)."
  );
}

/** Exits with a message naming the running version and the supported ones when it is not supported. */
export function exitUnlessSupportedNode(running = process.versions.node): void {
  if (isSupportedNode(running)) return;
  process.stderr.write(`${unsupportedNodeMessage(running)}\n`);
  process.exit(UNSUPPORTED_NODE_EXIT_CODE);
}
