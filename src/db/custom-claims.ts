import { randomUUID } from "node:crypto";
import type { Db } from "./open-database.js";

/** Whose claim it is: a person's or a group's. */
export type ClaimOwner = { userId: string } | { groupId: string };

export interface ClaimRow {
  name: string;
  value: unknown;
}

const ownerColumn = (owner: ClaimOwner) => ("userId" in owner ? { userId: owner.userId } : { groupId: owner.groupId });

export function createCustomClaimQueries(db: Db) {
  return {
    /** Sets the value in one statement (two operators setting it at once: the last one wins, no error). */
    async upsertClaim(owner: ClaimOwner, name: string, value: unknown): Promise<void> {
      const json = JSON.stringify(value);
      if ("userId" in owner) {
        await db.$executeRaw`INSERT INTO custom_claim (id, name, value, user_id, updated_at) VALUES (${randomUUID()}, ${name}, ${json}::jsonb, ${owner.userId}, now())
          ON CONFLICT (user_id, name) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`;
      } else {
        await db.$executeRaw`INSERT INTO custom_claim (id, name, value, group_id, updated_at) VALUES (${randomUUID()}, ${name}, ${json}::jsonb, ${owner.groupId}, now())
          ON CONFLICT (group_id, name) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`;
      }
    },
    /** The number removed (0: there was none). */
    deleteClaim: async (owner: ClaimOwner, name: string) => (await db.customClaim.deleteMany({ where: { ...ownerColumn(owner), name } })).count,
    claimsOf: (owner: ClaimOwner): Promise<ClaimRow[]> =>
      db.customClaim.findMany({ where: ownerColumn(owner), select: { name: true, value: true }, orderBy: { name: "asc" } }),
  };
}

export type CustomClaimQueries = ReturnType<typeof createCustomClaimQueries>;
