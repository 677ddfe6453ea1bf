/**
 * The storage interface behind the static assignment handler. Each backend (CSV in memory,
 * SQLite, later PostgreSQL) lives in its own folder and implements {@link AssignmentSource}.
 * @module
 */

import type { Assignment } from "./ids.ts";

export type { Assignment } from "./ids.ts";

/** Where static assignments are looked up. */
export interface AssignmentSource {
  /** A short description for log lines, e.g. `CSV file /etc/dhcpkit/assignments.csv`. */
  readonly description: string;

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

  /** The file the assignments come from, if any (the `source` label in `/metrics`). */
  readonly path?: string;

  /**
   * How many assignments the source holds (CSV: usable rows loaded; SQLite: rows in the table,
   * counted when asked), for `/metrics`.
   */
  count?(): number;

  /** Release the storage (close connections). */
  close(): void;
}
