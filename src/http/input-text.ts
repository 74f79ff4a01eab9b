/**
 * What the edge refuses in text input: NUL (PostgreSQL cannot store it in text or JSONB: 22021,
 * 22P05), bytes that are not UTF-8, and unpaired UTF-16 surrogates (which JSON's `\ud800` escape
 * can carry and no database column can hold). Each check returns a phrase naming the problem, or
 * null when the text is fine.
 */

const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const NOT_PERCENT_ESCAPE = /%(?![0-9a-fA-F]{2})/g;
const NON_ASCII = /[^\x20-\x7e]/;
/** No legitimate body (WebAuthn responses, the admin API) nests deeper; deep input only costs us stack. */
export const MAX_JSON_DEPTH = 32;

/** The bytes as UTF-8 text, or null when they are not UTF-8. */
export function strictUtf8(bytes: Uint8Array): string | null {
  try {
    return STRICT_UTF8.decode(bytes);
  } catch {
    return null;
  }
}

// Direction overrides and isolates (U+202A–202E, U+2066–2069) and marks: in a name they reverse
// what follows on the page an operator reads ("TOOR" shown as "ROOT").
const BIDI_CONTROL = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/** Whether a display name holds a character that reorders the text around it. */
export const hasBidiControl = (text: string) => BIDI_CONTROL.test(text);

/** A string: no NUL, no unpaired surrogate. */
export function textProblem(text: string): string | null {
  if (text.includes("\0")) return "contains a NUL character";
  if (LONE_SURROGATE.test(text)) return "contains an unpaired surrogate";
  return null;
}

/**
 * A percent-encoded string (a query, a form body with `plusAsSpace`, a path): decoded the way
 * the parsers will, it must be UTF-8 without NUL. A `%` not followed by two hex digits stays as
 * it is, as `querystring` leaves it.
 */
export function percentEncodedProblem(encoded: string, plusAsSpace: boolean): string | null {
  const spaced = plusAsSpace ? encoded.replace(/\+/g, " ") : encoded;
  let decoded: string;
  try {
    // decodeURIComponent throws on bytes that are not UTF-8, encoded surrogates (CESU-8) included.
    decoded = decodeURIComponent(spaced.replace(NOT_PERCENT_ESCAPE, "%25"));
  } catch {
    return "is not UTF-8";
  }
  return textProblem(decoded);
}

/** A request target (path and query) must be ASCII: RFC 3986 wants everything else percent-encoded. */
export function requestTargetProblem(target: string): string | null {
  return NON_ASCII.test(target) ? "contains characters that are not percent-encoded" : null;
}

/** A JSON text: it must parse, nest at most MAX_JSON_DEPTH deep, and hold no bad string (keys included). */
export function jsonProblem(text: string): string | null {
  if (text.trim() === "") return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return "is not valid JSON";
  }
  // Iterative: a recursive walk is what deep input would overflow.
  const pending: [unknown, number][] = [[value, 0]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [item, depth] = next;
    if (typeof item === "string") {
      const problem = textProblem(item);
      if (problem) return problem;
    } else if (typeof item === "object" && item !== null) {
      if (depth >= MAX_JSON_DEPTH) return "is nested too deeply";
      for (const [key, child] of Object.entries(item)) {
        const problem = textProblem(key);
        if (problem) return problem;
        pending.push([child, depth + 1]);
      }
    }
  }
  return null;
}
