/**
 * Helpers for the CLI tests: run the real program (`deno run ... cli/main.ts`) as a subprocess
 * and check that an error is the one line `dhcpkit CMD: what is wrong`.
 * @module
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const REPO: string = fileURLToPath(new URL("../../", import.meta.url));
/** The program's entry point. */
export const MAIN: string = `${REPO}cli/main.ts`;

/** What a run of the program printed and its exit status. */
export interface CliResult {
  /** Exit status. */
  code: number;
  /** Everything on stdout. */
  stdout: string;
  /** Everything on stderr. */
  stderr: string;
}

/** Options of {@link runCli}. */
export interface RunOptions {
  /** Deno permission flags (default `-A`); no `--unstable-net`: deno.json declares it. */
  permissions?: string[];
  /** Working folder (default the repository). */
  cwd?: string;
  /** Text on stdin (default none). */
  stdin?: string;
}

/** Run `dhcpkit ARGS...` from the checkout with `deno run`. */
export async function runCli(args: string[], options: RunOptions = {}): Promise<CliResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...(options.permissions ?? ["-A"]), MAIN, ...args],
    cwd: options.cwd ?? REPO,
    env: { NO_COLOR: "1" },
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const out = await child.output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

/**
 * Assert that `result` is a failure of `command` with exit status `status`, reported as one
 * line `dhcpkit COMMAND: ...` on stderr without a stack trace; returns that line.
 */
export function assertOneLineError(result: CliResult, command: string, status: number): string {
  const shown = `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`;
  assert.doesNotMatch(result.stderr, /^\s+at /m, `stack trace printed:\n${shown}`);
  const lines = result.stderr.split("\n").filter((l) => l !== "");
  assert.equal(lines.length, 1, `expected one line on stderr:\n${shown}`);
  const prefix = command ? `dhcpkit ${command}: ` : "dhcpkit: ";
  assert.ok(lines[0].startsWith(prefix), `expected "${prefix}...":\n${shown}`);
  assert.equal(result.code, status, shown);
  return lines[0];
}
