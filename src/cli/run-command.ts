import { AppError } from "../errors.js";
import type { Services } from "../services.js";
import { CLIENTS_USAGE, clientsCommand } from "./commands/clients.js";
import { EVENTS_USAGE, eventsCommand } from "./commands/events.js";
import { claimsCommand, GROUPS_USAGE, groupsCommand } from "./commands/groups.js";
import { KEYS_USAGE, keysCommand } from "./commands/keys.js";
import { SESSIONS_USAGE, sessionsCommand } from "./commands/sessions.js";
import { USERS_USAGE, usersCommand } from "./commands/users.js";
import { type CommandIo, UsageError } from "./io.js";

export const USAGE = `Usage: npm run idp -- <command>

${CLIENTS_USAGE}

${USERS_USAGE}

${GROUPS_USAGE}

${SESSIONS_USAGE}

${EVENTS_USAGE}

${KEYS_USAGE}

db migrate                      apply pending migrations
db create-migration NAME        write prisma/migrations/<timestamp>_NAME from a schema change

Honours DATA_DIR and DATABASE_URL like the server. While the server runs on the embedded
database, commands run inside it (through DATA_DIR/operator.sock).`;

/** Each command group's own usage: a mistake in `events list` shows the events commands, not all of them. */
const USAGE_OF: Record<string, string> = {
  clients: CLIENTS_USAGE,
  users: USERS_USAGE,
  groups: GROUPS_USAGE,
  claims: GROUPS_USAGE,
  sessions: SESSIONS_USAGE,
  events: EVENTS_USAGE,
  keys: KEYS_USAGE,
};

/** The usage to print after a usage error in `group` (all of it for an unknown group). */
export const usageFor = (group: string | undefined) => {
  // Own keys only: "toString" or "constructor" typed as a command must not find Object's.
  const own = group && Object.hasOwn(USAGE_OF, group) ? USAGE_OF[group] : undefined;
  return own ? `Usage: npm run idp -- ${own.replace(/\n/g, "\n       ")}\n\n(npm run idp -- help lists every command.)` : USAGE;
};

/**
 * Runs one operator command against a set of services. Exit codes: 0 success,
 * 1 refused (bad input, unknown id), 2 usage error, 70 internal error.
 */
export async function runCommand(argv: string[], io: CommandIo, services: Services): Promise<number> {
  const [group, ...args] = argv;
  try {
    switch (group) {
      case "clients":
        return await clientsCommand(args, io, services);
      case "users":
        return await usersCommand(args, io, services);
      case "groups":
        return await groupsCommand(args, io, services);
      case "claims":
        return await claimsCommand(args, io, services);
      case "events":
        return await eventsCommand(args, io, services);
      case "sessions":
        return await sessionsCommand(args, io, services);
      case "keys":
        return await keysCommand(args, io, services);
      case "db":
        if (args[0] === "migrate" && args.length === 1) {
          io.stdout("The database schema is up to date.\n");
          return 0;
        }
        throw new UsageError(`unknown command "db ${args.join(" ")}"`);
      case undefined:
      case "help":
      case "--help":
        io.stdout(`${USAGE}\n`);
        return 0;
      default:
        throw new UsageError(`unknown command "${group}"`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`Error: ${error.message}\n\n${usageFor(group)}\n`);
      return 2;
    }
    if (error instanceof AppError && error.expose) {
      io.stderr(`Error: ${error.message}\n`);
      return 1;
    }
    io.stderr(`Internal error: ${(error as Error).message}\n`);
    return 70;
  }
}
