/**
 * The folder of the default control socket and PID file, `/run/dhcpkit`: created by the server
 * when it uses a default path and the folder is missing (without systemd's `RuntimeDirectory=`,
 * e.g. started by hand after a reboot emptied `/run`). A path the operator chose is never given
 * a folder: a missing one stays an error there.
 * @module
 */

import { dirname } from "node:path";
import { DEFAULT_CONTROL_SOCKET, DEFAULT_PID_FILE } from "../config/mod.ts";
import { withRootSync } from "./privileges.ts";

/** The folders the server may create: those of the default paths. */
const DEFAULT_FOLDERS: ReadonlySet<string> = new Set([
  dirname(DEFAULT_CONTROL_SOCKET),
  dirname(DEFAULT_PID_FILE),
]);

/**
 * When `path` is the default control socket or PID file and its folder is missing, create the
 * folder (mode 0755, as root when the server dropped root). Returns the folder created, if any;
 * throws with a one-line message when it cannot be created.
 */
export function ensureDefaultFolder(path: string): string | undefined {
  if (path !== DEFAULT_CONTROL_SOCKET && path !== DEFAULT_PID_FILE) return undefined;
  const folder = dirname(path);
  if (!DEFAULT_FOLDERS.has(folder)) return undefined;
  try {
    return withRootSync(() => {
      try {
        Deno.lstatSync(folder);
        return undefined; // there already (or something else is: the caller's open says so)
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
      Deno.mkdirSync(folder, { mode: 0o755 });
      Deno.chmodSync(folder, 0o755); // whatever the umask
      return folder;
    });
  } catch (e) {
    throw new Error(`cannot create ${folder}: ${(e as Error).message}`);
  }
}
