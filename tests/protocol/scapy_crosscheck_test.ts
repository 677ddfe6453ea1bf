/**
 * Cross-check against scapy: `scapy_build.py` builds messages with scapy's DHCP6 layers and
 * prints their bytes with the field values they carry; our parser must read the same values and
 * re-serialise the exact bytes.
 * @module
 */

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  fromHex,
  isIPv6,
  normalizeIPv6,
  parseMessage,
  serializeMessage,
  toHex,
} from "../../src/protocol/mod.ts";

const SCRIPT = new URL("./scapy_build.py", import.meta.url).pathname;

/** The first Python interpreter that can import scapy's DHCPv6 layers, if any. */
function findPython(): string | undefined {
  for (const candidate of ["python3", "/usr/bin/python3"]) {
    const r = spawnSync(candidate, ["-c", "import scapy.layers.dhcp6"], { encoding: "utf8" });
    if (r.status === 0) return candidate;
  }
  return undefined;
}

const python = findPython();

/** One message built by scapy. */
interface ScapyCase {
  name: string;
  hex: string;
  expected: Record<string, unknown>;
}

/** Compare `actual` with the subset `expected`; push differences to `problems`. */
function matchSubset(actual: unknown, expected: unknown, path: string, problems: string[]): void {
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return void problems.push(`${path}: not a list: ${actual}`);
    if (actual.length !== expected.length) {
      problems.push(`${path}: ${actual.length} items, expected ${expected.length}`);
      return;
    }
    expected.forEach((e, i) => matchSubset(actual[i], e, `${path}[${i}]`, problems));
  } else if (expected !== null && typeof expected === "object") {
    if (actual === null || typeof actual !== "object") {
      return void problems.push(`${path}: missing object`);
    }
    for (const [k, v] of Object.entries(expected)) {
      matchSubset((actual as Record<string, unknown>)[k], v, `${path}.${k}`, problems);
    }
  } else {
    let got: unknown = actual instanceof Uint8Array ? toHex(actual) : actual;
    let want: unknown = expected;
    if (typeof got === "string" && typeof want === "string" && isIPv6(got) && isIPv6(want)) {
      got = normalizeIPv6(got);
      want = normalizeIPv6(want);
    }
    if (got !== want) {
      problems.push(`${path}: ${JSON.stringify(got)}, scapy ${JSON.stringify(want)}`);
    }
  }
}

function scapyCases(): ScapyCase[] {
  const run = spawnSync(python!, [SCRIPT], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout) as ScapyCase[];
}

Deno.test({
  name: "scapy: messages built by scapy parse to the same values and re-serialise identically",
  ignore: python === undefined,
  async fn(t) {
    const cases = scapyCases();
    assert.ok(cases.length >= 10, `only ${cases.length} scapy cases`);
    for (const c of cases) {
      await t.step(c.name, () => {
        const bytes = fromHex(c.hex);
        const message = parseMessage(bytes);
        const problems: string[] = [];
        matchSubset(message, c.expected, c.name, problems);
        assert.deepEqual(problems, []);
        assert.equal(toHex(serializeMessage(message)), c.hex);
      });
    }
  },
});

if (python === undefined) {
  console.warn("python3 with scapy (python3-scapy) not found: scapy cross-checks ignored");
}
