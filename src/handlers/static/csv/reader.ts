/**
 * Streaming reader of assignment CSV files, shared by `<static-csv>` and `dhcpkit build-sqlite`.
 *
 * The file needs a header line naming the columns `id`, `address` and `prefix` (any order, any
 * case; other columns are ignored). The delimiter (`,`, `;`, tab or `|`) is the one that makes
 * the header contain those three names. A UTF-8 byte order mark, CRLF or LF line ends, quoted
 * fields and extra columns are all accepted. Each row's id is turned into its canonical key and
 * its address and prefix are checked and normalised here, once.
 *
 * Rows that cannot be used are reported through `onProblem` with their line number and skipped;
 * a file that cannot be used at all (unreadable, empty, no usable header, a quote that is never
 * closed) makes the reader throw a {@link CsvFileError} naming the file.
 * @module
 */

import { closeSync, createReadStream, openSync, readSync } from "node:fs";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { type InfoRecord, type Options, parse } from "csv-parse";
import { AssignmentFormatError, canonicalAddress, canonicalId, canonicalPrefix } from "../ids.ts";

/** A usable row of an assignment file, already normalised. */
export interface CsvAssignmentRow {
  /** Line number (1-based; the line on which the record ends). */
  line: number;
  /** Canonical key (see `ids.ts`). */
  key: string;
  /** Canonical address, or `undefined` when the column is empty. */
  address?: string;
  /** Canonical `address/length` prefix, or `undefined` when the column is empty. */
  prefix?: string;
  /** Bytes of the file read so far (for progress reports). */
  bytes?: number;
}

/** A row that was skipped. */
export interface CsvProblem {
  /** Line number (1-based). */
  line: number;
  /** What is wrong with it. */
  message: string;
}

/** A file that cannot be used at all; the message names the file (and line when known). */
export class CsvFileError extends Error {
  /** Create the error. */
  constructor(message: string) {
    super(message);
    this.name = "CsvFileError";
  }
}

/** Totals of one read. */
export interface CsvReadSummary {
  /** Rows handed to `onRow`. */
  rows: number;
  /** Rows reported to `onProblem`. */
  problems: number;
  /** Lines in the file. */
  lines: number;
}

/**
 * The longest record (in characters) a file may hold: a real row is well under 1 KB, so a longer
 * one means the file is not an assignment file or is damaged (csv-parse stops reading there).
 */
export const MAX_RECORD_CHARS = 65536;

const REQUIRED = ["id", "address", "prefix"] as const;
const DELIMITERS = [",", ";", "\t", "|"];
const SNIFF_BYTES = 10 * 1024;

function headerNames(line: string, delimiter: string): string[] {
  return line.split(delimiter).map((f) => f.trim().replace(/^"(.*)"$/, "$1").trim().toLowerCase());
}

/**
 * A field without surrounding white space; a field that still looks quoted (white space around
 * the quotes kept csv-parse from unquoting it) is unquoted.
 */
function clean(field: string): string {
  let f = field.trim();
  if (f.length >= 2 && f.charCodeAt(0) === 34 && f.charCodeAt(f.length - 1) === 34) {
    f = f.slice(1, -1).replaceAll('""', '"').trim();
  }
  return f;
}

/** Whether the file at `path` ends with a line end (or is empty). */
function endsWithLineEnd(path: string): boolean {
  const fd = openSync(path, "r");
  try {
    const size = Deno.statSync(path).size;
    if (size === 0) return true;
    const last = new Uint8Array(1);
    readSync(fd, last, 0, 1, size - 1);
    return last[0] === 10 || last[0] === 13;
  } finally {
    closeSync(fd);
  }
}

/** Read the first line (up to 10 KB) of the file; throws {@link CsvFileError}. */
function firstLine(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    throw new CsvFileError(`${path}: cannot open: ${(e as Error).message}`);
  }
  try {
    const buf = new Uint8Array(SNIFF_BYTES);
    const n = readSync(fd, buf, 0, buf.length, 0);
    let text = new TextDecoder().decode(buf.subarray(0, n));
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (text.trim() === "") {
      throw new CsvFileError(
        `${path}: the file is empty; it needs a header line with the columns id, address and prefix`,
      );
    }
    const end = text.search(/\r\n|\n|\r/);
    return end < 0 ? text : text.slice(0, end);
  } catch (e) {
    if (e instanceof CsvFileError) throw e;
    throw new CsvFileError(`${path}: cannot read: ${(e as Error).message}`);
  } finally {
    closeSync(fd);
  }
}

/** The delimiter that makes the header line name every required column. */
function sniffDelimiter(path: string, line: string): string {
  for (const d of DELIMITERS) {
    const names = headerNames(line, d);
    if (REQUIRED.every((r) => names.includes(r))) return d;
  }
  const shown = line.length > 80 ? line.slice(0, 80) + "..." : line;
  const names = headerNames(line, ",");
  const missing = REQUIRED.filter((r) => !names.includes(r));
  throw new CsvFileError(
    `${path}: line 1 must be a header naming the columns id, address and prefix; ` +
      `missing ${missing.join(", ")} in ${JSON.stringify(shown)}`,
  );
}

/**
 * Turns one record into what the parser passes on (or null), given its line, canonical key, raw
 * address and prefix fields and the bytes read so far; throws {@link AssignmentFormatError} for a
 * bad address or prefix.
 */
type RecordSink<T> = (
  line: number,
  key: string,
  address: string,
  prefix: string,
  bytes: number,
) => T | null;

/** Canonicalise a record into a {@link CsvAssignmentRow}. */
const toRow: RecordSink<CsvAssignmentRow> = (line, key, address, prefix, bytes) => ({
  line,
  key,
  address: canonicalAddress(address),
  prefix: canonicalPrefix(prefix),
  bytes,
});

/** A csv-parse parser that turns records into rows (or problems), and its bookkeeping. */
function rowParser<T>(
  path: string,
  emit: RecordSink<T>,
  onProblem: (problem: CsvProblem) => void,
) {
  const delimiter = sniffDelimiter(path, firstLine(path));
  let idCol = -1, addressCol = -1, prefixCol = -1, needed = 0;
  let header = true;
  let lastLine = 0;
  const state = {
    rows: 0,
    problems: 0,
    unclosedFrom: 0,
    lastShortLine: 0,
    fatal: undefined as CsvFileError | undefined,
  };
  const problem = (line: number, message: string) => {
    state.problems++;
    onProblem({ line, message });
  };
  /** A file that is damaged: reading stops, the whole file is refused. */
  const damaged = (line: number, message: string): null => {
    state.fatal ??= new CsvFileError(`${path}: line ${line}: ${message}`);
    parser.destroy(state.fatal);
    return null;
  };
  const parser = parse({
    bom: true,
    delimiter,
    record_delimiter: ["\r\n", "\n", "\r"],
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    max_record_size: MAX_RECORD_CHARS,
    // No `trim`: csv-parse loses the rest of the file after a quote error when trimming (7.0.3).
    // Fields are trimmed (and unquoted when spaces surrounded the quotes) by `clean` instead.
    // csv-parse types on_record as returning a record; ours returns the parsed row instead.
    on_record: ((record: string[], context: InfoRecord): T | null => {
      const line = context.lines;
      lastLine = line;
      if (header) {
        header = false;
        const names = record.map((f) => clean(f).toLowerCase());
        idCol = names.indexOf("id");
        addressCol = names.indexOf("address");
        prefixCol = names.indexOf("prefix");
        needed = Math.max(idCol, addressCol, prefixCol) + 1;
        return null;
      }
      if (state.fatal) return null;
      for (const field of record) {
        if (field.includes("\0")) {
          return damaged(line, "contains a NUL byte: the file is binary or damaged");
        }
      }
      if (record.length < needed) {
        if (record.length === 1 && record[0] === "") return null;
        problem(line, `has ${record.length} field(s), the header names ${needed}; row skipped`);
        state.lastShortLine = line;
        return null;
      }
      try {
        const out = emit(
          line,
          canonicalId(clean(record[idCol])),
          clean(record[addressCol]),
          clean(record[prefixCol]),
          context.bytes,
        );
        state.rows++;
        return out;
      } catch (e) {
        if (!(e instanceof AssignmentFormatError)) throw e;
        problem(line, `${e.message}; row skipped`);
        return null;
      }
    }) as unknown as Options["on_record"],
    on_skip: (err) => {
      if (err?.code === "CSV_QUOTE_NOT_CLOSED") {
        state.unclosedFrom = lastLine + 1;
        return undefined;
      }
      if (err?.code === "CSV_MAX_RECORD_SIZE") {
        damaged(
          (err as { lines?: number }).lines ?? lastLine + 1,
          `a row longer than ${MAX_RECORD_CHARS} characters: the file is not an assignment ` +
            "file or is damaged",
        );
        return undefined;
      }
      const line = (err as { lines?: number } | undefined)?.lines ?? lastLine + 1;
      lastLine = line;
      problem(line, `not valid CSV (${err?.message ?? "unknown error"}); row skipped`);
      return undefined;
    },
  });
  const finish = (): CsvReadSummary => {
    if (state.fatal) throw state.fatal;
    if (state.unclosedFrom > 0) {
      throw new CsvFileError(
        `${path}: line ${state.unclosedFrom}: a quoted field is never closed, so the rest of ` +
          "the file cannot be read",
      );
    }
    // A last row with too few fields and no line end was cut off while being written.
    if (state.lastShortLine > 0 && state.lastShortLine >= lastLine && !endsWithLineEnd(path)) {
      throw new CsvFileError(
        `${path}: line ${state.lastShortLine}: the last row is incomplete and has no line ` +
          "end: the file looks truncated (still being written?)",
      );
    }
    return { rows: state.rows, problems: state.problems, lines: parser.info.lines };
  };
  return { parser, finish };
}

/** Read the whole file through a {@link rowParser} whose `emit` hands each record on itself. */
async function readWhole(
  path: string,
  emit: RecordSink<null>,
  onProblem: (problem: CsvProblem) => void,
): Promise<CsvReadSummary> {
  const { parser, finish } = rowParser(path, emit, onProblem);
  const sink = new Writable({ objectMode: true, write: (_chunk, _enc, done) => done() });
  try {
    await pipeline(createReadStream(path, { highWaterMark: 1 << 20 }), parser, sink);
  } catch (e) {
    if (e instanceof CsvFileError) throw e;
    throw new CsvFileError(`${path}: cannot read: ${(e as Error).message}`);
  }
  return finish();
}

/**
 * Read the assignment CSV at `path`, calling `onRecord` for every record whose id is valid (with
 * the canonical key and the raw address and prefix fields, which it must check, throwing
 * {@link AssignmentFormatError} to skip the row) and `onProblem` for every skipped row, in file
 * order. This is the fast path of the in-memory table. Throws {@link CsvFileError} when the file
 * cannot be used.
 */
export async function scanAssignmentCsv(
  path: string,
  onRecord: (line: number, key: string, address: string, prefix: string) => void,
  onProblem: (problem: CsvProblem) => void,
): Promise<CsvReadSummary> {
  return await readWhole(path, (line, key, address, prefix) => {
    onRecord(line, key, address, prefix);
    return null;
  }, onProblem);
}

/**
 * Read the assignment CSV at `path`, calling `onRow` for every usable (canonicalised) row and
 * `onProblem` for every skipped one, in file order. Throws {@link CsvFileError} when the file
 * cannot be used.
 */
export async function readAssignmentCsv(
  path: string,
  onRow: (row: CsvAssignmentRow) => void,
  onProblem: (problem: CsvProblem) => void,
): Promise<CsvReadSummary> {
  return await readWhole(path, (...args) => {
    onRow(toRow(...args)!);
    return null;
  }, onProblem);
}

/**
 * The usable rows of the assignment CSV at `path` as an async iterable that reads the file as
 * it is consumed (so a slow consumer holds little in memory). Skipped rows go to `onProblem`;
 * throws {@link CsvFileError} when the file cannot be used.
 */
export async function* iterateAssignmentCsv(
  path: string,
  onProblem: (problem: CsvProblem) => void,
): AsyncGenerator<CsvAssignmentRow, CsvReadSummary> {
  const { parser, finish } = rowParser(path, toRow, onProblem);
  const done = pipeline(createReadStream(path, { highWaterMark: 1 << 20 }), parser);
  done.catch(() => {});
  try {
    for await (const row of parser) yield row as CsvAssignmentRow;
    await done;
  } catch (e) {
    if (e instanceof CsvFileError) throw e;
    throw new CsvFileError(`${path}: cannot read: ${(e as Error).message}`);
  } finally {
    parser.destroy();
  }
  return finish();
}
