/** What a command may read and write; the same whether it runs locally or inside the server. */
export interface CommandIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Everything the operator piped in, when the command reads input (e.g. a password). */
  readonly stdin: string | null;
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}
