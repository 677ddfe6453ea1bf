/**
 * A worker for sqlite_wal_test.ts: waits until every worker of the round is ready, then opens
 * the store it is told to, at the same instant as the others, and answers "ok" or the error.
 * @module
 */

import { SqliteLeaseStore } from "../../../src/handlers/pools/sqlite.ts";
import { openDatabase } from "../../../src/handlers/leasequery/sqlite.ts";

self.onmessage = (event: MessageEvent<{ kind: string; path: string; gate: SharedArrayBuffer }>) => {
  const { kind, path, gate } = event.data;
  const count = new Int32Array(gate);
  Atomics.add(count, 0, 1);
  while (Atomics.load(count, 0) < 2) { /* spin: start together */ }
  try {
    if (kind === "pools") new SqliteLeaseStore(path, 5000, false, true).close();
    else openDatabase(path, 5000).close();
    self.postMessage("ok");
  } catch (e) {
    self.postMessage((e as Error).message);
  }
};
