/**
 * `dhcpkit check-config` finds the data files the probe of issue 20 showed it passing as OK: a
 * CSV with a 10 MB line, a NUL byte, 100,000 duplicate rows or a truncated last row, an SQLite
 * database cut in half or with a damaged page, an empty SQLite table. Each is reported as
 * `FILE:LINE: reason` or `FILE: reason` and makes the command fail; the good files pass.
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { runCli } from "./helpers.ts";

const duid = (i: number) => `duid:00030001${i.toString(16).padStart(12, "0")}`;
const rows = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => `${duid(from + i)},2001:db8::${(from + i).toString(16)},\n`)
    .join("");
const HEADER = "id,address,prefix\n";

function sqlite(path: string, n: number): void {
  const db = new DatabaseSync(path);
  db.exec("CREATE TABLE assignments (id TEXT PRIMARY KEY, address TEXT, prefix TEXT)");
  const insert = db.prepare("INSERT INTO assignments VALUES (?, ?, ?)");
  db.exec("BEGIN");
  for (let i = 0; i < n; i++) insert.run(duid(i), `2001:db8::${i.toString(16)}`, null);
  db.exec("COMMIT");
  db.close();
}

async function check(dir: string, name: string, section: string) {
  const conf = join(dir, `${name}.conf`);
  Deno.writeTextFileSync(conf, `<${section} ${name}>\n</${section}>\n`);
  return await runCli(["check-config", conf], { cwd: dir });
}

Deno.test("check-config: broken data files are errors naming the file (and line)", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "dkb-check-" });
  try {
    const file = (name: string) => join(dir, name);
    Deno.writeTextFileSync(file("good.csv"), HEADER + rows(1000));
    Deno.writeTextFileSync(
      file("long.csv"),
      HEADER + rows(10) + `${duid(99)},${"a".repeat(10 * 1024 * 1024)},\n` + rows(10, 20),
    );
    const nul = new TextEncoder().encode(HEADER + rows(10) + "duid:00\0 02,2001:db8::99,\n");
    Deno.writeFileSync(file("nul.csv"), nul);
    Deno.writeTextFileSync(file("dup.csv"), HEADER + `${duid(1)},2001:db8::1,\n`.repeat(100_000));
    Deno.writeTextFileSync(file("cut.csv"), HEADER + rows(1000) + `${duid(5000)},2001:db`);
    sqlite(file("good.sqlite"), 5000);
    const whole = Deno.readFileSync(file("good.sqlite"));
    Deno.writeFileSync(file("half.sqlite"), whole.subarray(0, whole.length >> 1));
    const damaged = whole.slice();
    damaged.fill(0x5a, 4096 * 5, 4096 * 6); // one b-tree page overwritten
    Deno.writeFileSync(file("page.sqlite"), damaged);
    sqlite(file("empty.sqlite"), 0);

    const cases: Array<[string, string, RegExp]> = [
      ["long.csv", "static-csv", /long\.csv:12: a row longer than 65536 characters/],
      ["nul.csv", "static-csv", /nul\.csv:12: contains a NUL byte/],
      ["dup.csv", "static-csv", /dup\.csv: only 1 of 100000 rows are usable .*would not start/],
      ["cut.csv", "static-csv", /cut\.csv:1002: the last row is incomplete .*truncated/],
      ["half.sqlite", "static-sqlite", /half\.sqlite: .*(malformed|damaged)/],
      ["page.sqlite", "static-sqlite", /page\.sqlite: .*(malformed|damaged)/],
      ["empty.sqlite", "static-sqlite", /empty\.sqlite: no usable assignments/],
    ];
    for (const [name, section, expected] of cases) {
      const r = await check(dir, name, section);
      assert.equal(r.code, 1, `${name}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, expected, name);
      assert.match(r.stderr, new RegExp(`${name.replace(".", "\\.")}\\.conf: 1 error\\n$`));
      // Nothing echoed is huge: the 10 MB field and 100,000 duplicates are cut short.
      assert.ok(r.stderr.length < 8000, `${name}: ${r.stderr.length} characters of output`);
    }
    for (const [name, section] of [["good.csv", "static-csv"], ["good.sqlite", "static-sqlite"]]) {
      const r = await check(dir, name, section);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `${join(dir, name)}.conf: OK\n`);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("check-config: max-row-loss 100% accepts a file of mostly duplicates (with warnings)", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "dkb-check-" });
  try {
    Deno.writeTextFileSync(join(dir, "dup.csv"), HEADER + `${duid(1)},2001:db8::1,\n`.repeat(50));
    const conf = join(dir, "dup.conf");
    Deno.writeTextFileSync(conf, "<static-csv dup.csv>\n    max-row-loss 100%\n</static-csv>\n");
    const r = await runCli(["check-config", conf], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${conf}: OK (21 warnings)\n`);
    assert.match(r.stderr, /dup\.csv: warning: 29 more rows skipped \(not listed\)/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
