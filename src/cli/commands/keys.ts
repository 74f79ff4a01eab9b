import type { Services } from "../../services.js";
import { parseOptions, printResult } from "../args.js";
import { type CommandIo, UsageError } from "../io.js";

export const KEYS_USAGE = `keys list [--json]
keys rotate [--json]`;

export async function keysCommand(args: string[], io: CommandIo, { signingKeys }: Services): Promise<number> {
  const [sub, ...rest] = args;
  const { values } = parseOptions(rest, { json: { type: "boolean" } });
  switch (sub) {
    case "list": {
      const keys = await signingKeys.list();
      const human = keys
        .map(
          (key) =>
            `${key.kid}  ${key.alg}  ${key.status}  created ${key.created_at}${key.status === "pending" ? `  signs from ${key.activates_at}` : ""}${key.published_until ? `  published until ${key.published_until}` : ""}`,
        )
        .join("\n");
      printResult(io, values.json ?? false, keys, human || "No signing keys yet; they are created on first start.");
      return 0;
    }
    case "rotate": {
      const keys = await signingKeys.rotate();
      const human = [
        ...keys.map((key) => `New ${key.alg} key ${key.kid}: published now on every server, signing from ${key.activates_at}`),
        "The previous keys sign until then, then stay published for verification until their grace period ends. No restart is needed.",
      ].join("\n");
      printResult(io, values.json ?? false, keys, human);
      return 0;
    }
    default:
      throw new UsageError(sub ? `unknown command "keys ${sub}"` : "keys needs a command");
  }
}
