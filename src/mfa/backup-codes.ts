import { createHmac, randomInt } from "node:crypto";
import type { SecondFactorQueries } from "../db/second-factors.js";

const COUNT = 10;
// No 0/o, 1/l/i: codes are read off paper. 31 symbols × 12 ≈ 59 bits per code.
const ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789";
const LENGTH = 12;

/** Lower case, without spaces and hyphens, so "ABCD-efgh jkmn" is the code "abcdefghjkmn". */
export const normaliseBackupCode = (input: string) => input.toLowerCase().replace(/[\s-]/g, "");
export const looksLikeBackupCode = (input: string) => new RegExp(`^[${ALPHABET}]{${LENGTH}}$`).test(normaliseBackupCode(input));

function newCode(): string {
  const chars = Array.from({ length: LENGTH }, () => ALPHABET[randomInt(ALPHABET.length)]).join("");
  return `${chars.slice(0, 4)}-${chars.slice(4, 8)}-${chars.slice(8)}`;
}

/** Ten single-use codes, shown once; stored as HMACs under a key derived from SECRET_KEY. */
export function createBackupCodeService(deps: { queries: SecondFactorQueries; hashKey: Buffer }) {
  const hash = (code: string) => createHmac("sha256", deps.hashKey).update(normaliseBackupCode(code)).digest("base64url");

  return {
    /** New codes replace all earlier ones. Returns them for showing once; they are not kept. */
    async regenerate(userId: string): Promise<string[]> {
      const codes = Array.from({ length: COUNT }, newCode);
      await deps.queries.replaceBackupCodes(userId, codes.map(hash));
      return codes;
    },

    /** True once per code. */
    async use(userId: string, input: string): Promise<boolean> {
      if (!looksLikeBackupCode(input)) return false;
      return deps.queries.useBackupCode(userId, hash(input));
    },

    remaining: (userId: string) => deps.queries.countUnusedBackupCodes(userId),
  };
}

export type BackupCodeService = ReturnType<typeof createBackupCodeService>;
