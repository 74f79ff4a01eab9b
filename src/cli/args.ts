import { type ParseArgsConfig, parseArgs } from "node:util";
import { UsageError } from "./io.js";

/** parseArgs's messages, said as a sentence naming the flag (its own ones quote its internals). */
function inPlainWords(error: Error & { code?: string }, args: string[]): string {
  const flag = error.message.match(/'(--?[\w-]+)/)?.[1] ?? "";
  switch (error.code) {
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE": {
      const value = args[args.indexOf(flag) + 1];
      if (value?.startsWith("-") && error.message.includes("ambiguous"))
        return `${flag} needs a value, and "${value.slice(0, 40)}" reads as a flag (write ${flag}=${value.slice(0, 40)} if it is the value)`;
      return error.message.includes("does not take an argument") ? `${flag} takes no value` : `${flag} needs a value`;
    }
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `unknown flag ${flag || JSON.stringify(error.message.slice(0, 40))}`;
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return error.message.replace(/^Unexpected argument/, "unexpected argument");
    default:
      return error.message;
  }
}

/** node:util parseArgs, with its errors turned into usage errors the CLI prints. */
export function parseOptions<T extends NonNullable<ParseArgsConfig["options"]>>(args: string[], options: T, positionals = 0) {
  let parsed: ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>>;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(inPlainWords(error as Error & { code?: string }, args));
  }
  if (parsed.positionals.length !== positionals) {
    throw new UsageError(positionals === 0 ? `unexpected argument "${parsed.positionals[0]}"` : `expected ${positionals} argument(s)`);
  }
  return parsed;
}

export function printResult(io: { stdout(text: string): void }, json: boolean, value: unknown, human: string): void {
  io.stdout(json ? `${JSON.stringify(value, null, 2)}\n` : `${human}\n`);
}

// Node decodes argv as UTF-8 and turns bytes that are not into U+FFFD: `\xc3\x28@example.com`
// would become a user's email. Control characters have no business in an operator's argument.
const REPLACEMENT = "\ufffd";
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** @throws UsageError naming the first argument that is not UTF-8 or holds a control character */
export function assertArgvText(argv: string[]): void {
  for (const [index, arg] of argv.entries()) {
    if (arg.includes(REPLACEMENT)) throw new UsageError(`argument ${index + 1} is not valid UTF-8`);
    if (CONTROL.test(arg)) throw new UsageError(`argument ${index + 1} contains a control character`);
  }
}
