/**
 * The one error type the application throws on purpose. `code` is `area.snake_case`;
 * `expose` says whether the message may be shown to the user (never for 5xx).
 */
export class AppError extends Error {
  readonly code: string;
  readonly status: number;
  readonly expose: boolean;

  constructor(code: string, message: string, status = 400, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "AppError";
    this.code = code;
    this.status = status;
    this.expose = status < 500;
  }
}

export const badRequest = (code: string, message: string) => new AppError(code, message, 400);
export const forbidden = (code: string, message: string) => new AppError(code, message, 403);
export const notFound = (code: string, message: string) => new AppError(code, message, 404);
export const conflict = (code: string, message: string) => new AppError(code, message, 409);

export function assertThat(condition: unknown, error: AppError | (() => AppError)): asserts condition {
  if (!condition) throw typeof error === "function" ? error() : error;
}
