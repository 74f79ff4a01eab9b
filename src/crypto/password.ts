import argon2 from "argon2";

export interface PasswordParameters {
  readonly memoryCostKiB: number;
  readonly timeCost: number;
  readonly parallelism: number;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** Always does one full argon2 verification, also when there is no stored hash (no timing oracle). */
  verify(storedHash: string | null, password: string): Promise<boolean>;
}

export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 256;

export function createPasswordHasher(parameters: PasswordParameters): PasswordHasher {
  const options = {
    type: argon2.argon2id as 2,
    memoryCost: parameters.memoryCostKiB,
    timeCost: parameters.timeCost,
    parallelism: parameters.parallelism,
  };
  let dummyHash: Promise<string> | undefined;

  return {
    hash: (password) => argon2.hash(password, options),
    async verify(storedHash, password) {
      // Unknown users cost the same as known ones: verify against a throwaway hash.
      dummyHash ??= argon2.hash("dummy password for timing equalisation", options);
      const hash = storedHash ?? (await dummyHash);
      const ok = await argon2.verify(hash, password).catch(() => false);
      return storedHash !== null && ok;
    },
  };
}
