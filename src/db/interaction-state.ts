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

/** Server-side, single-use state of an interaction: WebAuthn challenges and a pending sign-in. */
export function createInteractionStateQueries(db: Db) {
  return {
    /** Replaces any earlier challenge of the same purpose and interaction. */
    putChallenge: (id: string, challenge: string, userId: string | null, expiresAt: Date) =>
      db.webauthnChallenge.upsert({ where: { id }, create: { id, challenge, userId, expiresAt }, update: { challenge, userId, expiresAt } }),

    /** Deletes and returns the challenge (one statement: DELETE … RETURNING), or null when there is none. */
    takeChallenge: (id: string) => deleted(db.webauthnChallenge.delete({ where: { id } })),

    putPendingLogin: (uid: string, signIn: { userId: string; amr: string[]; acr: string; remember: boolean }, expiresAt: Date) => {
      // Only these fields: a pending row passed back in must not bring its own key or expiry along.
      const data = { userId: signIn.userId, amr: signIn.amr, acr: signIn.acr, remember: signIn.remember, expiresAt };
      return db.pendingLogin.upsert({ where: { uid }, create: { uid, ...data }, update: data });
    },

    findPendingLogin: (uid: string) => db.pendingLogin.findUnique({ where: { uid } }),

    takePendingLogin: (uid: string) => deleted(db.pendingLogin.delete({ where: { uid } })),

    deleteExpired: async (now: Date) => {
      await db.webauthnChallenge.deleteMany({ where: { expiresAt: { lt: now } } });
      await db.pendingLogin.deleteMany({ where: { expiresAt: { lt: now } } });
    },
  };
}

export type InteractionStateQueries = ReturnType<typeof createInteractionStateQueries>;
