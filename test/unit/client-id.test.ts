import { describe, expect, it } from "vitest";
import { newClientId } from "../../src/clients/client-registry.js";

describe("newClientId", () => {
  it("is 128 bits in base64url", () => {
    expect(newClientId()).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('never starts with "-", which the CLI would read as a flag: such a draw is drawn again', () => {
    // 0xf8 encodes as "-" first (its top six bits are 62); one id in 64 would otherwise start with it.
    const draws = [Buffer.alloc(16, 0xf8), Buffer.alloc(16, 0)];
    const id = newClientId(() => draws.shift() as Buffer);
    expect(id).toBe("AAAAAAAAAAAAAAAAAAAAAA");
    expect(draws).toHaveLength(0);
  });
});
