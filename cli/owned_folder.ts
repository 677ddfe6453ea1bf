/**
 * Writing generated files into a folder without ever touching a file we did not write.
 *
 * The folder keeps a manifest (a hidden file) listing the files the generator wrote. A run
 * writes the new set, removes only listed files that are no longer generated, and refuses
 * (before writing anything) a folder that holds files but no manifest, and a file it would
 * change that the manifest does not list. `dhcpkit config-docs` and `dhcpkit man` write
 * this way.
 * @module
 */

import { join } from "node:path";
import { CommandError, osMessage } from "./errors.ts";

/** What a write did. */
export interface OwnedWrite {
  /** Files written. */
  written: number;
  /** Files removed because they were listed in the manifest but are no longer generated. */
  removed: string[];
}

/** The names in a manifest's text (comments and blank lines skipped). */
export function manifestNames(text: string): string[] {
  return text.split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"));
}

function manifestText(generator: string, names: Iterable<string>): string {
  return [
    `# Files written by \`${generator}\`. It removes or overwrites only the files listed here;`,
    "# everything else in this folder is left alone.",
    ...[...names].sort(),
    "",
  ].join("\n");
}

/** The type of what is at `path`, or undefined when nothing is. */
function kindOf(path: string): "dir" | "file" | "other" | undefined {
  try {
    const info = Deno.lstatSync(path);
    return info.isDirectory ? "dir" : info.isFile ? "file" : "other";
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/**
 * Write `files` (name -> text) into `dir` for `generator` (e.g. `dhcpkit config-docs`), keeping
 * the manifest `manifest` there. Throws {@link CommandError} with one line when the folder is
 * not usable or not ours; nothing is written then.
 */
export function writeOwnedFolder(
  dir: string,
  files: ReadonlyMap<string, string>,
  manifest: string,
  generator: string,
): OwnedWrite {
  const kind = kindOf(dir);
  if (kind !== undefined && kind !== "dir") {
    throw new CommandError(`${dir} exists and is not a folder`);
  }
  let owned: string[] = [];
  if (kind === "dir") {
    const manifestPath = join(dir, manifest);
    if (kindOf(manifestPath) === "file") {
      owned = manifestNames(Deno.readTextFileSync(manifestPath));
    } else {
      const entries = [...Deno.readDirSync(dir)];
      if (entries.length > 0) {
        throw new CommandError(
          `${dir} holds files ${generator} did not write (there is no ${manifest} in it); ` +
            "give an empty or new folder",
        );
      }
    }
    for (const [name, text] of files) {
      const target = join(dir, name);
      const existing = kindOf(target);
      // A file with exactly the text we would write is ours to keep (e.g. merged in unlisted).
      const same = existing === "file" && Deno.readTextFileSync(target) === text;
      if (existing !== undefined && (existing !== "file" || !owned.includes(name)) && !same) {
        throw new CommandError(
          `${target} exists and was not written by ${generator}; move it away first`,
        );
      }
    }
  } else {
    try {
      Deno.mkdirSync(dir, { recursive: true });
    } catch (e) {
      if (e instanceof Deno.errors.NotCapable) throw e;
      throw new CommandError(`cannot create ${dir}: ${osMessage(e as Error)}`);
    }
  }
  const removed: string[] = [];
  for (const name of owned) {
    // Only plain names: a manifest must not lead us out of the folder.
    if (files.has(name) || name.includes("/") || name === "." || name === "..") continue;
    const path = join(dir, name);
    if (kindOf(path) !== "file") continue;
    Deno.removeSync(path);
    removed.push(name);
  }
  for (const [name, text] of files) Deno.writeTextFileSync(join(dir, name), text);
  Deno.writeTextFileSync(join(dir, manifest), manifestText(generator, files.keys()));
  return { written: files.size, removed };
}
