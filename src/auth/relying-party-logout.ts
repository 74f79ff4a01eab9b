import type Provider from "oidc-provider";
import type { BackgroundTasks } from "../background-tasks.js";
import type { EndedSession } from "../db/oidc-payloads.js";
import type { Logger } from "../logger.js";

interface BackchannelClient {
  clientId: string;
  backchannelLogoutUri?: string;
  /** oidc-provider's own delivery: a signed logout token through its guarded fetch. */
  backchannelLogout(sub: string, sid: string | undefined): Promise<void>;
}

/**
 * OIDC Back-Channel Logout for sessions the IdP ends itself (the account page, sign-out
 * everywhere, an operator disabling a user, a recovery), not only for RP-initiated logout: each
 * client the session signed in to that registered an endpoint gets a logout token naming the `sid`.
 * Delivery runs after the answer; it needs the provider, which the server attaches (a CLI run
 * without a server can end sessions but not tell the relying parties, and logs that).
 */
export function createRelyingPartyLogout(deps: { tasks: BackgroundTasks; logger: Logger }) {
  let provider: Provider | null = null;

  return {
    attach(server: Provider) {
      provider = server;
    },

    sessionsEnded(accountId: string, sessions: readonly EndedSession[]): void {
      const targets = sessions.flatMap((session) => Object.entries(session.authorizations ?? {}).map(([clientId, { sid }]) => ({ clientId, sid })));
      if (targets.length === 0) return;
      const server = provider;
      if (!server) {
        deps.logger.warn({ sessions: sessions.length }, "back-channel logout not sent: no server runs in this process");
        return;
      }
      deps.tasks.run("back-channel logout", async () => {
        for (const { clientId, sid } of targets) {
          const client = (await server.Client.find(clientId)) as unknown as BackchannelClient | undefined;
          if (!client?.backchannelLogoutUri) continue;
          try {
            await client.backchannelLogout(accountId, sid);
          } catch (error) {
            deps.logger.warn({ err: error, clientId }, "back-channel logout delivery failed");
          }
        }
      });
    },
  };
}

export type RelyingPartyLogout = ReturnType<typeof createRelyingPartyLogout>;
