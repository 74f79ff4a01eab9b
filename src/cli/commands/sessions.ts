import type { Services } from "../../services.js";
import { cliActor } from "../actor.js";
import { parseOptions, printResult } from "../args.js";
import { type CommandIo, UsageError } from "../io.js";

export const SESSIONS_USAGE = `sessions revoke --user ID_OR_EMAIL [--json]   (ends every session and revokes every grant and token of the user)`;

export async function sessionsCommand(args: string[], io: CommandIo, { administration }: Services): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== "revoke") throw new UsageError(sub ? `unknown command "sessions ${sub}"` : "sessions needs a command");
  const { values } = parseOptions(rest, { user: { type: "string" }, json: { type: "boolean" } });
  if (!values.user) throw new UsageError("--user is required");
  const { user, removed } = await administration(cliActor()).users.signOut(values.user);
  printResult(
    io,
    values.json ?? false,
    { user_id: user.id, email: user.email, removed },
    `Signed ${user.email} out everywhere (${removed} sessions, grants and tokens).`,
  );
  return 0;
}
