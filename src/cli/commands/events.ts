import type { Services } from "../../services.js";
import { parseOptions, printResult } from "../args.js";
import { type CommandIo, UsageError } from "../io.js";

export const EVENTS_USAGE = `events list [--user ID_OR_EMAIL] [--type PREFIX] [--since ISO_TIME] [--limit N] [--offset N] [--json]
                                (security events, newest first; --type mfa. or sign_in, for example)
events audit [--actor ACTOR] [--action PREFIX] [--target ID] [--since ISO_TIME] [--limit N] [--offset N] [--json]
                                (operators' changes through the console, the admin API and the CLI, with before/after)
events overview [--json]        (people, apps, the last 24 hours' sign-ins, passkey adoption, lock-outs, refused token reuse)
events funnel [--since ISO_TIME] [--json]   (the passkey offer after a password sign-in: shown, created (automatically or with the button), "Not now"; default the last 7 days)`;

const WEEK_MS = 7 * 86_400_000;
const shareOf = (part: number, whole: number) => (whole === 0 ? "–" : `${Math.round((part / whole) * 100)} %`);

const MAX_LIMIT = 1000;

function limitAndSince(values: { limit?: string; offset?: string; since?: string }) {
  const limit = values.limit === undefined ? 100 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT)
    throw new UsageError(`--limit must be a whole number from 1 to ${MAX_LIMIT} (got "${String(values.limit).slice(0, 40)}")`);
  const offset = values.offset === undefined ? 0 : Number(values.offset);
  if (!/^\d{1,7}$/.test(values.offset ?? "0")) throw new UsageError(`--offset must be a whole number (got "${String(values.offset).slice(0, 40)}")`);
  const since = values.since === undefined ? undefined : new Date(values.since);
  if (since && Number.isNaN(since.getTime())) throw new UsageError(`--since must be a time such as 2026-11-23T10:00:00Z (got "${values.since}")`);
  return { limit, offset, since };
}

const common = { since: { type: "string" }, limit: { type: "string" }, offset: { type: "string" }, json: { type: "boolean" } } as const;

export async function eventsCommand(args: string[], io: CommandIo, { events, audit, userAdmin, overview }: Services): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === "list") {
    const { values } = parseOptions(rest, { ...common, user: { type: "string" }, type: { type: "string" } });
    const { limit, offset, since } = limitAndSince(values);
    const userId = values.user ? (await userAdmin.show(values.user)).id : undefined;
    const rows = await events.query({ userId, typePrefix: values.type, since, limit, offset });
    // Loaded here, not at the top: `--help` imports this module for its usage and must load nothing of the application.
    const { toSecurityEventView } = await import("../../audit/security-event-log.js");
    const list = rows.map(toSecurityEventView);
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
    const { limit, offset, since } = limitAndSince(values);
    const list = await audit.query({ actor: values.actor, actionPrefix: values.action, targetId: values.target, since, limit, offset });
    const human =
      list.length === 0
        ? "No matching audit records."
        : list.map((e) => `${e.at}  ${e.action.padEnd(22)} ${e.target_type} ${e.target_id ?? "-"}  by ${e.actor}  ${e.ip ?? "-"}`).join("\n");
    printResult(io, values.json ?? false, list, human);
    return 0;
  }
  if (sub === "funnel") {
    const { values } = parseOptions(rest, { since: { type: "string" }, json: { type: "boolean" } });
    const since = values.since === undefined ? new Date(Date.now() - WEEK_MS) : new Date(values.since);
    if (Number.isNaN(since.getTime())) throw new UsageError(`--since must be a time such as 2026-11-23T10:00:00Z (got "${values.since}")`);
    const counts = await events.countByType("passkey_offer.", since);
    const funnel = {
      since: since.toISOString(),
      shown: counts["passkey_offer.shown"] ?? 0,
      created: (counts["passkey_offer.created"] ?? 0) + (counts["passkey_offer.automatic"] ?? 0),
      automatic: counts["passkey_offer.automatic"] ?? 0,
      skipped: counts["passkey_offer.skipped"] ?? 0,
    };
    const human = [
      `Passkey offers since ${funnel.since}:`,
      `  shown    ${funnel.shown}`,
      `  created  ${funnel.created} (${shareOf(funnel.created, funnel.shown)}; ${funnel.automatic} by the password manager without a dialog)`,
      `  not now  ${funnel.skipped} (${shareOf(funnel.skipped, funnel.shown)})`,
      `  left     ${Math.max(0, funnel.shown - funnel.created - funnel.skipped)} (closed the page or went back)`,
    ].join("\n");
    printResult(io, values.json ?? false, funnel, human);
    return 0;
  }
  if (sub === "overview") {
    const { values } = parseOptions(rest, { json: { type: "boolean" } });
    const o = await overview();
    const share = (n: number | null) => (n === null ? "-" : `${n} %`);
    const human = [
      `people:                 ${o.users} (${o.activeUsers} active)`,
      `apps:                   ${o.apps}`,
      `with a passkey:         ${share(o.passkeyShareOfUsers)} of active people`,
      `sign-ins (24 h):        ${o.signIns.map((row) => `${row.method} ${row.success} ok / ${row.failure} failed`).join("; ") || "none"}`,
      `by passkey (24 h):      ${share(o.passkeyShareOfSignIns)}`,
      `lock-outs (24 h):       ${o.lockOuts}`,
      `refused reuse (24 h):   ${o.refreshTokenReuse} refresh tokens, ${o.codeReuse} codes`,
    ].join("\n");
    printResult(io, values.json ?? false, o, human);
    return 0;
  }
  throw new UsageError(sub ? `unknown command "events ${sub}"` : "events needs a command");
}
