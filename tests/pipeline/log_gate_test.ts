/** Tests for LogGate: a logger's level check kept until the logging configuration changes. */

import assert from "node:assert/strict";
import { configure, getLogger, reset } from "@logtape/logtape";
import { logConfigurationChanged, LogGate } from "../../src/pipeline/mod.ts";

async function configureLevel(level: "debug" | "info") {
  await configure({
    reset: true,
    sinks: { none: () => {} },
    loggers: [
      { category: ["gate-test"], lowestLevel: level, sinks: ["none"] },
      { category: ["logtape", "meta"], lowestLevel: "error", sinks: ["none"] },
    ],
  });
}

Deno.test("LogGate: answers as LogTape does, and again after logConfigurationChanged", async () => {
  const logger = getLogger(["gate-test", "child"]);
  const debug = new LogGate(logger, "debug");
  const info = new LogGate(logger, "info");
  try {
    await configureLevel("debug");
    logConfigurationChanged();
    assert.equal(debug.on, true);
    assert.equal(info.on, true);
    await configureLevel("info");
    // Until told, the gate keeps its answer (it does not ask LogTape on every call)...
    assert.equal(debug.on, true);
    logConfigurationChanged();
    // ...and then asks again.
    assert.equal(debug.on, false);
    assert.equal(logger.isEnabledFor("debug"), false);
    assert.equal(info.on, true);
  } finally {
    await reset();
    logConfigurationChanged();
  }
  assert.equal(debug.on, logger.isEnabledFor("debug"));
});
