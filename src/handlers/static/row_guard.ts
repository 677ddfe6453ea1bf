/**
 * The guard against bad data files: a static source that has no usable rows, whose rows are
 * mostly unusable, or that lost more than `max-row-loss` of the rows of the table in use, is
 * refused. At start-up the server then does not start; at a reload the engine under construction
 * fails, so the table in use keeps serving and the reload answers why (the 30 % rule of
 * `build-sqlite` is the model).
 *
 * "The table in use" is per thread: every open handler registers the row count of its source
 * under the source's path, and leaves when it closes. While a reload builds its engine the old
 * engine is still open, so the new source is compared with the old one; a build that fails
 * closes what it opened, so it never becomes the reference.
 * @module
 */

/** A data source refused because it looks broken; the message names the file and the reason. */
export class DataSourceRefused extends Error {
  /** Create the error. */
  constructor(message: string) {
    super(message);
    this.name = "DataSourceRefused";
  }
}

/** Row counts of the open sources of this thread, per path, per owner. */
const inUse = new Map<string, Map<object, number>>();

/** The largest row count an open source of `path` has in this thread (0 when none is open). */
export function rowsInUse(path: string): number {
  let most = 0;
  for (const n of inUse.get(path)?.values() ?? []) most = Math.max(most, n);
  return most;
}

function percent(share: number): string {
  return `${Math.round(share * 1000) / 10}%`;
}

/** What {@link guardRows} checks. */
export interface RowCounts {
  /** Usable assignments in the new source. */
  rows: number;
  /** Data rows read from the file (usable and skipped), when known (CSV). */
  readRows?: number;
  /** The share of rows that may be lost (`max-row-loss`, 0.0-1.0). */
  maxLoss: number;
}

/**
 * Check the new source of `path` (throws {@link DataSourceRefused}) and register it for `owner`
 * as a table in use; {@link releaseRows} removes it again.
 */
export function guardRows(path: string, counts: RowCounts, owner: object): void {
  const { rows, readRows, maxLoss } = counts;
  if (rows === 0) {
    throw new DataSourceRefused(
      `${path}: no usable assignments; the file is refused (empty, damaged or truncated?)`,
    );
  }
  if (maxLoss < 1 && readRows !== undefined && rows < readRows * (1 - maxLoss)) {
    throw new DataSourceRefused(
      `${path}: only ${rows} of ${readRows} rows are usable (more than max-row-loss ` +
        `${percent(maxLoss)} skipped); the file is refused`,
    );
  }
  const previous = rowsInUse(path);
  if (maxLoss < 1 && previous > 0 && rows < previous * (1 - maxLoss)) {
    throw new DataSourceRefused(
      `${path}: ${rows} usable assignments where the table in use has ${previous} (more than ` +
        `max-row-loss ${percent(maxLoss)} lost); the file is refused and the table in use ` +
        "keeps serving (raise max-row-loss to accept the smaller file)",
    );
  }
  let owners = inUse.get(path);
  if (!owners) inUse.set(path, owners = new Map());
  owners.set(owner, rows);
}

/** Forget the source `owner` registered for `path` (it closed). */
export function releaseRows(path: string, owner: object): void {
  const owners = inUse.get(path);
  if (!owners) return;
  owners.delete(owner);
  if (owners.size === 0) inUse.delete(path);
}
