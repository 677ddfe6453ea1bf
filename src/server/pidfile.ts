/**
 * The PID file: written after start-up, removed on exit.
 * @module
 */

/** Write the process id followed by a newline to `path` (mode 0644). */
export function writePidFile(path: string): void {
  Deno.writeTextFileSync(path, `${Deno.pid}\n`, { mode: 0o644 });
}

/** Remove the PID file if it still holds our process id. */
export function removePidFile(path: string): void {
  try {
    if (Deno.readTextFileSync(path).trim() === String(Deno.pid)) Deno.removeSync(path);
  } catch {
    // gone already, or not ours
  }
}
