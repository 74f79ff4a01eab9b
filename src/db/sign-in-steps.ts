import type { CredentialInsert } from "./credentials.js";
import type { Prisma } from "./generated/client.js";
import type { Db } from "./open-database.js";

/** The stages a sign-in can wait in between two requests (see src/interactions/step-machine.ts). */
export type StepStage = "second_factor" | "enrolment" | "enrolled" | "passkey_offer" | "reverify" | "sign_up";

export type StepRow = Prisma.SignInStepGetPayload<object>;

/** What a step holds: the verified part of the sign-in. */
export interface StepProgress {
  userId: string;
  amr: string[];
  freshAmr: string[];
  acr: string;
  remember: boolean;
  authTime: number | null;
}

/** The row, or null when the statement matched none (Prisma's P2025 for update/delete, P2002 for create). */
async function orNull<T>(operation: Promise<T>, code: "P2025" | "P2002"): Promise<T | null> {
  try {
    return await operation;
  } catch (error) {
    if ((error as { code?: string }).code === code) return null;
    throw error;
  }
}

// Only these fields are written: a row passed back in must not bring its own id, stage or expiry.
const fieldsOf = (progress: StepProgress) => ({
  userId: progress.userId,
  amr: progress.amr,
  freshAmr: progress.freshAmr,
  acr: progress.acr,
  remember: progress.remember,
  authTime: progress.authTime,
});

/**
 * One row per interaction (or sign-up hand-over). Every change is conditional on the stage the
 * caller asserted and on the row being live, so of two concurrent moves out of a stage exactly one
 * wins; the loser gets null and must change nothing.
 */
export function createSignInStepQueries(db: Db) {
  const live = (id: string, stage: StepStage, now: Date) => ({ id, stage, expiresAt: { gt: now } });

  return {
    find: (id: string, now: Date) => db.signInStep.findFirst({ where: { id, expiresAt: { gt: now } } }),

    /** Opens a step for an interaction that has none (an expired row does not count); null when a live one exists. */
    async start(id: string, stage: StepStage, progress: StepProgress, expiresAt: Date, now: Date): Promise<StepRow | null> {
      await db.signInStep.deleteMany({ where: { id, expiresAt: { lte: now } } });
      return orNull(db.signInStep.create({ data: { id, stage, ...fieldsOf(progress), startedAt: now, expiresAt } }), "P2002");
    },

    /** `from` → `to` in one conditional UPDATE; null when the row is not (or no longer) in `from`. */
    move: (id: string, from: StepStage, to: StepStage, progress: StepProgress, now: Date) =>
      orNull(db.signInStep.update({ where: live(id, from, now), data: { stage: to, ...fieldsOf(progress) } }), "P2025"),

    /** Ends the step (one conditional DELETE … RETURNING); null when it is not in `from`. */
    take: (id: string, from: StepStage, now: Date) => orNull(db.signInStep.delete({ where: live(id, from, now) }), "P2025"),

    /**
     * A passkey created inside a sign-in and the end of the step that allowed it commit together:
     * null (nothing stored) when the step moved on meanwhile.
     * @throws Prisma P2002 when the credential id is taken (nothing is written)
     */
    takeWithCredential: (id: string, from: StepStage, credential: CredentialInsert, now: Date) =>
      db.$transaction(async (tx) => {
        const step = await orNull(tx.signInStep.delete({ where: live(id, from, now) }), "P2025");
        if (step) await tx.credential.create({ data: credential });
        return step;
      }),

    /**
     * `from` → `to` together with `work` (e.g. confirming the factor the step sets up), in one
     * transaction: "step_moved" when the row is no longer in `from`, "refused" (nothing written)
     * when `work` says no.
     */
    async moveWith(
      id: string,
      from: StepStage,
      to: StepStage,
      progress: StepProgress,
      now: Date,
      work: (tx: Prisma.TransactionClient) => Promise<boolean>,
    ): Promise<StepRow | "step_moved" | "refused"> {
      const refused = new Error("refused");
      try {
        return await db.$transaction(async (tx) => {
          const moved = await orNull(tx.signInStep.update({ where: live(id, from, now), data: { stage: to, ...fieldsOf(progress) } }), "P2025");
          if (!moved) return "step_moved" as const;
          if (!(await work(tx))) throw refused;
          return moved;
        });
      } catch (error) {
        if (error === refused) return "refused";
        throw error;
      }
    },

    deleteExpired: (now: Date) => db.signInStep.deleteMany({ where: { expiresAt: { lt: now } } }),
  };
}

export type SignInStepQueries = ReturnType<typeof createSignInStepQueries>;
