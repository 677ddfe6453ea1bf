/**
 * Switching an SQLite database to write-ahead logging when several connections may do it at
 * the same moment (every worker opens the lease stores at start-up). SQLite answers
 * `PRAGMA journal_mode = WAL` with "database is locked" at once, without its busy handler, when
 * another connection is switching or creating the same new file; this retries instead.
 * @module
 */

import type { DatabaseSync } from "node:sqlite";

/** Pause between attempts (ms). */
const RETRY_MS = 5;

/** Whether `e` is SQLite's answer for a lock another connection holds. */
export function isBusyError(e: unknown): boolean {
  return e instanceof Error && /database is (locked|busy)/.test(e.message);
}

/**
 * Put `db` in WAL mode, retrying for up to `waitMs` while another connection holds the lock the
 * switch needs (the thread sleeps between attempts: this runs while a store opens, before any
 * request is answered). Throws the last error when the time is up or for any other error.
 */
export function enableWal(db: DatabaseSync, waitMs: number): void {
  const deadline = Date.now() + Math.max(0, waitMs);
  let pause: Int32Array | undefined;
  for (;;) {
    try {
      db.exec("PRAGMA journal_mode = WAL");
      return;
    } catch (e) {
      if (!isBusyError(e) || Date.now() >= deadline) throw e;
      pause ??= new Int32Array(new SharedArrayBuffer(4));
      Atomics.wait(pause, 0, 0, RETRY_MS);
    }
  }
}
