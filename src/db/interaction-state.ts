import type { Db } from "./open-database.js";

/** The deleted row, or null when there was none (Prisma's P2025). */
async function deleted<T>(operation: Promise<T>): Promise<T | null> {
  try {
    return await operation;
  } catch (error) {
    if ((error as { code?: string }).code === "P2025") return null;
    throw error;
  }
}

/** Server-side, single-use WebAuthn challenges, bound to an interaction (or a mailed link) and a purpose. */
export function createInteractionStateQueries(db: Db) {
  return {
    /** Replaces any earlier challenge of the same purpose and interaction. */
    putChallenge: (id: string, challenge: string, userId: string | null, expiresAt: Date) =>
      db.webauthnChallenge.upsert({ where: { id }, create: { id, challenge, userId, expiresAt }, update: { challenge, userId, expiresAt } }),

    /** Deletes and returns the challenge (one statement: DELETE … RETURNING), or null when there is none. */
    takeChallenge: (id: string) => deleted(db.webauthnChallenge.delete({ where: { id } })),

    deleteExpired: (now: Date) => db.webauthnChallenge.deleteMany({ where: { expiresAt: { lt: now } } }),
  };
}

export type InteractionStateQueries = ReturnType<typeof createInteractionStateQueries>;
