/**
 * Loader for the message corpus in `tests/fixtures/corpus/*.hex`: one DHCPv6 message per file,
 * hex text (whitespace and `#` comment lines ignored).
 * @module
 */

import { fromHex } from "../../src/protocol/mod.ts";

/** Directory holding the corpus files. */
export const CORPUS_DIR: string = new URL("../fixtures/corpus/", import.meta.url).pathname;

/** One corpus entry. */
export interface CorpusEntry {
  /** File name without `.hex`. */
  name: string;
  /** The message bytes. */
  bytes: Uint8Array;
}

/** Decode the text of a `.hex` file (comment lines start with `#`). */
export function decodeHexFile(text: string): Uint8Array {
  const hex = text.split("\n").filter((l) => !l.trimStart().startsWith("#")).join("")
    .replace(/\s+/g, "");
  return fromHex(hex);
}

/** Every corpus message, sorted by name. Needs `--allow-read`. */
export function loadCorpus(dir: string = CORPUS_DIR): CorpusEntry[] {
  const out: CorpusEntry[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    if (!entry.isFile || !entry.name.endsWith(".hex")) continue;
    out.push({
      name: entry.name.slice(0, -4),
      bytes: decodeHexFile(Deno.readTextFileSync(dir + entry.name)),
    });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
