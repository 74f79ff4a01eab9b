/**
 * The one error type the application throws on purpose. `code` is `area.snake_case`;
 * `expose` says whether the message may be shown to the user (never for 5xx).
 */
export class AppError extends Error {
  readonly code: string;
  readonly status: number;
  readonly expose: boolean;
  /** What the message is about (the value, the setting, a suggestion), so each caller can word it its own way. */
  readonly fields: Readonly<Record<string, string | number>>;

  constructor(code: string, message: string, status = 400, options?: { cause?: unknown; fields?: Record<string, string | number> }) {
    super(message, options);
    this.name = "AppError";
    this.code = code;
    this.status = status;
    this.expose = status < 500;
    this.fields = options?.fields ?? {};
  }
}

type Fields = Record<string, string | number>;

export const badRequest = (code: string, message: string, fields?: Fields) => new AppError(code, message, 400, { fields });
export const forbidden = (code: string, message: string, fields?: Fields) => new AppError(code, message, 403, { fields });
export const notFound = (code: string, message: string, fields?: Fields) => new AppError(code, message, 404, { fields });
export const conflict = (code: string, message: string, fields?: Fields) => new AppError(code, message, 409, { fields });

export function assertThat(condition: unknown, error: AppError | (() => AppError)): asserts condition {
  if (!condition) throw typeof error === "function" ? error() : error;
}
