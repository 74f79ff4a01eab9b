// Imports nothing: the entry points run this before anything else loads. On an older Node the
// first sign of trouble is otherwise a segfault (exit 139) while argon2's native addon loads,
// after nothing but oidc-provider's "Unsupported runtime" warning.

/**
 * The oldest Node.js the server and the CLI run on, as package.json's `engines` says (a test holds
 * them equal): oidc-provider 9 wants the 22 LTS line, Prisma 7 wants 22.12 or later on it.
 */
export const MINIMUM_NODE_VERSION = "22.12.0";

/** The exit code of a Node.js too old, the one configuration errors use (EX_CONFIG). */
export const UNSUPPORTED_NODE_EXIT_CODE = 78;

const parts = (version: string) => version.split(".").map((part) => Number.parseInt(part, 10));

/** Whether `running` (`process.versions.node`, e.g. "20.20.2") is at least `minimum`. */
export function isSupportedNode(running: string, minimum = MINIMUM_NODE_VERSION): boolean {
  const [have, want] = [parts(running), parts(minimum)];
  for (let index = 0; index < want.length; index += 1) {
    const difference = (have[index] ?? 0) - (want[index] ?? 0);
    if (Number.isNaN(difference)) return false;
    if (difference !== 0) return difference > 0;
  }
  return true;
}

export function unsupportedNodeMessage(running: string, minimum = MINIMUM_NODE_VERSION): string {
  return (
    `Node.js ${running} is not supported: passkey-idp needs Node.js ${minimum} or later (24 LTS recommended). ` +
    "`npm start` and `npm run idp` run on the Node 24 that `npm install` puts in node_modules/.bin (node_modules/.bin/node)."
  );
}

/** Exits with a message naming both versions when the running Node.js is too old. */
export function exitUnlessSupportedNode(running = process.versions.node): void {
  if (isSupportedNode(running)) return;
  process.stderr.write(`${unsupportedNodeMessage(running)}\n`);
  process.exit(UNSUPPORTED_NODE_EXIT_CODE);
}
