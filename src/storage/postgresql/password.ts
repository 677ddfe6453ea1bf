/**
 * Password files: the first line of a file, read when a connection is made, so the password never
 * has to appear in a configuration file, a URL or a command line.
 * @module
 */

import { readFileSync, statSync } from "node:fs";

/** A password file that cannot be used; the message names the file, never its contents. */
export class PasswordFileError extends Error {
  /** Create the error. */
  constructor(message: string) {
    super(message);
    this.name = "PasswordFileError";
  }
}

/**
 * The password in `path`: its first line without the line end (surrounding white space is
 * kept, as a password may contain it, except a trailing `\r`). Throws {@link PasswordFileError}
 * when the file cannot be read or its first line is empty.
 */
export function readPasswordFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new PasswordFileError(
      `password file ${path}: cannot read it` +
        (code === "EACCES"
          ? " (permission denied: it must be readable by the user the server runs as)"
          : code === "ENOENT"
          ? " (no such file)"
          : ` (${(e as Error).message})`),
    );
  }
  const newline = text.indexOf("\n");
  const line = (newline < 0 ? text : text.slice(0, newline)).replace(/\r$/, "");
  if (line === "") throw new PasswordFileError(`password file ${path}: the first line is empty`);
  return line;
}

/**
 * A warning when others than the owner and its group may read `path` (a password file should be
 * mode 0600 or 0640), else undefined.
 */
export function passwordFileWarning(path: string): string | undefined {
  try {
    const mode = statSync(path).mode & 0o777;
    if (mode & 0o004) {
      return `password file ${path} is readable by everybody (mode ${
        mode.toString(8).padStart(4, "0")
      }); make it 0600 or 0640`;
    }
  } catch {
    // reported when it is read
  }
  return undefined;
}
