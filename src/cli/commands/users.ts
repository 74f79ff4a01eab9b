import type { Language } from "../../i18n/languages.js";
import type { Services } from "../../services.js";
import { cliActor } from "../actor.js";
import { parseOptions, printResult } from "../args.js";
import { type CommandIo, UsageError } from "../io.js";

export const USERS_USAGE = `users create --email EMAIL [--name NAME] [--no-password] [--json]   (password read from stdin)
users invite --email EMAIL [--language en|de|fr] [--json]   (mails a link to create the account with a passkey, in that language)
users recover EMAIL [--json]          (mails a recovery link, for support cases; logged)
users list [--search TEXT] [--limit N] [--offset N] [--json]   (TEXT: part of the email or name, any case)
users show|disable|enable|delete ID_OR_EMAIL [--json]   (disable and delete sign the user out everywhere)
users update ID_OR_EMAIL [--name NAME] [--username USERNAME] [--role user|operator] [--json]   ("" clears a name or username;
                                 operators may use the console at /admin; the last enabled operator keeps the role)`;

/** A whole number option, or the default when absent. */
function countOption(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw new UsageError(`${flag} must be a whole number (got "${value}")`);
  return Number(value);
}

/** `--language`: one the IdP has catalogs for, or undefined (the configured default). */
async function languageOption(value: string | undefined): Promise<Language | undefined> {
  if (value === undefined) return undefined;
  // Loaded here, not at the top: `--help` loads nothing of the application.
  const { CATALOG_LANGUAGES, isCatalogLanguage } = await import("../../i18n/languages.js");
  if (!isCatalogLanguage(value)) throw new UsageError(`--language must be one of ${CATALOG_LANGUAGES.join(", ")} (got "${value.slice(0, 20)}")`);
  return value;
}

/** First line of what was piped in; the password itself may contain spaces. */
function passwordFromStdin(stdin: string | null): string {
  const password = stdin?.split(/\r?\n/)[0] ?? "";
  if (!password)
    throw new UsageError("pipe the password on stdin (e.g. `printf '%s\\n' \"$PASSWORD\" | npm run idp -- users create --email …`) or pass --no-password");
  return password;
}

export async function usersCommand(args: string[], io: CommandIo, { users, userAdmin, administration }: Services): Promise<number> {
  const [sub, ...rest] = args;
  const admin = administration(cliActor());
  switch (sub) {
    case "create": {
      const { values } = parseOptions(rest, {
        email: { type: "string" },
        name: { type: "string" },
        "no-password": { type: "boolean" },
        json: { type: "boolean" },
      });
      if (!values.email) throw new UsageError("--email is required");
      const user = await admin.users.create({
        email: values.email,
        name: values.name,
        password: values["no-password"] ? undefined : passwordFromStdin(io.stdin),
      });
      printResult(io, values.json ?? false, user, `Created user ${user.email} (id ${user.id}).`);
      return 0;
    }
    case "invite": {
      const { values } = parseOptions(rest, { email: { type: "string" }, language: { type: "string" }, json: { type: "boolean" } });
      if (!values.email) throw new UsageError("--email is required");
      const invitation = await admin.users.invite(values.email, await languageOption(values.language));
      const view = { email: invitation.email, expires_at: invitation.expiresAt.toISOString() };
      printResult(io, values.json ?? false, view, `Invitation mailed to ${view.email}; the link works until ${view.expires_at}.`);
      return 0;
    }
    case "recover": {
      // `users recover EMAIL` or `users recover --email EMAIL`.
      const positional = rest[0] && !rest[0].startsWith("--") ? rest[0] : undefined;
      const { values } = parseOptions(positional ? rest.slice(1) : rest, { email: { type: "string" }, json: { type: "boolean" } });
      const email = positional ?? values.email;
      if (!email) throw new UsageError("give the user's email: users recover EMAIL");
      const issued = await admin.users.recover(email);
      const view = { email: issued.email, expires_at: issued.expiresAt.toISOString(), works_from: issued.waitUntil?.toISOString() ?? null };
      const from = view.works_from ? ` from ${view.works_from} (the recovery delay)` : "";
      printResult(io, values.json ?? false, view, `Recovery link mailed to ${view.email}; it works${from} until ${view.expires_at}.`);
      return 0;
    }
    case "list": {
      const { values } = parseOptions(rest, {
        search: { type: "string" },
        limit: { type: "string" },
        offset: { type: "string" },
        json: { type: "boolean" },
      });
      const paged = values.search !== undefined || values.limit !== undefined || values.offset !== undefined;
      const list = paged
        ? (
            await userAdmin.search({
              search: values.search,
              limit: countOption(values.limit, "--limit", 50),
              offset: countOption(values.offset, "--offset", 0),
            })
          ).users
        : await users.list();
      const line = (u: (typeof list)[number]) => `${u.id}  ${u.email}${u.role === "operator" ? "  (operator)" : ""}${u.disabled ? "  (disabled)" : ""}`;
      printResult(io, values.json ?? false, list, list.length === 0 ? (paged ? "No matching users." : "No users yet.") : list.map(line).join("\n"));
      return 0;
    }
    case "show": {
      const { values, positionals } = parseOptions(rest, { json: { type: "boolean" } }, 1);
      const user = await userAdmin.show(positionals[0] as string);
      const human = [
        `id:            ${user.id}`,
        `email:         ${user.email}${user.email_verified ? "" : " (not verified)"}`,
        `username:      ${user.username ?? "(none)"}`,
        `name:          ${user.name ?? "(none)"}`,
        `role:          ${user.role}`,
        `status:        ${user.disabled ? "disabled" : "active"}`,
        `password:      ${user.has_password ? "yes" : "no"}`,
        `groups:        ${user.groups.length > 0 ? user.groups.join(", ") : "(none)"}`,
        `passkeys:      ${user.passkeys}`,
        `authenticator: ${user.totp ? "yes" : "no"}`,
        `backup codes:  ${user.backup_codes} unused`,
        `created:       ${user.created_at}`,
      ].join("\n");
      printResult(io, values.json ?? false, user, human);
      return 0;
    }
    case "update": {
      const { values, positionals } = parseOptions(
        rest,
        { name: { type: "string" }, username: { type: "string" }, role: { type: "string" }, json: { type: "boolean" } },
        1,
      );
      if (values.name === undefined && values.username === undefined && values.role === undefined)
        throw new UsageError("users update needs --name, --username or --role");
      const user = await admin.users.update(positionals[0] as string, { name: values.name, username: values.username, role: values.role });
      const human = `Updated user ${user.email}: username ${user.username ?? "(none)"}, name ${user.name ?? "(none)"}, role ${user.role}.`;
      printResult(io, values.json ?? false, user, human);
      return 0;
    }
    case "disable":
    case "enable":
    case "delete": {
      const { values, positionals } = parseOptions(rest, { json: { type: "boolean" } }, 1);
      const user = await admin.users[sub](positionals[0] as string);
      const done = {
        disable: "Disabled user %s and signed it out everywhere.",
        enable: "Enabled user %s.",
        delete: "Deleted user %s, its passkeys and factors, and signed it out everywhere.",
      }[sub];
      printResult(io, values.json ?? false, user, done.replace("%s", user.email));
      return 0;
    }
    default:
      throw new UsageError(sub ? `unknown command "users ${sub}"` : "users needs a command");
  }
}

/** Whether a command reads stdin (so the CLI collects it before forwarding to a running server). */
export const usersCommandReadsStdin = (args: string[]) => args[0] === "create" && !args.includes("--no-password");
