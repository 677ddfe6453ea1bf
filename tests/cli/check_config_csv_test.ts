/**
 * `dhcpkit check-config` reads the static CSV files a configuration names the way the server
 * does: rows the server would skip are `FILE:LINE: warning: ...`, a file the server cannot use
 * or refuses (no usable rows, too many skipped) is an error, and `--strict` makes warnings errors.
 * Fixtures: tests/fixtures/csv-check/.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO, runCli } from "./helpers.ts";

const DIR = join(REPO, "tests/fixtures/csv-check");

function check(...args: string[]) {
  return runCli(["check-config", ...args], { cwd: DIR });
}

Deno.test("check-config: a clean CSV passes without warnings", async () => {
  const r = await check("good.conf");
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "good.conf: OK\n");
  assert.equal(r.stderr, "");
});

Deno.test("check-config: bad CSV rows are FILE:LINE warnings (also inside filters)", async () => {
  const csv = join(DIR, "bad-rows.csv");
  const r = await check("bad-rows.conf");
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "bad-rows.conf: OK (5 warnings)\n");
  const lines = r.stderr.trimEnd().split("\n");
  assert.deepEqual(lines.map((l) => l.slice(0, l.indexOf(": warning: "))), [
    `${csv}:3`,
    `${csv}:4`,
    `${csv}:5`,
    `${csv}:6`,
    `${csv}:7`,
  ]);
  assert.match(lines[0], /address "2001:db8::zz" is not an IPv6 address/);
  assert.match(lines[1], /has 1 field\(s\), the header names 3/);
  assert.match(lines[2], /duplicate id .* \(first assigned on line 2,/);
  assert.match(lines[3], /unknown id type "not-an-id"/);
  assert.match(lines[4], /prefix 2001:db8:200:1::\/48 has bits set after the first 48/);
});

Deno.test("check-config --strict: the same rows are errors, exit 1", async () => {
  const csv = join(DIR, "bad-rows.csv");
  const r = await check("--strict", "bad-rows.conf");
  assert.equal(r.code, 1);
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 6, r.stderr);
  assert.ok(lines.slice(0, 5).every((l) => l.startsWith(`${csv}:`) && !l.includes("warning")));
  assert.equal(lines[5], "bad-rows.conf: 5 errors");
  const clean = await check("--strict", "good.conf");
  assert.equal(clean.code, 0, clean.stderr);
});

Deno.test("check-config: a CSV without usable rows is an error (the server refuses it)", async () => {
  const csv = join(DIR, "nothing.csv");
  const r = await check("nothing.conf");
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`^${csv}:2: warning: duid is not hexadecimal`, "m"));
  assert.match(r.stderr, new RegExp(`^${csv}: no usable assignments; .*would not start`, "m"));
  assert.match(r.stderr, /nothing\.conf: 1 error\n$/);
});

Deno.test("check-config: a CSV the server cannot use is an error", async () => {
  const r = await check("no-header.conf");
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no-header\.csv: line 1 must be a header naming the columns/);
  assert.match(r.stderr, /no-header\.conf: 1 error\n$/);
});
