/**
 * `dhcpkit check-config CONFIG`: read and validate a configuration without starting anything.
 *
 * @module
 */

import { outputUsage, parseCommandArgs } from "./args.ts";
import { formatIssue, loadConfig } from "../src/config/mod.ts";
import { loadExtensions } from "../src/handlers/mod.ts";

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

/**
 * Run `check-config`; returns the exit code (0 = valid, 1 = errors, 2 = usage). The extension
 * modules the configuration names are imported first, so their section types are checked too.
 */
export async function checkConfigCommand(
  args: string[],
  output: CommandOutput = consoleOutput,
): Promise<number> {
  const usage = outputUsage("check-config", USAGE, output);
  const parsed = parseCommandArgs({
    args,
    allowPositionals: true,
    options: {
      "no-host-checks": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  }, usage);
  if (typeof parsed === "number") return parsed;
  if (parsed.positionals.length !== 1) {
    usage.error("expected exactly one configuration file");
    return usage.errorStatus;
  }
  const file = parsed.positionals[0];
  const hostChecks = !parsed.values["no-host-checks"];
  const extensions = await loadExtensions(file);
  if (extensions.errors.length > 0) {
    for (const issue of extensions.errors) output.err(formatIssue(issue));
    const n = extensions.errors.length;
    output.err(`${file}: ${n} extension${n === 1 ? "" : "s"} could not be loaded`);
    return 1;
  }
  const result = loadConfig(file, { hostChecks });
  for (const issue of result.issues) output.err(formatIssue(issue));
  if (result.errors.length > 0) {
    const n = result.errors.length;
    const host = result.errors.filter((e) => e.host).length;
    output.err(
      `${file}: ${n} error${n === 1 ? "" : "s"}` +
        (host > 0 ? ` (${host} from host checks; --no-host-checks skips those)` : ""),
    );
    return 1;
  }
  output.out(`${file}: OK`);
  return 0;
}

if (import.meta.main) Deno.exit(await checkConfigCommand(Deno.args));
