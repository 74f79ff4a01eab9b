import type { ClientView } from "../../clients/client-registry.js";
import type { Services } from "../../services.js";
import { parseOptions, printResult } from "../args.js";
import { type CommandIo, UsageError } from "../io.js";

export const CLIENTS_USAGE = `clients create --name NAME --redirect-uri URI [--redirect-uri URI …] [--post-logout-redirect-uri URI …]
                 [--public] [--client-credentials] [--first-party] [--minimum-acr password|mfa|passkey]
                 [--backchannel-logout-uri URI] [--json]
clients list [--json]
clients show CLIENT_ID [--json]
clients update CLIENT_ID [--name NAME] [--redirect-uri URI …] [--post-logout-redirect-uri URI …] [--first-party|--third-party]
                 [--minimum-acr password|mfa|passkey|none] [--backchannel-logout-uri URI|none] [--json]
clients rotate-secret CLIENT_ID [--json]
clients delete CLIENT_ID`;

function describe(client: ClientView): string {
  const lines = [
    `client_id:     ${client.client_id}`,
    `name:          ${client.client_name}`,
    `type:          ${client.client_type}${client.first_party ? " (first party)" : ""}`,
    ...(client.minimum_acr ? [`minimum acr:   ${client.minimum_acr}`] : []),
    ...(client.backchannel_logout_uri ? [`back-channel:  ${client.backchannel_logout_uri}`] : []),
    `grant types:   ${client.grant_types.join(", ")}`,
    ...client.redirect_uris.map((uri) => `redirect uri:  ${uri}`),
    ...client.post_logout_redirect_uris.map((uri) => `post-logout:   ${uri}`),
  ];
  if (client.client_secret) {
    lines.push(`client_secret: ${client.client_secret}`, "", "Store the secret now: it is shown only once.");
  }
  return lines.join("\n");
}

const uriOptions = {
  "redirect-uri": { type: "string", multiple: true },
  "post-logout-redirect-uri": { type: "string", multiple: true },
  json: { type: "boolean" },
} as const;

export async function clientsCommand(args: string[], io: CommandIo, { clients }: Services): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case "create": {
      const { values } = parseOptions(rest, {
        ...uriOptions,
        name: { type: "string" },
        public: { type: "boolean" },
        "client-credentials": { type: "boolean" },
        "first-party": { type: "boolean" },
        "minimum-acr": { type: "string" },
        "backchannel-logout-uri": { type: "string" },
      });
      if (!values.name) throw new UsageError("--name is required");
      const client = await clients.create({
        name: values.name,
        redirectUris: values["redirect-uri"] ?? [],
        postLogoutRedirectUris: values["post-logout-redirect-uri"] ?? [],
        public: values.public ?? false,
        clientCredentials: values["client-credentials"] ?? false,
        firstParty: values["first-party"] ?? false,
        minimumAcr: values["minimum-acr"],
        backchannelLogoutUri: values["backchannel-logout-uri"],
      });
      printResult(io, values.json ?? false, client, describe(client));
      return 0;
    }
    case "list": {
      const { values } = parseOptions(rest, { json: { type: "boolean" } });
      const list = await clients.list();
      const human = list.length === 0 ? "No clients yet. Create one with: clients create --name NAME --redirect-uri URI" : list.map(describe).join("\n\n");
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
      const { values, positionals } = parseOptions(
        rest,
        {
          ...uriOptions,
          name: { type: "string" },
          "first-party": { type: "boolean" },
          "third-party": { type: "boolean" },
          "minimum-acr": { type: "string" },
          "backchannel-logout-uri": { type: "string" },
        },
        1,
      );
      if (values["first-party"] && values["third-party"]) throw new UsageError("--first-party and --third-party exclude each other");
      const client = await clients.update(positionals[0] as string, {
        name: values.name,
        redirectUris: values["redirect-uri"],
        postLogoutRedirectUris: values["post-logout-redirect-uri"],
        firstParty: values["first-party"] ? true : values["third-party"] ? false : undefined,
        minimumAcr: values["minimum-acr"],
        backchannelLogoutUri: values["backchannel-logout-uri"],
      });
      printResult(io, values.json ?? false, client, describe(client));
      return 0;
    }
    case "rotate-secret": {
      const { values, positionals } = parseOptions(rest, { json: { type: "boolean" } }, 1);
      const client = await clients.rotateSecret(positionals[0] as string);
      printResult(io, values.json ?? false, client, describe(client));
      return 0;
    }
    case "delete": {
      const { positionals } = parseOptions(rest, {}, 1);
      await clients.delete(positionals[0] as string);
      io.stdout(`Deleted client ${positionals[0]} and every token issued to it.\n`);
      return 0;
    }
    default:
      throw new UsageError(sub ? `unknown command "clients ${sub}"` : "clients needs a command");
  }
}
