import { createHash, timingSafeEqual } from "node:crypto";

/** SHA-256, base64url. For high-entropy values only (tokens, codes, client secrets), never passwords. */
export function sha256(value: string): string {
  return createHash("sha256").update(value).digest("base64url");
}

export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
