/**
 * The package can be published: a LICENSE file with the full text of the licence that deno.json
 * names (MPL-2.0), and `deno publish --dry-run` (the static checks of .ci/run run it too) passes,
 * publishing the licence and the source but not the tests.
 * @module
 */

import assert from "node:assert/strict";
import { stripVTControlCharacters } from "node:util";
import { REPO_ROOT, run } from "../e2e/netns.ts";

Deno.test("publish: LICENSE holds the MPL-2.0 text that deno.json names", async () => {
  const config = JSON.parse(await Deno.readTextFile(`${REPO_ROOT}deno.json`));
  assert.equal(config.license, "MPL-2.0");
  const license = await Deno.readTextFile(`${REPO_ROOT}LICENSE`);
  assert.match(license, /^Mozilla Public License Version 2\.0\n/);
  for (const part of ["1. Definitions", "10. Versions of the License", "Exhibit B"]) {
    assert.ok(license.includes(part), `the full text: ${part}`);
  }
  assert.ok(license.length > 16_000, "the full text, not a notice");
});

Deno.test("publish: deno publish --dry-run passes", async () => {
  const r = await run(Deno.execPath(), ["publish", "--dry-run", "--allow-dirty"], {
    cwd: REPO_ROOT,
    check: false,
  });
  const output = stripVTControlCharacters(r.stdout + r.stderr);
  assert.equal(r.code, 0, output);
  assert.match(output, /Dry run complete/);
  assert.match(output, /\/LICENSE \(/, "the licence is published");
  assert.match(output, /\/mod\.ts \(/);
  assert.doesNotMatch(output, /file:\/\/\S*\/tests\//, "the tests are not published");
});
