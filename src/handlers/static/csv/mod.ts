/**
 * The CSV backend of static assignments: the whole file is read into one shared table (see
 * `table.ts`), keyed by canonical id, so a lookup costs one hash probe per candidate id. With
 * several workers the main thread loads it once and every worker reads the same memory.
 *
 * Duplicates: when several rows name the same client (after normalisation, so
 * `interface-id-str:A` and `interface-id:41` are the same client), the **first row wins** and
 * every later one is reported as a problem naming both lines.
 * @module
 */

import type { Assignment } from "../ids.ts";
import type { AssignmentSource } from "../source.ts";
import { type CsvProblem, type CsvReadSummary, scanAssignmentCsv } from "./reader.ts";
import { type AssignmentTable, AssignmentTableBuilder } from "./table.ts";

export { CsvFileError, type CsvProblem } from "./reader.ts";
export { AssignmentTable, AssignmentTableBuilder } from "./table.ts";

/** Assignments from a CSV file, held in memory. */
export class CsvAssignmentSource implements AssignmentSource {
  /** Wrap a table built by {@link loadCsvAssignments} (in this thread or another). */
  constructor(readonly path: string, readonly table: AssignmentTable) {}

  /** Data rows read from the file, usable and skipped, for the bad-data guard. */
  get rowsRead(): number {
    return this.table.rowsRead;
  }

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

  /** The assignment of the key `prefix` + hex of `data`, without building it (one hash probe). */
  lookupHex(prefix: string, data: Uint8Array): Assignment | undefined {
    return this.table.getHex(prefix, data);
  }

  /** `FILE:LINE` of the row that assigns `key`. */
  locate(key: string): string | undefined {
    const line = this.table.lineOf(key);
    return line === undefined ? undefined : `${this.path}:${line}`;
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
  const builder = new AssignmentTableBuilder();
  const problems: CsvProblem[] = [];
  const summary = await scanAssignmentCsv(path, (line, key, address, prefix) => {
    const first = builder.add(key, line, address, prefix);
    if (first !== undefined) {
      problems.push({
        line,
        message: `duplicate id ${key} (first assigned on line ${first}, which is used); ` +
          "row skipped",
      });
    }
  }, (p) => problems.push(p));
  const table = builder.build(summary.rows + summary.problems);
  return { source: new CsvAssignmentSource(path, table), problems, summary };
}
