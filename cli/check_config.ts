/**
 * `dhcpkit check-config [--no-host-checks] [--strict] CONFIG`: read and validate a configuration
 * without starting anything, including the static data files (CSV, SQLite) it names.
 *
 * @module
 */

import { type ConfigIssue, formatIssue, loadConfig } from "../src/config/mod.ts";
import { installBuiltins, loadExtensions } from "../src/handlers/mod.ts";
import { checkStaticDataFiles } from "./data_check.ts";
import { type CommandOutput, consoleOutput, runCommand } from "./run.ts";
import { CHECK_CONFIG } from "./usage/commands.ts";

export type { CommandOutput };

/**
 * Run `check-config`; returns the exit code (0 = valid, 1 = errors, 2 = usage). The extension
 * modules the configuration names are imported first, so their section types are checked too.
 */
export function checkConfigCommand(
  args: string[],
  output: CommandOutput = consoleOutput,
): Promise<number> {
  return runCommand(CHECK_CONFIG, args, output, async (parsed) => {
    const [file] = parsed.positionals;
    const hostChecks = !parsed.flag("no-host-checks");
    const strict = parsed.flag("strict");
    try {
      Deno.statSync(file);
    } catch (e) {
      // A missing permission is the command's one line; a missing file the loader reports.
      if (e instanceof Deno.errors.NotCapable) throw e;
    }
    const extensions = await loadExtensions(file);
    if (extensions.errors.length > 0) {
      for (const issue of extensions.errors) output.err(formatIssue(issue));
      const n = extensions.errors.length;
      output.err(`${file}: ${n} extension${n === 1 ? "" : "s"} could not be loaded`);
      return 1;
    }
    const result = loadConfig(file, { registry: installBuiltins(), hostChecks });
    let issues: ConfigIssue[] = [...result.issues];
    if (result.config) issues.push(...await checkStaticDataFiles(result.config.root));
    if (strict) issues = issues.map((i) => ({ ...i, severity: "error" }));
    for (const issue of issues) output.err(formatIssue(issue));
    const errors = issues.filter((i) => i.severity === "error");
    if (errors.length > 0) {
      const n = errors.length;
      const host = errors.filter((e) => e.host).length;
      output.err(
        `${file}: ${n} error${n === 1 ? "" : "s"}` +
          (host > 0 ? ` (${host} from host checks; --no-host-checks skips those)` : ""),
      );
      return 1;
    }
    const warnings = issues.length;
    output.out(
      warnings > 0
        ? `${file}: OK (${warnings} warning${warnings === 1 ? "" : "s"})`
        : `${file}: OK`,
    );
    return 0;
  });
}

if (import.meta.main) Deno.exit(await checkConfigCommand(Deno.args));
