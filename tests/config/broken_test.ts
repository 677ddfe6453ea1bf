import { ok } from "node:assert/strict";
import { basename } from "node:path";
import { formatIssue } from "../../src/config/mod.ts";
import { fixture, loadFixture } from "./helpers.ts";

/**
 * Every `broken-NN.conf` starts with `# expect: FILE:LINE: substring` lines (and optionally
 * `# options: --no-host-checks`). Each expectation must match an error, and each error must be
 * matched by an expectation.
 */
const dir = fixture("broken");
const files = [...Deno.readDirSync(dir)]
  .map((e) => e.name)
  .filter((n) => /^broken-\d+\.conf$/.test(n))
  .sort();

Deno.test("there are at least 40 broken fixtures", () => {
  ok(files.length >= 40, `only ${files.length}`);
});

for (const name of files) {
  Deno.test(`broken fixture ${name}`, () => {
    const text = Deno.readTextFileSync(`${dir}/${name}`);
    const expects: string[] = [];
    let hostChecks = true;
    for (const line of text.split("\n")) {
      const e = /^# expect: (.*)$/.exec(line);
      if (e) expects.push(e[1].trim());
      if (/^# options: .*--no-host-checks/.test(line)) hostChecks = false;
    }
    ok(expects.length > 0, `${name} has no # expect: line`);
    const result = loadFixture(`broken/${name}`, { hostChecks });
    ok(result.config === undefined, `${name} should not load`);
    const shown = result.errors.map((i) => formatIssue({ ...i, file: basename(i.file) }));
    const matched = new Set<number>();
    for (const exp of expects) {
      const m = /^([^:]+):(\d+): (.*)$/.exec(exp)!;
      const prefix = `${m[1]}:${m[2]}: `;
      const idx = shown.findIndex((s) => s.startsWith(prefix) && s.includes(m[3]));
      ok(idx >= 0, `${name}: expected "${exp}"\n  got:\n    ${shown.join("\n    ")}`);
      matched.add(idx);
    }
    const unmatched = shown.filter((_, i) => !matched.has(i));
    ok(unmatched.length === 0, `${name}: unexpected errors:\n    ${unmatched.join("\n    ")}`);
  });
}
