import { type GroupDetailsRow, type GroupQueries, type GroupRow, isForeignKeyViolation, isMissingRow, isUniqueViolation } from "../db/groups.js";
import { conflict, notFound } from "../errors.js";
import { normaliseGroupName } from "./group-rules.js";

export interface GroupSummary {
  id: string;
  name: string;
  members: number;
  apps: number;
}

export interface GroupView {
  id: string;
  name: string;
  members: { id: string; email: string; name: string | null; username: string | null }[];
  /** The apps restricted to this group (with others, maybe): its members may use them. */
  apps: { client_id: string; client_name: string }[];
  claims: Record<string, unknown>;
  created_at: string;
}

const toGroupView = (row: GroupDetailsRow): GroupView => ({
  id: row.id,
  name: row.name,
  members: row.members.map(({ user }) => user),
  apps: row.clients.map(({ client }) => ({ client_id: client.id, client_name: client.name })),
  claims: Object.fromEntries(row.customClaims.map((claim) => [claim.name, claim.value])),
  created_at: row.createdAt.toISOString(),
});

const PRINTABLE = /^[\x21-\x7e]{1,64}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const nameTaken = (name: string) => conflict("groups.name_taken", `a group named "${name}" already exists`);

/**
 * Groups and their members. A group is named by its name (or its id) everywhere an operator types one.
 * @throws AppError groups.invalid_name, groups.name_taken, groups.not_found, groups.in_use, users.not_found
 */
export function createGroupService(deps: { queries: GroupQueries; findUser(idOrEmail: string): Promise<{ id: string; email: string }> }) {
  const { queries } = deps;

  async function find(nameOrId: string): Promise<GroupDetailsRow> {
    const key = nameOrId.trim();
    const byName = PRINTABLE.test(key) ? await queries.findGroupByName(key.toLowerCase()) : null;
    const id = byName?.id ?? (UUID.test(key) ? key : null);
    const row = id ? await queries.findGroupDetails(id) : null;
    if (!row) throw notFound("groups.not_found", `no group named "${nameOrId.slice(0, 80)}"`);
    return row;
  }

  async function details(id: string): Promise<GroupView> {
    const row = await queries.findGroupDetails(id);
    if (!row) throw notFound("groups.not_found", "the group was deleted meanwhile");
    return toGroupView(row);
  }

  return {
    async create(rawName: string): Promise<GroupView> {
      const name = normaliseGroupName(rawName);
      let row: GroupRow;
      try {
        row = await queries.insertGroup(name);
      } catch (error) {
        if (isUniqueViolation(error)) throw nameTaken(name);
        throw error;
      }
      return details(row.id);
    },

    async list(): Promise<GroupSummary[]> {
      return (await queries.listGroups()).map((row) => ({ id: row.id, name: row.name, members: row._count.members, apps: row._count.clients }));
    },

    show: async (nameOrId: string): Promise<GroupView> => toGroupView(await find(nameOrId)),

    async rename(nameOrId: string, rawName: string): Promise<GroupView> {
      const group = await find(nameOrId);
      const name = normaliseGroupName(rawName);
      try {
        await queries.renameGroup(group.id, name);
      } catch (error) {
        if (isUniqueViolation(error)) throw nameTaken(name);
        if (isMissingRow(error)) throw notFound("groups.not_found", "the group was deleted meanwhile");
        throw error;
      }
      return details(group.id);
    },

    /** Refused while an app is restricted to the group: deleting it would open that app to everyone. */
    async delete(nameOrId: string): Promise<GroupView> {
      const group = toGroupView(await find(nameOrId));
      const inUse = (apps: string) => conflict("groups.in_use", `group "${group.name}" restricts ${apps}: take it out of their --allowed-groups first`);
      if (group.apps.length > 0) throw inUse(group.apps.map((app) => `"${app.client_name}" (${app.client_id})`).join(", "));
      let deleted: number;
      try {
        deleted = await queries.deleteGroup(group.id);
      } catch (error) {
        if (isForeignKeyViolation(error)) throw inUse("an app");
        throw error;
      }
      // Of several deletes at once, one deletes the row: the others answer not found (one audit record).
      if (deleted === 0) throw notFound("groups.not_found", "the group was deleted meanwhile");
      return group;
    },

    async addMember(nameOrId: string, userIdOrEmail: string): Promise<{ group: GroupView; user: { id: string; email: string }; added: boolean }> {
      const group = await find(nameOrId);
      const user = await deps.findUser(userIdOrEmail);
      let added: number;
      try {
        added = await queries.addMember(group.id, user.id);
      } catch (error) {
        // The group or the person was deleted between the lookup and the insert: say so, as the lookups would have.
        await find(group.id);
        await deps.findUser(user.id);
        throw error;
      }
      return { group: await details(group.id), user: { id: user.id, email: user.email }, added: added > 0 };
    },

    async removeMember(nameOrId: string, userIdOrEmail: string): Promise<{ group: GroupView; user: { id: string; email: string }; removed: boolean }> {
      const group = await find(nameOrId);
      const user = await deps.findUser(userIdOrEmail);
      const removed = await queries.removeMember(group.id, user.id);
      return { group: await details(group.id), user: { id: user.id, email: user.email }, removed: removed > 0 };
    },

    groupsOf: (userId: string) => queries.groupsOfUser(userId),
  };
}

export type GroupService = ReturnType<typeof createGroupService>;
