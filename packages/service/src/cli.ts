import { parseArgs } from "node:util";
import { describeIssues, EnvError } from "@gsk/schema";
import * as v from "valibot";

/** A failure a CLI reports in one line, with its exit code (2: bad usage or configuration). */
export class CliError extends Error {
  readonly code: number;
  constructor(message: string, code = 1) {
    super(message);
    this.code = code;
  }
}

type FlagOptions = Record<string, { type: "string" | "boolean"; multiple?: boolean }>;

/**
 * Parses `<command...> --flags` with node:util's parseArgs, then validates `{ command, ...flags }`
 * with `schema`; every problem is a CliError (exit 2) naming the flag, with the usage line.
 */
export function parseCommandLine<const S extends v.GenericSchema>(
  argv: string[],
  options: FlagOptions,
  schema: S,
  usage: string,
): v.InferOutput<S> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options });
  } catch (error) {
    throw new CliError(`${(error as Error).message}; ${usage}`, 2);
  }
  if (parsed.positionals.length === 0) throw new CliError(usage, 2);
  const result = v.safeParse(schema, { command: parsed.positionals.join(" "), ...parsed.values });
  if (!result.success) {
    const flags = Object.keys(options).join("|");
    throw new CliError(
      describeIssues(result.issues).replace(new RegExp(`(^|; )(${flags}): `, "g"), "$1--$2: "),
      2,
    );
  }
  return result.output;
}

/** Parses the app's environment for a CLI: a bad value is a CliError (exit 2) naming it. */
export function cliEnv<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof EnvError) throw new CliError(error.message, 2);
    throw error;
  }
}

/** A line of progress (stderr: stdout's last line is the result). */
export const progress = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/**
 * Runs a CLI's `main`: its result is the last line of stdout, as JSON, and exit 0; a failure is one
 * line on stderr and a non-zero exit (the CliError's code, else 1).
 */
export function runCli(name: string, main: () => Promise<unknown>): void {
  main().then(
    (summary) => {
      process.stdout.write(`${JSON.stringify(summary)}\n`);
      process.exit(0);
    },
    (error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      progress(`${name}: ${message.split("\n")[0]}`);
      process.exit(error instanceof CliError ? error.code : 1);
    },
  );
}
