import { describe, expect, it } from "vitest";
import { normaliseEmail, normaliseEmailOrNull } from "../../src/users/email.js";

describe("email addresses", () => {
  it("are trimmed and lower-cased", () => {
    expect(normaliseEmail("  Alice@Example.COM ")).toBe("alice@example.com");
  });

  it("never hold control characters (PostgreSQL refuses NUL in text)", () => {
    for (const raw of ["victim\u0000@example.com", "a@exa\u0001mple.com", "a\u007f@example.com", "a@example.com\u001f"]) {
      expect(normaliseEmailOrNull(raw)).toBeNull();
    }
  });
});
