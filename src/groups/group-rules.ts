import { badRequest } from "../errors.js";

// Lower case, like usernames: relying parties match these names in their own settings
// (Grafana's role_attribute_path, mod_auth_openidc's `Require claim groups:…`), where case slips cause outages.
const GROUP_NAME = /^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// `clients update --allowed-groups everyone` lifts a restriction: a group of that name would make restricting to it open the app.
const RESERVED = new Set(["everyone"]);

/**
 * A group name as stored (trimmed, lower case).
 * @throws AppError groups.invalid_name
 */
export function normaliseGroupName(raw: string): string {
  const value = raw.trim().toLowerCase();
  if (!GROUP_NAME.test(value))
    throw badRequest(
      "groups.invalid_name",
      `a group name is 1 to 64 of a-z, 0-9, ".", "_" and "-", starting and ending with a letter or digit (got ${JSON.stringify(raw.slice(0, 80))})`,
    );
  // `context` picks the variant of the code's text in the catalogs (i18next `<code>_<context>`).
  if (RESERVED.has(value))
    throw badRequest("groups.invalid_name", `"${value}" is reserved (--allowed-groups everyone lifts an app's restriction)`, {
      context: "reserved",
      name: value,
    });
  // Commands take a group's name or its id: a name shaped like an id could stand in for another group.
  if (UUID.test(value)) throw badRequest("groups.invalid_name", "a group name cannot have the shape of a group id", { context: "id_shape" });
  return value;
}
