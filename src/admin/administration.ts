import type { Actor, AuditLog } from "../audit/audit-log.js";
import { logoSummary } from "../clients/app-presentation.js";
import type { ClientChanges, ClientInput, ClientView } from "../clients/client-registry.js";
import type { ClaimTarget, CustomClaimService } from "../groups/custom-claim-service.js";
import type { GroupService } from "../groups/group-service.js";
import type { Language } from "../i18n/languages.js";
import type { RecoveryService } from "../recovery/recovery-service.js";
import type { SignUpService } from "../signup/sign-up-service.js";
import type { ProfileChanges, UserAdmin } from "../users/user-admin.js";
import type { UserService } from "../users/user-service.js";

interface ClientRegistry {
  create(input: ClientInput): Promise<ClientView>;
  show(id: string): Promise<ClientView>;
  update(id: string, changes: ClientChanges): Promise<ClientView>;
  rotateSecret(id: string): Promise<ClientView>;
  delete(id: string): Promise<void>;
}

/** A client as the audit log keeps it: never its secret; an inline logo by its size and digest. */
function clientForAudit(view: ClientView): Omit<ClientView, "client_secret"> {
  const { client_secret: _secret, ...rest } = view;
  return { ...rest, logo_uri: rest.logo_uri === null ? null : logoSummary(rest.logo_uri) };
}

/**
 * Every change an operator makes, through the admin API or the CLI, with its audit record (who,
 * what, before and after, from where). Reads are not recorded.
 */
export function createAdministration(deps: {
  clients: ClientRegistry;
  users: UserService;
  userAdmin: UserAdmin;
  signUp: SignUpService;
  recovery: RecoveryService;
  groups: GroupService;
  customClaims: CustomClaimService;
  audit: AuditLog;
}) {
  const { clients, userAdmin, groups, customClaims, audit } = deps;
  const claimTargetOf = async (target: ClaimTarget) =>
    "user" in target
      ? { targetType: "user" as const, targetId: (await userAdmin.find(target.user)).id }
      : { targetType: "group" as const, targetId: (await groups.show(target.group)).id };

  return (by: Actor) => ({
    clients: {
      async create(input: ClientInput): Promise<ClientView> {
        const created = await clients.create(input);
        await audit.record(by, { action: "client.created", targetType: "client", targetId: created.client_id, after: clientForAudit(created) });
        return created;
      },
      async update(id: string, changes: ClientChanges): Promise<ClientView> {
        const before = await clients.show(id);
        const after = await clients.update(id, changes);
        await audit.record(by, { action: "client.updated", targetType: "client", targetId: id, before: clientForAudit(before), after: clientForAudit(after) });
        return after;
      },
      async rotateSecret(id: string): Promise<ClientView> {
        const before = await clients.show(id);
        const after = await clients.rotateSecret(id);
        await audit.record(by, {
          action: "client.secret_rotated",
          targetType: "client",
          targetId: id,
          before: clientForAudit(before),
          after: clientForAudit(after),
        });
        return after;
      },
      async delete(id: string): Promise<void> {
        const before = await clients.show(id);
        await clients.delete(id);
        await audit.record(by, { action: "client.deleted", targetType: "client", targetId: id, before: clientForAudit(before) });
      },
    },

    groups: {
      async create(name: string) {
        const created = await groups.create(name);
        await audit.record(by, { action: "group.created", targetType: "group", targetId: created.id, after: created });
        return created;
      },
      async rename(nameOrId: string, name: string) {
        const before = await groups.show(nameOrId);
        const after = await groups.rename(before.id, name);
        await audit.record(by, {
          action: "group.renamed",
          targetType: "group",
          targetId: before.id,
          before: { name: before.name },
          after: { name: after.name },
        });
        return after;
      },
      async delete(nameOrId: string) {
        const deleted = await groups.delete(nameOrId);
        await audit.record(by, { action: "group.deleted", targetType: "group", targetId: deleted.id, before: deleted });
        return deleted;
      },
      async addMember(nameOrId: string, userIdOrEmail: string) {
        const result = await groups.addMember(nameOrId, userIdOrEmail);
        const member = { user_id: result.user.id, email: result.user.email };
        if (result.added) await audit.record(by, { action: "group.member_added", targetType: "group", targetId: result.group.id, after: member });
        return result;
      },
      async removeMember(nameOrId: string, userIdOrEmail: string) {
        const result = await groups.removeMember(nameOrId, userIdOrEmail);
        const member = { user_id: result.user.id, email: result.user.email };
        if (result.removed) await audit.record(by, { action: "group.member_removed", targetType: "group", targetId: result.group.id, before: member });
        return result;
      },
    },

    claims: {
      async set(target: ClaimTarget, name: string, value: unknown) {
        const before = await customClaims.list(target);
        const after = await customClaims.set(target, name, value);
        await audit.record(by, {
          action: "claim.set",
          ...(await claimTargetOf(target)),
          before: { [name]: before[name]?.value ?? null },
          after: { [name]: value },
        });
        return after;
      },
      async unset(target: ClaimTarget, name: string) {
        const before = await customClaims.list(target);
        const result = await customClaims.unset(target, name);
        if (result.removed)
          await audit.record(by, { action: "claim.unset", ...(await claimTargetOf(target)), before: { [name]: before[name]?.value ?? null } });
        return result;
      },
    },

    users: {
      async create(input: { email: string; password?: string; name?: string }) {
        const created = await deps.users.create(input);
        await audit.record(by, { action: "user.created", targetType: "user", targetId: created.id, after: created });
        return created;
      },
      /** `language`: the mail's; the configured default without one. */
      async invite(email: string, language?: Language) {
        const invitation = await deps.signUp.invite(email, language);
        await audit.record(by, { action: "user.invited", targetType: "user", targetId: null, after: { email: invitation.email } });
        return invitation;
      },
      async recover(email: string) {
        const issued = await deps.recovery.issueByOperator(email);
        await audit.record(by, { action: "user.recovery_issued", targetType: "user", targetId: null, after: { email: issued.email } });
        return issued;
      },
      async update(idOrEmail: string, changes: ProfileChanges) {
        const before = await userAdmin.show(idOrEmail);
        const after = await userAdmin.update(before.id, changes);
        await audit.record(by, { action: "user.updated", targetType: "user", targetId: before.id, before, after });
        return after;
      },
      async disable(idOrEmail: string) {
        const before = await userAdmin.show(idOrEmail);
        const after = await userAdmin.disable(before.id);
        await audit.record(by, { action: "user.disabled", targetType: "user", targetId: before.id, before, after });
        return after;
      },
      async enable(idOrEmail: string) {
        const before = await userAdmin.show(idOrEmail);
        const after = await userAdmin.enable(before.id);
        await audit.record(by, { action: "user.enabled", targetType: "user", targetId: before.id, before, after });
        return after;
      },
      async delete(idOrEmail: string) {
        const before = await userAdmin.show(idOrEmail);
        const deleted = await userAdmin.delete(before.id);
        await audit.record(by, { action: "user.deleted", targetType: "user", targetId: before.id, before });
        return deleted;
      },
      async signOut(idOrEmail: string) {
        const result = await userAdmin.signOut(idOrEmail);
        await audit.record(by, { action: "user.signed_out", targetType: "user", targetId: result.user.id, after: { removed: result.removed } });
        return result;
      },
    },
  });
}

export type Administration = ReturnType<typeof createAdministration>;
export type AdministrationAs = ReturnType<Administration>;
