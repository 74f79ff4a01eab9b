import { badRequest } from "../errors.js";

const LINE_BREAK = /[\r\n]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/** `context` picks the text of errors:console.invalid_field_<context>; `field` is the label the page shows. */
export const invalidField = (field: string, context: string, problem: string, more: Record<string, string | number> = {}) =>
  badRequest("console.invalid_field", `${field} ${problem}.`, { field, context, ...more });

/**
 * The console's form fields, checked before anything is changed: one string each (a repeated or
 * nested field is refused, not guessed at), within its length, single-line unless a list. Each
 * `label` is the field's name as the page shows it (in the page's language): the errors name it.
 * @throws AppError console.invalid_field naming the field
 */
export function formOf(body: unknown) {
  const fields = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;

  function raw(name: string, label: string, max: number): string | undefined {
    const value = fields[name];
    if (value === undefined) return undefined;
    if (typeof value !== "string") throw invalidField(label, "repeated", "must be given once, as text");
    if (value.length > max) throw invalidField(label, "too_long", `must be at most ${max} characters`, { max });
    if (CONTROL.test(value)) throw invalidField(label, "control_characters", "must not contain control characters");
    return value;
  }

  return {
    /** A single-line text field, trimmed; "" when absent. */
    text(name: string, label: string, max = 200): string {
      const value = raw(name, label, max) ?? "";
      if (LINE_BREAK.test(value)) throw invalidField(label, "multiline", "must be one line");
      return value.trim();
    },
    /** A field given or not (a checkbox, a select with "keep"). */
    has(name: string): boolean {
      return fields[name] !== undefined;
    },
    /** A checkbox: on when sent with any value. */
    flag(name: string, label: string): boolean {
      return raw(name, label, 10) !== undefined;
    },
    /** A text area of one entry per line, each trimmed, blank lines dropped. */
    lines(name: string, label: string, max = 20_000): string[] {
      return (raw(name, label, max) ?? "")
        .split(/\r?\n/)
        .map((entry) => entry.trim())
        .filter(Boolean);
    },
    /** Words separated by spaces or commas (scopes). */
    words(name: string, label: string, max = 2000): string[] {
      return (raw(name, label, max) ?? "").split(/[\s,]+/).filter(Boolean);
    },
  };
}

export type ConsoleForm = ReturnType<typeof formOf>;
