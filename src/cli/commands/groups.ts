import type { GroupView } from "../../groups/group-service.js";
import type { Services } from "../../services.js";
import { cliActor } from "../actor.js";
import { parseOptions, printResult } from "../args.js";
import { type CommandIo, UsageError } from "../io.js";

export const GROUPS_USAGE = `groups create NAME [--json]            (names: a-z 0-9 . _ -; released as the \`groups\` claim)
groups list [--json]
groups show|delete NAME [--json]        (delete is refused while an app is restricted to the group)
groups rename NAME NEW_NAME [--json]
groups add-member|remove-member NAME USER_ID_OR_EMAIL [--json]
claims list --user ID_OR_EMAIL | --group NAME [--json]
claims set --user ID_OR_EMAIL | --group NAME --name CLAIM (--value TEXT | --json-value JSON) [--json]
claims unset --user ID_OR_EMAIL | --group NAME --name CLAIM [--json]
                 (claim names come from CUSTOM_SCOPES; a person's value overrides their groups')`;

function describe(group: GroupView): string {
  const claims = Object.entries(group.claims);
  return [
    `id:       ${group.id}`,
    `name:     ${group.name}`,
    `members:  ${group.members.length === 0 ? "(none)" : group.members.map((member) => member.email).join(", ")}`,
    `apps:     ${group.apps.length === 0 ? "(restricts none)" : group.apps.map((app) => `${app.client_name} (${app.client_id})`).join(", ")}`,
    ...(claims.length > 0 ? [`claims:   ${claims.map(([name, value]) => `${name}=${JSON.stringify(value)}`).join(", ")}`] : []),
  ].join("\n");
}

export async function groupsCommand(args: string[], io: CommandIo, { groups, administration }: Services): Promise<number> {
  const [sub, ...rest] = args;
  const admin = administration(cliActor());
  switch (sub) {
    case "create": {
      const { values, positionals } = parseOptions(rest, { json: { type: "boolean" } }, 1);
      const group = await admin.groups.create(positionals[0] as string);
      printResult(io, values.json ?? false, group, `Created group ${group.name}.`);
      return 0;
    }
    case "list": {
      const { values } = parseOptions(rest, { json: { type: "boolean" } });
      const list = await groups.list();
      const human =
        list.length === 0
          ? "No groups yet. Create one with: groups create NAME"
          : list.map((g) => `${g.name}  ${g.members} member(s), restricts ${g.apps} app(s)`).join("\n");
      printResult(io, values.json ?? false, list, human);
      return 0;
    }
    case "show": {
      const { values, positionals } = parseOptions(rest, { json: { type: "boolean" } }, 1);
      const group = await groups.show(positionals[0] as string);
      printResult(io, values.json ?? false, group, describe(group));
      return 0;
    }
    case "rename": {
      const { values, positionals } = parseOptions(rest, { json: { type: "boolean" } }, 2);
      const group = await admin.groups.rename(positionals[0] as string, positionals[1] as string);
      printResult(io, values.json ?? false, group, `Renamed group ${positionals[0]} to ${group.name}.`);
      return 0;
    }
    case "delete": {
      const { values, positionals } = parseOptions(rest, { json: { type: "boolean" } }, 1);
      const group = await admin.groups.delete(positionals[0] as string);
      printResult(io, values.json ?? false, group, `Deleted group ${group.name} (${group.members.length} member(s) left it).`);
      return 0;
    }
    case "add-member":
    case "remove-member": {
      const { values, positionals } = parseOptions(rest, { json: { type: "boolean" } }, 2);
      const [name, user] = positionals as [string, string];
      if (sub === "add-member") {
        const { group, added } = await admin.groups.addMember(name, user);
        printResult(io, values.json ?? false, { group, added }, added ? `Added ${user} to ${group.name}.` : `${user} was already in ${group.name}.`);
      } else {
        const { group, removed } = await admin.groups.removeMember(name, user);
        printResult(io, values.json ?? false, { group, removed }, removed ? `Removed ${user} from ${group.name}.` : `${user} was not in ${group.name}.`);
      }
      return 0;
    }
    default:
      throw new UsageError(sub ? `unknown command "groups ${sub}"` : "groups needs a command");
  }
}

/** "--value text" is a string; "--json-value" any JSON (an array merges across groups). */
function claimValue(values: { value?: string; "json-value"?: string }): unknown {
  if ((values.value === undefined) === (values["json-value"] === undefined)) throw new UsageError("claims set needs exactly one of --value and --json-value");
  if (values.value !== undefined) return values.value;
  try {
    return JSON.parse(values["json-value"] as string);
  } catch {
    throw new UsageError(`--json-value is not JSON (for text, use --value): ${(values["json-value"] as string).slice(0, 80)}`);
  }
}

export async function claimsCommand(args: string[], io: CommandIo, { customClaims, administration }: Services): Promise<number> {
  const [sub, ...rest] = args;
  const admin = administration(cliActor());
  const { values } = parseOptions(rest, {
    user: { type: "string" },
    group: { type: "string" },
    name: { type: "string" },
    value: { type: "string" },
    "json-value": { type: "string" },
    json: { type: "boolean" },
  });
  if ((values.user === undefined) === (values.group === undefined)) throw new UsageError(`claims ${sub ?? ""} needs exactly one of --user and --group`);
  const target = values.user !== undefined ? { user: values.user } : { group: values.group as string };
  const human = (claims: Record<string, { value: unknown; scope: string | null }>) =>
    Object.keys(claims).length === 0
      ? "No custom claims."
      : Object.entries(claims)
          .map(([name, { value, scope }]) => `${name} = ${JSON.stringify(value)}  (scope ${scope ?? "none: no longer in CUSTOM_SCOPES"})`)
          .join("\n");
  switch (sub) {
    case "list": {
      const claims = await customClaims.list(target);
      printResult(io, values.json ?? false, claims, human(claims));
      return 0;
    }
    case "set": {
      if (!values.name) throw new UsageError("claims set needs --name");
      const claims = await admin.claims.set(target, values.name, claimValue(values));
      printResult(io, values.json ?? false, claims, human(claims));
      return 0;
    }
    case "unset": {
      if (!values.name) throw new UsageError("claims unset needs --name");
      const { removed, claims } = await admin.claims.unset(target, values.name);
      printResult(io, values.json ?? false, { removed, claims }, removed ? human(claims) : `There was no claim ${values.name}.`);
      return 0;
    }
    default:
      throw new UsageError(sub ? `unknown command "claims ${sub}"` : "claims needs a command");
  }
}
