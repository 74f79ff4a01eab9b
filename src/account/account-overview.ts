import type { TFunction } from "i18next";
import type { SecurityEventLog } from "../audit/security-event-log.js";
import { isBuiltInClient } from "../auth/built-in-clients.js";
import type { CredentialQueries } from "../db/credentials.js";
import type { OidcPayloadQueries } from "../db/oidc-payloads.js";
import type { SessionDeviceQueries } from "../db/session-devices.js";
import type { UserQueries } from "../db/users.js";
import type { SecondFactorService } from "../mfa/second-factor-service.js";
import { scopeLabelsIn } from "../oidc/scope-labels.js";
import { providerBeside } from "../webauthn/authenticator-names.js";
import type { AccountSession } from "./account-sign-in.js";
import { describeEvent } from "./activity-labels.js";
import { deviceNameOf } from "./device-name.js";

const ACTIVITY_ENTRIES = 25;

interface ClientNames {
  find(id: string): Promise<{ client_name?: unknown } | undefined>;
}

export interface AccountOverviewDependencies {
  users: UserQueries;
  credentials: CredentialQueries;
  secondFactors: SecondFactorService;
  oidcPayloads: OidcPayloadQueries;
  sessionDevices: SessionDeviceQueries;
  clients: ClientNames;
  events: SecurityEventLog;
  pendingEmail: (userId: string) => Promise<{ email: string; expiresAt: Date } | null>;
  /** The default language's texts, for a caller that gives none. */
  defaultT: TFunction;
}

interface SessionPayload {
  uid?: string;
  loginTs?: number;
  authorizations?: Record<string, unknown>;
}

interface GrantPayload {
  clientId?: string;
  iat?: number;
  openid?: { scope?: string };
}

const fromEpoch = (seconds: number | undefined) => (seconds ? new Date(seconds * 1000) : null);

/** Everything the account page shows, read for one signed-in user. */
export function createAccountOverview(deps: AccountOverviewDependencies) {
  async function passkeysOf(userId: string) {
    return (await deps.credentials.listCredentialsOfUser(userId)).map((credential) => ({
      id: credential.id,
      name: credential.name,
      authenticator: providerBeside(credential),
      createdAt: credential.createdAt,
      lastUsedAt: credential.lastUsedAt,
      synced: credential.backupEligible,
      backedUp: credential.backedUp,
    }));
  }

  async function sessionsOf(session: AccountSession, t: TFunction) {
    const [rows, devices] = await Promise.all([
      deps.oidcPayloads.listOfAccount("Session", session.userId, new Date()),
      deps.sessionDevices.listSessionDevicesOfUser(session.userId),
    ]);
    const deviceByUid = new Map(devices.map((device) => [device.sessionUid, device]));
    return rows
      .map((row) => {
        const payload = row.payload as SessionPayload;
        const uid = row.uid ?? payload.uid ?? "";
        const device = deviceByUid.get(uid);
        return {
          uid,
          current: uid === session.sessionUid,
          device: { name: deviceNameOf(t, device?.lastUserAgent) },
          ip: device?.lastIp ?? null,
          createdAt: device?.createdAt ?? row.createdAt,
          lastActiveAt: device?.lastSeenAt ?? fromEpoch(payload.loginTs) ?? row.createdAt,
        };
      })
      .sort((a, b) => Number(b.current) - Number(a.current) || b.lastActiveAt.getTime() - a.lastActiveAt.getTime());
  }

  /** One entry per application (a client may hold a grant per session): scopes joined, first and latest dates. */
  async function appsOf(userId: string, t: TFunction) {
    const apps = new Map<string, { clientId: string; name: string; scopes: Set<string>; firstGrantedAt: Date; lastGrantedAt: Date }>();
    for (const row of await deps.oidcPayloads.listOfAccount("Grant", userId, new Date())) {
      const grant = row.payload as GrantPayload;
      if (!grant.clientId || isBuiltInClient(grant.clientId)) continue;
      const at = fromEpoch(grant.iat) ?? row.createdAt;
      let app = apps.get(grant.clientId);
      if (!app) {
        const metadata = await deps.clients.find(grant.clientId);
        const name = typeof metadata?.client_name === "string" ? metadata.client_name : grant.clientId;
        app = { clientId: grant.clientId, name, scopes: new Set(), firstGrantedAt: at, lastGrantedAt: at };
        apps.set(grant.clientId, app);
      }
      for (const scope of grant.openid?.scope?.split(" ") ?? []) if (scope) app.scopes.add(scope);
      if (at < app.firstGrantedAt) app.firstGrantedAt = at;
      if (at > app.lastGrantedAt) app.lastGrantedAt = at;
    }
    return [...apps.values()].map((app) => ({ ...app, scopes: [...app.scopes].sort().map(scopeLabelsIn(t)) })).sort((a, b) => a.name.localeCompare(b.name));
  }

  async function activityOf(userId: string, t: TFunction) {
    return (await deps.events.listForUser(userId, ACTIVITY_ENTRIES)).map((event) => ({
      what: describeEvent(t, event.type, event.outcome),
      outcome: event.outcome,
      at: event.createdAt,
      device: event.userAgent ? deviceNameOf(t, event.userAgent) : null,
      ip: event.ip,
    }));
  }

  /** `t`: the page's language, for device names and activity labels. */
  return async (session: AccountSession, t: TFunction = deps.defaultT) => {
    const [user, passkeys, factors, sessions, apps, activity, pendingEmail] = await Promise.all([
      deps.users.findUserById(session.userId),
      passkeysOf(session.userId),
      deps.secondFactors.factorsOf(session.userId),
      sessionsOf(session, t),
      appsOf(session.userId, t),
      activityOf(session.userId, t),
      deps.pendingEmail(session.userId),
    ]);
    return {
      email: user?.email ?? "",
      language: user?.language ?? null,
      hasPassword: Boolean(user?.passwordHash),
      passkeys,
      factors,
      sessions,
      apps,
      activity,
      pendingEmail,
    };
  };
}

export type AccountOverview = ReturnType<typeof createAccountOverview>;
