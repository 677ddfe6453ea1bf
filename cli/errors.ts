/**
 * How every subcommand turns a problem into the one line an operator sees, and its exit status.
 *
 * A command throws {@link UsageError} for a mistake in its arguments (exit 2) and
 * {@link CommandError} for a failure it can explain (exit 1); {@link explainError} maps those and
 * whatever else escapes (missing Deno permissions, files that cannot be read, unknown hosts) to a
 * single line without a stack trace. The stack is shown only when `DHCPKIT_DEBUG` is set.
 * @module
 */

/** Exit status of a command that did what it was asked. */
export const EXIT_OK = 0;
/** Exit status of a command that failed. */
export const EXIT_FAILURE = 1;
/** Exit status of a command called with wrong arguments. */
export const EXIT_USAGE = 2;

/** A mistake in the command line: reported in one line, exit status 2. */
export class UsageError extends Error {
  /** Create the error; `message` says what is wrong with the arguments. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** A failure the command can explain in one line: exit status `status` (default 1). */
export class CommandError extends Error {
  /** Create the error; `message` says what went wrong. */
  constructor(message: string, readonly status: number = EXIT_FAILURE) {
    super(message);
    this.name = "CommandError";
  }
}

/** One line and an exit status for an error. */
export interface ExplainedError {
  /** What is wrong, without the `dhcpkit CMD: ` prefix. */
  line: string;
  /** The exit status. */
  status: number;
}

/** The message of an OS error without Deno's ` (os error N)` suffix. */
export function osMessage(error: Error): string {
  return error.message.replace(/ \(os error \d+\)/, "");
}

/**
 * The one line for a missing Deno permission: which flag the program needs to be started with.
 * Deno says `Requires net access to "[::1]:547", run again with the --allow-net flag`.
 */
function permissionLine(error: Error): string {
  const flag = /--allow-[a-z-]+/.exec(error.message)?.[0];
  const what = /^Requires (.*?), run again/.exec(error.message)?.[1];
  const needs = what ? what.charAt(0).toLowerCase() + what.slice(1) : error.message;
  return flag
    ? `missing Deno permission: ${needs}; start deno with ${flag} (or use the compiled dhcpkit)`
    : `missing Deno permission: ${needs}`;
}

/** Map any error to the line shown to the operator and the exit status. */
export function explainError(error: unknown): ExplainedError {
  if (error instanceof UsageError) return { line: error.message, status: EXIT_USAGE };
  if (error instanceof CommandError) return { line: error.message, status: error.status };
  if (error instanceof Deno.errors.NotCapable) {
    return { line: permissionLine(error), status: EXIT_FAILURE };
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return { line: `permission denied: ${osMessage(error)}`, status: EXIT_FAILURE };
  }
  if (error instanceof Deno.errors.NotFound) {
    return { line: `not found: ${osMessage(error)}`, status: EXIT_FAILURE };
  }
  if (error instanceof Error) {
    if (/failed to lookup address|Name or service not known/i.test(error.message)) {
      return { line: `unknown host: ${osMessage(error)}`, status: EXIT_FAILURE };
    }
    return { line: osMessage(error) || error.name, status: EXIT_FAILURE };
  }
  return { line: String(error), status: EXIT_FAILURE };
}

/** Whether stack traces were asked for (`DHCPKIT_DEBUG` set); false without env permission. */
export function debugWanted(): boolean {
  try {
    return (Deno.env.get("DHCPKIT_DEBUG") ?? "") !== "";
  } catch {
    return false;
  }
}

/**
 * Report `error` for the command `name` on `err` as `dhcpkit NAME: what is wrong` (the stack
 * follows only with `DHCPKIT_DEBUG`); returns the exit status.
 */
export function reportError(name: string, error: unknown, err: (line: string) => void): number {
  const { line, status } = explainError(error);
  const prefix = name ? `dhcpkit ${name}` : "dhcpkit";
  const hint = error instanceof UsageError ? ` (see 'dhcpkit help${name ? " " + name : ""}')` : "";
  err(`${prefix}: ${line}${hint}`);
  if (debugWanted() && error instanceof Error && error.stack) err(error.stack);
  return status;
}
