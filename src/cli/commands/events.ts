import type { Services } from "../../services.js";
import { parseOptions, printResult } from "../args.js";
import { type CommandIo, UsageError } from "../io.js";

export const EVENTS_USAGE = `events list [--user ID_OR_EMAIL] [--type PREFIX] [--since ISO_TIME] [--limit N] [--json]
                                (security events, newest first; --type mfa. or sign_in, for example)
events audit [--actor ACTOR] [--action PREFIX] [--target ID] [--since ISO_TIME] [--limit N] [--json]
                                (operators' changes through the admin API and the CLI, with before/after)`;

const MAX_LIMIT = 1000;

function limitAndSince(values: { limit?: string; since?: string }) {
  const limit = values.limit === undefined ? 100 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT)
    throw new UsageError(`--limit must be a whole number from 1 to ${MAX_LIMIT} (got "${String(values.limit).slice(0, 40)}")`);
  const since = values.since === undefined ? undefined : new Date(values.since);
  if (since && Number.isNaN(since.getTime())) throw new UsageError(`--since must be a time such as 2026-11-23T10:00:00Z (got "${values.since}")`);
  return { limit, since };
}

const common = { since: { type: "string" }, limit: { type: "string" }, json: { type: "boolean" } } as const;

export async function eventsCommand(args: string[], io: CommandIo, { events, audit, userAdmin }: Services): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === "list") {
    const { values } = parseOptions(rest, { ...common, user: { type: "string" }, type: { type: "string" } });
    const { limit, since } = limitAndSince(values);
    const userId = values.user ? (await userAdmin.show(values.user)).id : undefined;
    const rows = await events.query({ userId, typePrefix: values.type, since, limit });
    const list = rows.map((row) => ({
      at: row.createdAt.toISOString(),
      type: row.type,
      outcome: row.outcome,
      user_id: row.userId,
      ip: row.ip,
      user_agent: row.userAgent,
      details: row.details,
    }));
    const human =
      list.length === 0
        ? "No matching events."
        : list
            .map(
              (e) => `${e.at}  ${e.type.padEnd(28)} ${e.outcome.padEnd(8)} ${e.user_id ?? "-"}  ${e.ip ?? "-"}  ${e.details ? JSON.stringify(e.details) : ""}`,
            )
            .join("\n");
    printResult(io, values.json ?? false, list, human);
    return 0;
  }
  if (sub === "audit") {
    const { values } = parseOptions(rest, { ...common, actor: { type: "string" }, action: { type: "string" }, target: { type: "string" } });
    const { limit, since } = limitAndSince(values);
    const list = await audit.query({ actor: values.actor, actionPrefix: values.action, targetId: values.target, since, limit });
    const human =
      list.length === 0
        ? "No matching audit records."
        : list.map((e) => `${e.at}  ${e.action.padEnd(22)} ${e.target_type} ${e.target_id ?? "-"}  by ${e.actor}  ${e.ip ?? "-"}`).join("\n");
    printResult(io, values.json ?? false, list, human);
    return 0;
  }
  throw new UsageError(sub ? `unknown command "events ${sub}"` : "events needs a command");
}
