/**
 * Worker of `bench/static_scale.ts`: looks up existing clients in its own read-only SQLite
 * connection until the shared stop flag is set, counting lookups that fail (throw or find
 * nothing).
 * @module
 */

/// <reference lib="deno.worker" />

import { SqliteAssignmentSource } from "../src/handlers/static/sqlite/mod.ts";
import { keyOf } from "./static_scale.ts";

self.onmessage = (event: MessageEvent) => {
  const message = event.data;
  const stop = new Int32Array(message.stop as SharedArrayBuffer);
  const source = new SqliteAssignmentSource(message.db);
  const rows: number = message.rows;
  let x = message.seed * 2654435761 >>> 0;
  let lookups = 0, failed = 0, changedSeen = 0;
  self.postMessage({ kind: "ready" });
  const started = performance.now();
  while (Atomics.load(stop, 0) === 0) {
    for (let n = 0; n < 200; n++) {
      x = (x * 1103515245 + 12345) >>> 0;
      const i = x % rows;
      try {
        const found = source.lookup(["duid:0003000100000000ffff0000", keyOf(i)]);
        if (!found) failed++;
        else if (found.address?.endsWith("::2")) changedSeen++;
      } catch {
        failed++;
      }
      lookups++;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  source.close();
  self.postMessage({ lookups, failed, seconds, changedSeen });
};
