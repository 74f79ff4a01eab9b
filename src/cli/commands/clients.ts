import type { ClientView } from "../../clients/client-registry.js";
import type { Services } from "../../services.js";
import { cliActor } from "../actor.js";
import { parseOptions, printResult } from "../args.js";
import { type CommandIo, UsageError } from "../io.js";

export const CLIENTS_USAGE = `clients create --name NAME --redirect-uri URI [--redirect-uri URI …] [--post-logout-redirect-uri URI …]
                 [--public] [--client-credentials] [--first-party] [--minimum-acr password|mfa|passkey]
                 [--backchannel-logout-uri URI] [--scopes "openid email …"] [--access-token-ttl SECONDS]
                 [--refresh-token-ttl SECONDS] [--access-token-format opaque|jwt] [--id-token-alg ES256|RS256]
                 [--allowed-groups GROUP,GROUP] [--client-uri URL] [--logo-uri URL] [--policy-uri URL] [--tos-uri URL] [--json]
                 (--scopes admin, with --client-credentials and no redirect URI: a client for the admin API)
clients list [--json]
clients show CLIENT_ID [--json]
clients update CLIENT_ID [--name NAME] [--redirect-uri URI …] [--post-logout-redirect-uri URI …] [--first-party|--third-party]
                 [--minimum-acr password|mfa|passkey|none] [--backchannel-logout-uri URI|none]
                 [--scopes "…"|default] [--access-token-ttl SECONDS|default] [--refresh-token-ttl SECONDS|default]
                 [--access-token-format opaque|jwt] [--id-token-alg ES256|RS256|default]
                 [--allowed-groups GROUP,GROUP|everyone] [--client-uri URL] [--logo-uri URL] [--policy-uri URL] [--tos-uri URL] [--json]
                 (--allowed-groups: only members of these groups may use the app; everyone else gets access_denied)
                 (the sign-in and consent pages show the app's home page, logo, privacy policy and terms: https URLs;
                  the logo may also be a data:image/png|jpeg|gif|webp;base64 URL of at most 32 KiB; "" clears one)
                 (--access-token-format jwt: tokens for a RESOURCE_SERVERS API are RFC 9068 JWTs, not revocable before expiry)
clients rotate-secret CLIENT_ID [--json]
clients delete CLIENT_ID`;

function describeClient(client: ClientView, logoSummary: (logoUri: string) => string): string {
  const lines = [
    `client_id:     ${client.client_id}`,
    `name:          ${client.client_name}`,
    `type:          ${client.client_type}${client.first_party ? " (first party)" : ""}`,
    ...(client.minimum_acr ? [`minimum acr:   ${client.minimum_acr}`] : []),
    ...(client.backchannel_logout_uri ? [`back-channel:  ${client.backchannel_logout_uri}`] : []),
    `scopes:        ${client.scopes ? client.scopes.join(" ") : "default (all but admin)"}`,
    ...(client.access_token_ttl ? [`access token:  ${client.access_token_ttl} s`] : []),
    ...(client.refresh_token_ttl ? [`refresh token: ${client.refresh_token_ttl} s (idle)`] : []),
    ...(client.access_token_format === "jwt" ? ["token format:  jwt (for resource servers; not revocable before expiry)"] : []),
    ...(client.id_token_alg ? [`id token alg:  ${client.id_token_alg}`] : []),
    `allowed:       ${client.allowed_groups.length > 0 ? `members of ${client.allowed_groups.join(", ")}` : "everyone"}`,
    `grant types:   ${client.grant_types.join(", ")}`,
    ...client.redirect_uris.map((uri) => `redirect uri:  ${uri}`),
    ...client.post_logout_redirect_uris.map((uri) => `post-logout:   ${uri}`),
    ...(client.client_uri ? [`home page:     ${client.client_uri}`] : []),
    ...(client.logo_uri ? [`logo:          ${logoSummary(client.logo_uri)}`] : []),
    ...(client.policy_uri ? [`privacy:       ${client.policy_uri}`] : []),
    ...(client.tos_uri ? [`terms:         ${client.tos_uri}`] : []),
  ];
  if (client.client_secret) {
    lines.push(`client_secret: ${client.client_secret}`, "", "Store the secret now: it is shown only once.");
  }
  return lines.join("\n");
}

/** "openid email" → ["openid", "email"]; "default" (on update) → null. */
function scopesOption(value: string | undefined): string[] | null | undefined {
  if (value === undefined) return undefined;
  if (value === "default") return null;
  const scopes = value.split(/[\s,]+/).filter(Boolean);
  if (scopes.length === 0) throw new UsageError('--scopes needs at least one scope (or "default")');
  return scopes;
}

/** "staff,ops" → ["staff", "ops"]; "everyone" (on update) → null. */
function groupsOption(value: string | undefined): string[] | null | undefined {
  if (value === undefined) return undefined;
  if (value === "everyone") return null;
  const groups = value.split(/[\s,]+/).filter(Boolean);
  if (groups.length === 0) throw new UsageError('--allowed-groups needs at least one group (or "everyone")');
  return groups;
}

/** Seconds, or "default" (on update) → null. */
function secondsOption(value: string | undefined, flag: string): number | null | undefined {
  if (value === undefined) return undefined;
  if (value === "default") return null;
  if (!/^\d+$/.test(value)) throw new UsageError(`${flag} must be a whole number of seconds or "default" (got "${value}")`);
  return Number(value);
}

/** The flags `create` and `update` share. */
const clientOptions = {
  name: { type: "string" },
  "redirect-uri": { type: "string", multiple: true },
  "post-logout-redirect-uri": { type: "string", multiple: true },
  "first-party": { type: "boolean" },
  "minimum-acr": { type: "string" },
  "backchannel-logout-uri": { type: "string" },
  scopes: { type: "string" },
  "access-token-ttl": { type: "string" },
  "refresh-token-ttl": { type: "string" },
  "access-token-format": { type: "string" },
  "id-token-alg": { type: "string" },
  "allowed-groups": { type: "string" },
  "client-uri": { type: "string" },
  "logo-uri": { type: "string" },
  "policy-uri": { type: "string" },
  "tos-uri": { type: "string" },
  json: { type: "boolean" },
} as const;

/** The policy flags as the registry takes them (absent stays absent; "none"/"default" clear). */
function policyChanges(values: {
  "minimum-acr"?: string;
  "backchannel-logout-uri"?: string;
  scopes?: string;
  "access-token-ttl"?: string;
  "refresh-token-ttl"?: string;
  "access-token-format"?: string;
  "id-token-alg"?: string;
  "allowed-groups"?: string;
  "client-uri"?: string;
  "logo-uri"?: string;
  "policy-uri"?: string;
  "tos-uri"?: string;
}) {
  return {
    minimumAcr: values["minimum-acr"],
    backchannelLogoutUri: values["backchannel-logout-uri"],
    scopes: scopesOption(values.scopes),
    accessTokenSeconds: secondsOption(values["access-token-ttl"], "--access-token-ttl"),
    refreshTokenSeconds: secondsOption(values["refresh-token-ttl"], "--refresh-token-ttl"),
    accessTokenFormat: values["access-token-format"],
    idTokenAlg: values["id-token-alg"],
    allowedGroups: groupsOption(values["allowed-groups"]),
    clientUri: values["client-uri"],
    logoUri: values["logo-uri"],
    policyUri: values["policy-uri"],
    tosUri: values["tos-uri"],
  };
}

export async function clientsCommand(args: string[], io: CommandIo, { clients, administration }: Services): Promise<number> {
  const [sub, ...rest] = args;
  const admin = administration(cliActor());
  // Loaded here, not at the top: `--help` imports this module for its usage and must load nothing of the application.
  const { logoSummary } = await import("../../clients/app-presentation.js");
  const describe = (client: ClientView) => describeClient(client, logoSummary);
  switch (sub) {
    case "create": {
      const { values } = parseOptions(rest, { ...clientOptions, public: { type: "boolean" }, "client-credentials": { type: "boolean" } });
      if (!values.name) throw new UsageError("--name is required");
      if (!values["redirect-uri"]?.length && !values["client-credentials"])
        throw new UsageError("--redirect-uri is required (or --client-credentials for a machine client)");
      const client = await admin.clients.create({
        name: values.name,
        redirectUris: values["redirect-uri"] ?? [],
        postLogoutRedirectUris: values["post-logout-redirect-uri"] ?? [],
        public: values.public ?? false,
        clientCredentials: values["client-credentials"] ?? false,
        firstParty: values["first-party"] ?? false,
        ...policyChanges(values),
      });
      printResult(io, values.json ?? false, client, describe(client));
      return 0;
    }
    case "list": {
      const { values } = parseOptions(rest, { json: { type: "boolean" } });
      const list = await clients.list();
      const human =
        list.length === 0
          ? "No clients yet. Create one with: clients create --name NAME --redirect-uri URI"
          : list.map((client) => describe(client)).join("\n\n");
      printResult(io, values.json ?? false, list, human);
      return 0;
    }
    case "show": {
      const { values, positionals } = parseOptions(rest, { json: { type: "boolean" } }, 1);
      const client = await clients.show(positionals[0] as string);
      printResult(io, values.json ?? false, client, describe(client));
      return 0;
    }
    case "update": {
      const { values, positionals } = parseOptions(rest, { ...clientOptions, "third-party": { type: "boolean" } }, 1);
      if (values["first-party"] && values["third-party"]) throw new UsageError("--first-party and --third-party exclude each other");
      const client = await admin.clients.update(positionals[0] as string, {
        name: values.name,
        redirectUris: values["redirect-uri"],
        postLogoutRedirectUris: values["post-logout-redirect-uri"],
        firstParty: values["first-party"] ? true : values["third-party"] ? false : undefined,
        ...policyChanges(values),
      });
      printResult(io, values.json ?? false, client, describe(client));
      return 0;
    }
    case "rotate-secret": {
      const { values, positionals } = parseOptions(rest, { json: { type: "boolean" } }, 1);
      const client = await admin.clients.rotateSecret(positionals[0] as string);
      printResult(io, values.json ?? false, client, describe(client));
      return 0;
    }
    case "delete": {
      const { positionals } = parseOptions(rest, {}, 1);
      await admin.clients.delete(positionals[0] as string);
      io.stdout(`Deleted client ${positionals[0]} and every token issued to it.\n`);
      return 0;
    }
    default:
      throw new UsageError(sub ? `unknown command "clients ${sub}"` : "clients needs a command");
  }
}
