/**
 * The PID file: written once the server is ready, removed on exit. The server writes and
 * removes it as root (see `withRootSync`), so it works in root-owned folders such as
 * `/run/dhcpkit`.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { closeSync, constants, fchmodSync, openSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { withRootSync } from "./privileges.ts";
import { ensureDefaultFolder } from "./runtime_dir.ts";

const log = getLogger(["dhcpkit", "server"]);

/**
 * Write the process id followed by a newline to `path`, mode 0644 whatever the umask. The text
 * goes to a new file in the same folder (created exclusively, never through a symlink) that is
 * then renamed over `path`, so readers never see a partial file and a symlink planted at `path`
 * is replaced rather than followed.
 */
export function writePidFile(path: string): void {
  const temp = join(dirname(path), `.${basename(path)}.${Deno.pid}.tmp`);
  try {
    Deno.removeSync(temp); // left over from a crash of a process with the same id
  } catch {
    // not there
  }
  const fd = openSync(
    temp,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    0o644,
  );
  try {
    try {
      fchmodSync(fd, 0o644);
      const data = new TextEncoder().encode(`${Deno.pid}\n`);
      let off = 0;
      while (off < data.length) off += writeSync(fd, data, off);
    } finally {
      closeSync(fd);
    }
    Deno.renameSync(temp, path);
  } catch (e) {
    try {
      Deno.removeSync(temp);
    } catch {
      // gone
    }
    throw e;
  }
}

/** Remove the PID file if it still holds our process id. */
export function removePidFile(path: string): void {
  try {
    if (Deno.readTextFileSync(path).trim() === String(Deno.pid)) Deno.removeSync(path);
  } catch {
    // gone already, or not ours
  }
}

/**
 * The PID file of a running server, following the configuration: {@link PidFile.update} writes
 * the path asked for (as root, so it works in a root-owned folder) and, when the path changed,
 * removes the old file only once the new one is written, so a failure keeps the old one.
 */
export class PidFile {
  #path?: string;

  /** Write the PID file at `path` (none when empty or false), replacing the previous one. */
  update(path: string | false | undefined): void {
    const old = this.#path;
    if ((path || undefined) === old) return;
    if (path) {
      try {
        const folder = ensureDefaultFolder(path);
        if (folder) log.info("Created {folder} for the control socket and PID file", { folder });
        withRootSync(() => writePidFile(path));
      } catch (e) {
        log.error("Cannot write PID file {path}: {error}", { path, error: (e as Error).message });
        return;
      }
    }
    this.#path = path || undefined;
    if (old) withRootSync(() => removePidFile(old));
  }

  /** Remove the PID file (as root). */
  remove(): void {
    if (this.#path) withRootSync(() => removePidFile(this.#path!));
    this.#path = undefined;
  }
}
