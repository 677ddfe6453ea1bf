/**
 * `dhcpkit check-config CONFIG`: read and validate a configuration without starting anything.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { formatIssue, loadConfig } from "../src/config/mod.ts";
import { registerBuiltinSections } from "../src/handlers/builtin_sections.ts";

/** Where the command writes; replaceable for tests. */
export interface CommandOutput {
  /** Normal output. */
  out(line: string): void;
  /** Error output. */
  err(line: string): void;
}

const consoleOutput: CommandOutput = {
  out: (l) => console.log(l),
  err: (l) => console.error(l),
};

const USAGE = `Usage: dhcpkit check-config [--no-host-checks] CONFIG

Read CONFIG and report every problem as FILE:LINE: message. Nothing is bound
and no privileges are dropped.

  --no-host-checks  skip checks against this machine (interfaces, configured
                    addresses, users and groups, existence of files)
  -h, --help        show this help`;

/** Run `check-config`; returns the exit code (0 = valid, 1 = errors, 2 = usage). */
export function checkConfigCommand(
  args: string[],
  output: CommandOutput = consoleOutput,
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        "no-host-checks": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (e) {
    output.err(`check-config: ${(e as Error).message}`);
    output.err(USAGE);
    return Promise.resolve(2);
  }
  if (parsed.values.help) {
    output.out(USAGE);
    return Promise.resolve(0);
  }
  if (parsed.positionals.length !== 1) {
    output.err("check-config: expected exactly one configuration file");
    output.err(USAGE);
    return Promise.resolve(2);
  }
  const file = parsed.positionals[0];
  const hostChecks = !parsed.values["no-host-checks"];
  const result = loadConfig(file, { registry: registerBuiltinSections(), hostChecks });
  for (const issue of result.issues) output.err(formatIssue(issue));
  if (result.errors.length > 0) {
    const n = result.errors.length;
    const host = result.errors.filter((e) => e.host).length;
    output.err(
      `${file}: ${n} error${n === 1 ? "" : "s"}` +
        (host > 0 ? ` (${host} from host checks; --no-host-checks skips those)` : ""),
    );
    return Promise.resolve(1);
  }
  output.out(`${file}: OK`);
  return Promise.resolve(0);
}

if (import.meta.main) Deno.exit(await checkConfigCommand(Deno.args));
