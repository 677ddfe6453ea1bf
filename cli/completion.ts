/**
 * `dhcpkit completion bash`: print the bash completion script made from the usage tables. The
 * checked-in copy is `completion/dhcpkit.bash`.
 * @module
 */

import { UsageError } from "./errors.ts";
import { type CommandOutput, consoleOutput, runCommand } from "./run.ts";
import { COMMAND_TABLES, COMPLETION } from "./usage/commands.ts";
import { bashCompletion } from "./usage/bash.ts";

/** Run `completion`; returns the exit code. */
export function completionCommand(
  args: string[],
  output: CommandOutput = consoleOutput,
): Promise<number> {
  return runCommand(COMPLETION, args, output, (parsed) => {
    const [shell] = parsed.positionals;
    if (shell !== "bash") {
      throw new UsageError(`no completion for ${JSON.stringify(shell)}; only bash is supported`);
    }
    output.out(bashCompletion(COMMAND_TABLES).trimEnd());
    return 0;
  });
}
