/**
 * Worker of shared_table_test.ts: wraps the table buffer it is sent and answers the lookups of
 * the keys it is sent (address, prefix and line of each, or null).
 * @module
 */

/// <reference lib="deno.worker" />

import { AssignmentTable } from "../../../src/handlers/static/csv/mod.ts";

self.onmessage = (event: MessageEvent<{ buffer: SharedArrayBuffer; keys: string[] }>) => {
  const table = AssignmentTable.fromBuffer(event.data.buffer);
  self.postMessage({
    size: table.size,
    found: event.data.keys.map((key) => {
      const a = table.get(key);
      return a ? [a.address ?? null, a.prefix?.toString() ?? null, table.lineOf(key)] : null;
    }),
  });
};
