/** `<metrics>` has a typed place in the server configuration, set by the loader. */

import assert from "node:assert/strict";
import { errorLines, loadText } from "./helpers.ts";

Deno.test("<metrics> is config.metrics, with its defaults; absent means undefined", () => {
  const bare = loadText("<metrics>\n</metrics>\n");
  assert.deepEqual(bare.errors, []);
  assert.deepEqual(bare.config!.metrics, { address: "::1", port: 9547 });

  const set = loadText("<metrics>\n    address 2001:db8::10\n    port 9100\n</metrics>\n");
  assert.deepEqual(set.config!.metrics, { address: "2001:db8::10", port: 9100 });

  assert.equal(loadText("workers 0\n").config!.metrics, undefined);
  assert.deepEqual(errorLines(loadText("<metrics />\n<metrics />\n")).length, 1);
});
