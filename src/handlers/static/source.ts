/**
 * The storage interfaces behind the static assignment handler. Each backend lives in its own
 * folder: CSV (in memory) and SQLite implement {@link AssignmentSource}, answered while the
 * request is handled; PostgreSQL implements {@link AsyncAssignmentSource}, asked in the handler's
 * asynchronous lookup before the request is handled.
 * @module
 */

import type { Assignment } from "./ids.ts";

export type { Assignment } from "./ids.ts";

/** What every kind of assignment source has. */
export interface AssignmentSourceInfo {
  /** A short description for log lines, e.g. `CSV file /etc/dhcpkit/assignments.csv`. */
  readonly description: string;

  /** The file (or database table) the assignments come from, if any (`source` in `/metrics`). */
  readonly path?: string;

  /**
   * How many assignments the source holds (CSV: usable rows loaded; SQLite: rows in the table,
   * counted when asked; PostgreSQL: rows in the table when it was opened), for `/metrics`.
   */
  count?(): number;

  /**
   * Where the assignment of canonical key `key` is kept, for explain: `FILE:LINE` for a CSV
   * file, the database and key otherwise.
   */
  locate?(key: string): string | undefined;

  /** Data rows read from the file, usable and skipped (CSV), for the bad-data guard. */
  readonly rowsRead?: number;

  /** Release the storage (close connections). */
  close(): void | Promise<void>;
}

/** Where static assignments are looked up while a request is handled. */
export interface AssignmentSource extends AssignmentSourceInfo {
  /**
   * The assignment of the first key in `ids` (canonical keys, in lookup order) that has one, or
   * `undefined` when none has. Throws when the storage itself fails.
   */
  lookup(ids: readonly string[]): Assignment | undefined;

  /**
   * The assignment of the one canonical key `id`, if any: for sources where asking key by key
   * costs no more than asking for all at once (in memory). The handler then stops at the first
   * key that has an assignment, without building the keys after it.
   */
  lookupOne?(id: string): Assignment | undefined;

  /**
   * What {@link lookupOne} answers for the key `prefix` followed by the lower-case hex of `data`
   * (see `visitCandidateKeys`), for sources that can look it up without building the string.
   * `data` may be a view that is only valid during the call.
   */
  lookupHex?(prefix: string, data: Uint8Array): Assignment | undefined;

  /**
   * For a {@link lookupOne} source that keeps answers: a number that changes when answers it gave
   * earlier in the same batch turn out older than the one it just gave. A caller that asked
   * several keys for one request asks them all again when it changed during the request.
   */
  readonly generation?: number;
}

/** Which key an {@link AsyncAssignmentSource} found, for explain. */
export interface FetchedKey {
  /** The canonical key that had the assignment. */
  key?: string;
  /** Why the answer did not come from the database (e.g. the outage cache), if it did not. */
  cached?: string;
}

/** Where static assignments are fetched before a request is handled (a database server). */
export interface AsyncAssignmentSource extends AssignmentSourceInfo {
  /**
   * The assignment of the first key in `ids` (canonical keys, in lookup order) that has one, or
   * `undefined` when none has. Rejects when the answer is not known (the storage failed, a row
   * is malformed): the request must then not be answered. With `found` (explain), the key that
   * had the row is written to it, and whether the answer came from a cache.
   */
  fetch(ids: readonly string[], found?: FetchedKey): Promise<Assignment | undefined>;
  /**
   * The answer {@link AsyncAssignmentSource.fetch} would give, when it is known without asking
   * the storage (a cache kept current by the storage itself); undefined when it must be asked.
   */
  peek?(ids: readonly string[]): { assignment?: Assignment; key?: string } | undefined;
}

/** True when `source` is asked asynchronously. */
export function isAsyncSource(
  source: AssignmentSource | AsyncAssignmentSource,
): source is AsyncAssignmentSource {
  return typeof (source as AsyncAssignmentSource).fetch === "function";
}
