/**
 * The CSV backend of static assignments: the whole file is read into memory, keyed by canonical
 * id, so a lookup costs one hash probe per candidate id.
 *
 * Duplicates: when several rows name the same client (after normalisation, so
 * `interface-id-str:A` and `interface-id:41` are the same client), the **first row wins** and
 * every later one is reported as a problem naming both lines.
 * @module
 */

import { formatIPv6, IPv6Prefix } from "../../../protocol/mod.ts";
import { addressInto, type Assignment, prefixInto } from "../ids.ts";
import type { AssignmentSource } from "../source.ts";
import { type CsvProblem, type CsvReadSummary, scanAssignmentCsv } from "./reader.ts";

export { CsvFileError, type CsvProblem } from "./reader.ts";

const CHUNK_ROWS = 65536;
/** Bytes per row: flags, 16 address bytes, 16 prefix bytes, prefix length. */
const ROW_BYTES = 34;
const HAS_ADDRESS = 1;
const HAS_PREFIX = 2;

/**
 * A compact table of assignments: a Map from canonical id to a row number, and the rows' bytes
 * in fixed-size chunks. A million rows take about a third of the memory strings would.
 */
export class AssignmentTable {
  readonly #index = new Map<string, number>();
  readonly #rows: Uint8Array[] = [];
  readonly #lines: Int32Array[] = [];
  #count = 0;

  /** Number of clients in the table. */
  get size(): number {
    return this.#count;
  }

  /**
   * Add a row for `key` from raw `address` and `prefix` column values (empty = none), checking
   * them (throws `AssignmentFormatError`). Returns `undefined` when added, or the line of
   * the earlier row when `key` is already present (nothing changes).
   */
  add(key: string, line: number, address: string, prefix: string): number | undefined {
    const row = this.#count;
    const chunk = row >>> 16, offset = (row & (CHUNK_ROWS - 1)) * ROW_BYTES;
    if (chunk === this.#rows.length) {
      this.#rows.push(new Uint8Array(CHUNK_ROWS * ROW_BYTES));
      this.#lines.push(new Int32Array(CHUNK_ROWS));
    }
    // Check into the next free slot; it only counts once the key is new.
    const bytes = this.#rows[chunk];
    let flags = addressInto(address, bytes, offset + 1) ? HAS_ADDRESS : 0;
    const length = prefixInto(prefix, bytes, offset + 17);
    if (length > 0) flags |= HAS_PREFIX;
    const existing = this.#index.get(key);
    if (existing !== undefined) return this.#lineAt(existing);
    bytes[offset] = flags;
    bytes[offset + 33] = length;
    this.#lines[chunk][row & (CHUNK_ROWS - 1)] = line;
    this.#index.set(key, row);
    this.#count++;
    return undefined;
  }

  #lineAt(row: number): number {
    return this.#lines[row >>> 16][row & (CHUNK_ROWS - 1)];
  }

  /** The assignment of `key`, if any. */
  get(key: string): Assignment | undefined {
    const row = this.#index.get(key);
    if (row === undefined) return undefined;
    const bytes = this.#rows[row >>> 16], offset = (row & (CHUNK_ROWS - 1)) * ROW_BYTES;
    const flags = bytes[offset];
    // Views into the row: the table never changes a row once added.
    return new RowAssignment(
      flags & HAS_ADDRESS ? bytes.subarray(offset + 1, offset + 17) : undefined,
      flags & HAS_PREFIX
        ? IPv6Prefix.ofNetwork(bytes.subarray(offset + 17, offset + 33), bytes[offset + 33])
        : undefined,
    );
  }

  /** The line of the file that assigns `key`, if any. */
  lineOf(key: string): number | undefined {
    const row = this.#index.get(key);
    return row === undefined ? undefined : this.#lineAt(row);
  }
}

/** An assignment read from a table row, its address kept as bytes and formatted when asked for. */
class RowAssignment implements Assignment {
  #address?: string;

  constructor(readonly addressBytes?: Uint8Array, readonly prefix?: IPv6Prefix) {}

  get address(): string | undefined {
    if (!this.addressBytes) return undefined;
    return this.#address ??= formatIPv6(this.addressBytes);
  }
}

/** Assignments from a CSV file, held in memory. */
export class CsvAssignmentSource implements AssignmentSource {
  /**
   * Wrap a table built by {@link loadCsvAssignments}; `rowsRead` counts the data rows of the
   * file, usable or not.
   */
  constructor(
    readonly path: string,
    readonly table: AssignmentTable,
    readonly rowsRead?: number,
  ) {}

  /** Description for logs. */
  get description(): string {
    return `CSV file ${this.path}`;
  }

  /** Number of clients. */
  get size(): number {
    return this.table.size;
  }

  /** Number of clients (the usable rows loaded). */
  count(): number {
    return this.table.size;
  }

  /** The assignment of the first id that has one. */
  lookup(ids: readonly string[]): Assignment | undefined {
    for (const id of ids) {
      const found = this.table.get(id);
      if (found !== undefined) return found;
    }
    return undefined;
  }

  /** The assignment of `id`, if any (one hash probe). */
  lookupOne(id: string): Assignment | undefined {
    return this.table.get(id);
  }

  /** Nothing to release. */
  close(): void {}
}

/** A loaded CSV file and what was wrong with it. */
export interface CsvLoadResult {
  /** The assignments. */
  source: CsvAssignmentSource;
  /** Skipped rows (bad rows and duplicates), in file order. */
  problems: CsvProblem[];
  /** Totals of the read. */
  summary: CsvReadSummary;
}

/**
 * Read the assignment CSV at `path` into memory. Bad rows and duplicate ids are skipped and
 * returned as problems (the first row of an id wins); a file that cannot be used throws
 * {@link CsvFileError}.
 */
export async function loadCsvAssignments(path: string): Promise<CsvLoadResult> {
  const table = new AssignmentTable();
  const problems: CsvProblem[] = [];
  const summary = await scanAssignmentCsv(path, (line, key, address, prefix) => {
    const first = table.add(key, line, address, prefix);
    if (first !== undefined) {
      problems.push({
        line,
        message: `duplicate id ${key} (first assigned on line ${first}, which is used); ` +
          "row skipped",
      });
    }
  }, (p) => problems.push(p));
  const source = new CsvAssignmentSource(path, table, summary.rows + summary.problems);
  return { source, problems, summary };
}
