/**
 * The README's promises, checked. Its commands run here as written, except where another test
 * runs them:
 *
 * - `deno task start` / `deno task query ...` (also through `npx`): demo_test.ts;
 * - `deno task test`: .ci/run runs it (asserted below), `deno task check`/`doc --lint` likewise;
 * - the "Decoding messages" block, each line through bash in the repository (a fixture stands in
 *   for `capture.pcapng`), and what it says about malformed input;
 * - the permissions "from a checkout" (`cli/main.ts COMMAND`), that no task runs with `-A`, and
 *   that `./compile.sh` grants the same permissions (`--no-ffi` all but `--allow-ffi`), with a
 *   stand-in `deno` that records what it is asked to compile;
 * - the benchmark commands are measurements, not tests: their tasks and files must exist, and the
 *   performance figures in the prose must be the ones in the tables;
 * - `deno doc mod.ts` works; every folder of "Layout" exists.
 * @module
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT, run } from "../e2e/netns.ts";
import { codeBlocks } from "./example_server.ts";

const README = "README.md";
const readme = () => Deno.readTextFileSync(join(REPO_ROOT, README));

/** The part of the README under a `## ` heading. */
function section(title: string): string {
  const text = readme();
  const start = text.indexOf(`\n## ${title}\n`);
  assert.ok(start >= 0, `README has a "${title}" section`);
  const end = text.indexOf("\n## ", start + 1);
  return text.slice(start, end < 0 ? undefined : end);
}

/** The tasks of deno.json. */
function tasks(): Record<string, string> {
  return JSON.parse(Deno.readTextFileSync(join(REPO_ROOT, "deno.json"))).tasks;
}

Deno.test("README: the decoding commands work as written", async () => {
  const block = codeBlocks(README).find((b) => b.info === "sh" && /decode --pcap/.test(b.text));
  assert.ok(block, "the decoding block");
  const lines = block.text.trim().split("\n");
  assert.equal(lines.length, 4);
  for (const line of lines) {
    const command = line.replace("capture.pcapng", "tests/fixtures/pcap/scapy_advertise.pcapng");
    const r = await run("bash", ["-c", command], { cwd: REPO_ROOT, check: false });
    const messages = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.ok(messages.length >= 1 && messages.every((m) => typeof m.type === "string"), line);
    if (/--validate/.test(line)) {
      // The comment says what is wrong with it: it is decoded, then reported, exit 1.
      assert.equal(r.code, 1, `${line}: ${r.stderr}`);
      assert.equal(messages[0].type, "solicit");
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.match(r.stderr, /input 1: .*client-id/);
    } else {
      assert.equal(r.code, 0, `${line}: ${r.stderr}`);
      assert.equal(r.stderr, "", line);
    }
  }
});

Deno.test("README: malformed input is one line, the rest still decoded, exit 1", async () => {
  const r = await run(Deno.execPath(), [
    "run",
    "cli/main.ts",
    "decode",
    "0b12345600",
    "0b1234560008000200000006000400170018",
  ], { cwd: REPO_ROOT, check: false });
  assert.equal(r.code, 1);
  const errors = r.stderr.trim().split("\n");
  assert.equal(errors.length, 1, r.stderr);
  assert.match(errors[0], /input 1: offset \d+: /);
  assert.equal(JSON.parse(r.stdout).type, "information-request");
});

Deno.test("README: from a checkout, with the listed permissions, no task with -A", async () => {
  const text = readme();
  const m = /`deno run ((?:--[a-z-]+\s+)+)cli\/main\.ts COMMAND \.\.\.`/.exec(text);
  assert.ok(m, "the README shows the permissions");
  const flags = m[1].trim().split(/\s+/);
  const r = await run(Deno.execPath(), [
    "run",
    ...flags,
    "cli/main.ts",
    "check-config",
    "--no-host-checks",
    "examples/isp.conf",
  ], { cwd: REPO_ROOT, check: false });
  assert.equal(r.code, 0, r.stderr + r.stdout);
  for (const [name, command] of Object.entries(tasks())) {
    // The test runner is the one exception the README names: its tests read other processes'
    // /proc entries and drive a browser, which Deno allows only with all permissions.
    if (name === "test") continue;
    assert.doesNotMatch(command, /(^|\s)(-A|--allow-all)(\s|$)/, `task ${name}`);
  }
});

Deno.test("README: ./compile.sh grants the server's permissions, --no-ffi all but ffi", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dhcpkit-compile-" });
  try {
    // A stand-in deno that records its arguments instead of compiling.
    const record = join(dir, "args");
    await Deno.writeTextFile(join(dir, "deno"), `#!/bin/sh\nprintf '%s\\n' "$@" > ${record}\n`);
    await Deno.chmod(join(dir, "deno"), 0o755);
    const env = { PATH: `${dir}:${Deno.env.get("PATH")}` };
    const compile = async (args: string[]) => {
      const out = await new Deno.Command(join(REPO_ROOT, "compile.sh"), {
        args,
        cwd: dir,
        env,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      return (await Deno.readTextFile(record)).trim().split("\n");
    };
    const full = await compile(["--unscoped-files", "-o", join(dir, "dhcpkit")]);
    assert.equal(full[0], "compile");
    const flags = readme().match(/`deno run ((?:--[a-z-]+\s+)+)cli\/main\.ts COMMAND/)![1]
      .trim().split(/\s+/);
    for (const flag of flags) assert.ok(full.includes(flag), `compile.sh grants ${flag}`);
    assert.equal(full.at(-1), "cli/main.ts");
    // By default files are scoped to the systemd layout (see compile_permissions_test.ts).
    const layout = await compile(["-o", join(dir, "dhcpkit")]);
    assert.ok(!layout.includes("--allow-read") && !layout.includes("--allow-write"));
    assert.ok(layout.includes("--allow-write=/var/lib/dhcpkit,/var/log/dhcpkit,/run/dhcpkit"));
    const scoped = await compile(["--unscoped-files", "--no-ffi", "-o", join(dir, "dhcpkit")]);
    assert.ok(!scoped.includes("--allow-ffi"), "--no-ffi leaves out --allow-ffi");
    for (const flag of flags.filter((f) => f !== "--allow-ffi")) assert.ok(scoped.includes(flag));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("README: the test command is what CI runs; tasks and files named exist", async () => {
  const ci = await Deno.readTextFile(join(REPO_ROOT, ".ci/run"));
  assert.match(ci, /^deno task test\b/m, ".ci/run runs `deno task test`");
  const text = readme();
  for (const [, name] of text.matchAll(/deno task ([a-z:]+)/g)) {
    assert.ok(name in tasks(), `deno task ${name} exists`);
  }
  const paths = [...text.matchAll(/\b((?:bench|docs|examples|src|cli|tests)\/[\w./-]*\w)/g)]
    .map((m) => m[1]);
  assert.ok(paths.length > 10);
  for (const path of paths) assert.ok(existsSync(join(REPO_ROOT, path)), `${path} exists`);
  for (const [, dir] of section("Layout").matchAll(/^(\S+\/)\s/gm)) {
    assert.ok(existsSync(join(REPO_ROOT, dir)), `${dir} exists`);
  }
  const doc = await run(Deno.execPath(), ["doc", "mod.ts"], { cwd: REPO_ROOT, check: false });
  assert.equal(doc.code, 0, doc.stderr);
});

Deno.test("README: the performance prose quotes the tables", () => {
  const perf = section("Performance");
  const blocks = [...perf.matchAll(/```\n([\s\S]*?)```/g)].map((m) => m[1]);
  const search = blocks.find((b) => b.startsWith("Highest perfdhcp rate"));
  assert.ok(search, "the rate search block");
  const rows = search.trim().split("\n").slice(2).map((l) => l.split(/\s{2,}/));
  const rate = (server: RegExp) => Number(rows.find((r) => server.test(r[1]))?.[2]);
  assert.equal(rate(/^kea$/), 21000, search);
  assert.equal(rate(/^dhcpkit/), 28000, search);
  assert.match(perf, /dhcpkit answered 28,000 exchanges\/s/);
  assert.match(perf, /Kea 21,000/);
  // The ratios the prose quotes are the "vs Kea" column of the median tables (runs A to G).
  const tables = blocks.filter((b) => b.startsWith("scenario"));
  assert.equal(tables.length, 7, "the tables of runs A, B, C, D, E, F and G");
  const ratio = (run: number, scenario: string, server: string) => {
    const lines = tables[run].trim().split("\n").slice(1);
    const line = lines.find((l) => l.startsWith(scenario) && l.includes(server));
    assert.ok(line, `${scenario} ${server}`);
    // drops, us/exch, then the "vs Kea" column (long labels push the columns right).
    const columns = line.match(/\s\d+\.\d+%\s+[\d.]+\s+([\d.]+|-)\s/);
    assert.ok(columns, line);
    return columns[1];
  };
  assert.equal(ratio(0, "4-way NA+PD static CSV", "(csv, workers 0)   "), "0.45");
  assert.match(perf, /0\.45x Kea's CPU per 4-way exchange/);
  assert.equal(ratio(1, "4-way NA+PD static CSV", "(csv, workers 0)   "), "0.42");
  assert.match(perf, /0\.42x in run B/);
  assert.equal(ratio(0, "4-way relayed", "(csv, workers 0) "), "0.45");
  assert.match(perf, /0\.45x\s+relayed/);
  assert.equal(ratio(0, "2-way NA+PD", "(csv, workers 0) "), "0.57");
  assert.match(perf, /0\.57x 2-way/);
  assert.equal(ratio(1, "4-way NA+PD static CSV", "(csv, workers 0, deno)"), "0.59");
  assert.match(perf, /0\.59x Kea with `workers 0`/);
  assert.equal(ratio(0, "4-way NA+PD static SQLite", "(sqlite, workers 0) "), "0.60");
  assert.match(perf, /SQLite: 0\.60x/);
  assert.equal(ratio(0, "4-way NA+PD pools, leases on disk", "(pools, workers 0)"), "0.91");
  assert.match(perf, /SQLite lease store: 0\.91x/);
  assert.equal(ratio(0, "4-way NA+PD pools, PostgreSQL", "(pools-postgresql"), "0.87");
  assert.match(perf, /500\/s: 0\.87x/);
  assert.equal(ratio(2, "4-way NA+PD static CSV", "(csv, workers 0)   "), "0.43");
  assert.equal(ratio(2, "2-way NA+PD", "(csv, workers 0) "), "0.93");
  assert.equal(ratio(2, "information-request", "(csv, workers 0) "), "1.20");
  assert.match(
    perf,
    /0\.43x Kea per 4-way exchange from a static CSV in run C, 0\.93x 2-way\s+and 1\.20x/,
  );
  assert.equal(ratio(2, "4-way NA+PD static PostgreSQL", "(postgresql, workers 0)"), "1.31");
  assert.match(perf, /\(1\.31x in run C\)/);
  assert.equal(
    ratio(3, "4-way NA+PD static PostgreSQL        1000", "(postgresql, workers 0)"),
    "0.45",
  );
  assert.match(perf, /0\.45x Kea's CPU per exchange, server and PostgreSQL/);
  assert.equal(ratio(4, "4-way NA+PD static CSV", "(csv, workers 0)   "), "0.80");
  assert.equal(ratio(4, "4-way relayed", "(csv, workers 0) "), "0.75");
  assert.equal(ratio(4, "4-way NA+PD static SQLite", "(sqlite, workers 0) "), "0.97");
  assert.equal(ratio(4, "2-way NA+PD", "(csv, workers 0) "), "1.02");
  assert.equal(ratio(4, "information-request", "(csv, workers 0) "), "1.35");
  assert.match(
    perf,
    /0\.80x Kea per 4-way\s+exchange from a static CSV, 0\.75x relayed, 0\.97x\s+from SQLite, 1\.02x 2-way\s+and 1\.35x/,
  );
  assert.equal(ratio(5, "4-way NA+PD static CSV", "(csv, workers 0)   "), "0.64");
  assert.match(perf, /run F's 4-way ratio \(0\.64x\)/);
  assert.equal(ratio(6, "2-way NA+PD", "(csv, workers 0) "), "0.61");
  assert.equal(ratio(6, "4-way NA+PD static CSV", "(csv, workers 0)   "), "0.55");
  assert.equal(ratio(6, "4-way NA+PD static SQLite", "(sqlite, workers 0) "), "0.46");
  assert.match(perf, /run G's ratios \(2-way 0\.61x, 4-way CSV 0\.55x, SQLite 0\.46x\)/);
});

/** The median of an odd number of figures. */
const median = (v: number[]) => [...v].sort((p, q) => p - q)[Math.floor(v.length / 2)];

Deno.test("README: the tables of three bench:load invocations are the medians of their runs", () => {
  const perf = section("Performance");
  const blocks = [...perf.matchAll(/```\n([\s\S]*?)```/g)].map((m) => m[1])
    .filter((b) => b.startsWith("case"));
  assert.equal(
    blocks.length,
    11,
    "the tables of runs H, I (after), J (before), K, L, M, N, O, P, Q and R",
  );
  const ratios = blocks.map((block) => {
    // Fixed columns: case (32), server (30), then run 1-3, median, vs Kea [, p99 per run].
    const rows = block.trim().split("\n").slice(1).map((line) => {
      const figures = line.slice(63).trim().split(/\s+/);
      return {
        scenario: line.slice(0, 32).trim(),
        server: line.slice(33, 63).trim(),
        runs: figures.slice(0, 3).map(Number),
        median: Number(figures[3]),
        ratio: figures[4],
      };
    });
    const kea = (scenario: string) =>
      rows.find((r) => r.server === "kea" && r.scenario === scenario) ??
        rows.find((r) => r.server === "kea" && r.scenario === "4-way NA+PD static CSV");
    const byCase = new Map<string, string>();
    for (const row of rows) {
      assert.equal(row.runs.length, 3, row.scenario);
      assert.ok(row.runs.every((n) => n > 0), `${row.scenario} ${row.server}`);
      assert.equal(row.median.toFixed(1), median(row.runs).toFixed(1), row.scenario);
      if (row.server === "kea") {
        assert.equal(row.ratio, "-");
        continue;
      }
      const base = kea(row.scenario);
      assert.ok(base, row.scenario);
      assert.equal(
        row.ratio,
        (row.median / base.median).toFixed(2),
        `${row.scenario} ${row.server}`,
      );
      byCase.set(`${row.scenario}|${row.server}`, row.ratio);
    }
    return byCase;
  });
  const [h, after, before, k, l, m, n, o, p, q, r] = ratios;
  const csv = "dhcpkit (csv, workers 0)", deno = "dhcpkit (csv, workers 0, deno)";
  const sqlite = "dhcpkit (sqlite, workers 0)";
  // The prose after the tables quotes their ratios.
  const prose = perf.slice(perf.indexOf("Runs H, I and J")).replace(/\s+/g, " ");
  // Runs K's bullet quotes six ratios in one sentence; kRuns(i) captures the i-th.
  const sentence = (opening: string) => [
    opening,
    "x, 4-way CSV ",
    "x, SQLite ",
    "x, relayed 4-way ",
    "x, the `deno` backend ",
    "x and relayed Information-requests ",
  ];
  const runsRatio = (opening: string, after: string) => (i: number) =>
    new RegExp(
      sentence(opening).map((part, j) =>
        part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&") + (j === i ? "(\\d\\.\\d\\d)" : "\\d\\.\\d\\d")
      ).join("") + after,
    );
  // The six cases the runs' bullets quote, in the order of their sentence.
  const sixCases = [
    `2-way NA+PD|${csv}`,
    `4-way NA+PD static CSV|${csv}`,
    `4-way NA+PD static SQLite|${sqlite}`,
    `4-way relayed to unicast|${csv}`,
    `4-way NA+PD static CSV|${deno}`,
    `information-request (relayed)|${csv}`,
  ];
  const quotedSix = (table: Map<string, string>, pattern: (i: number) => RegExp) =>
    sixCases.map((key, i): [Map<string, string>, string, RegExp] => [table, key, pattern(i)]);
  const kRuns = runsRatio("Runs K, after every change of this round: 2-way ", "x\\. Both");
  const lRuns = runsRatio("Runs L: 2-way ", "x\\. As in");
  const mRuns = runsRatio("Runs M: 2-way ", "x\\. On this");
  const nRuns = runsRatio("Runs N: 2-way ", "x\\. With");
  const oRuns = runsRatio("Runs O: 2-way ", "x\\. With");
  // Runs P ran with `io-batch-delay auto`, so their rows are named by it.
  const pRuns = runsRatio("Runs P, with `io-batch-delay auto`: 2-way ", "x\\. With");
  const auto = "dhcpkit (csv, delay auto)";
  // Runs Q: `auto` is the default, so the default rows are named as before runs P.
  const qRuns = runsRatio("Runs Q, with `io-batch-delay auto` the default: 2-way ", "x\\. With");
  const fixed = "dhcpkit (csv, delay 0.0005)";
  // Runs R: the Information-requests evenly paced; their bursts are a case of their own.
  const rRuns = runsRatio("Runs R: 2-way ", "x\\. With");
  const pCases = [
    `2-way NA+PD|${auto}`,
    `4-way NA+PD static CSV|${auto}`,
    "4-way NA+PD static SQLite|dhcpkit (sqlite, delay auto)",
    `4-way relayed to unicast|${auto}`,
    "4-way NA+PD static CSV|dhcpkit (csv, deno)",
    `information-request (relayed)|${auto}`,
  ];
  const quoted: [Map<string, string>, string, RegExp][] = [
    [after, `4-way NA+PD static CSV|${csv}`, /4-way CSV (\d\.\d\d)x, SQLite/],
    [after, `4-way NA+PD static SQLite|${sqlite}`, /SQLite (\d\.\d\d)x, relayed 4-way/],
    [after, `4-way relayed to unicast|${csv}`, /relayed 4-way (\d\.\d\d)x/],
    [after, `2-way NA+PD|${csv}`, /2-way (\d\.\d\d)x after/],
    [before, `2-way NA+PD|${csv}`, /\((\d\.\d\d)x\s+before, where Kea's median/],
    [after, `4-way NA+PD static CSV|${deno}`, /`deno` backend is at (\d\.\d\d)x/],
    [before, `4-way NA+PD static CSV|${deno}`, /backend is at \d\.\d\dx \((\d\.\d\d)x before\)/],
    [after, `information-request (relayed)|${csv}`, /Information-requests stay at (\d\.\d\d)x/],
    [before, `information-request (relayed)|${csv}`, /stay at \d\.\d\dx \((\d\.\d\d)x before\)/],
    [h, `2-way NA+PD|${csv}`, /runs H\) the same code was at (\d\.\d\d)x 2-way/],
    [h, `4-way NA+PD static CSV|${csv}`, /2-way, (\d\.\d\d)x 4-way CSV/],
    [h, `4-way NA+PD static SQLite|${sqlite}`, /4-way CSV, (\d\.\d\d)x SQLite/],
    [h, `4-way relayed to unicast|${csv}`, /SQLite, (\d\.\d\d)x\s+relayed/],
    [h, `information-request (relayed)|${csv}`, /relayed, (\d\.\d\d)x for Information-requests/],
    [h, `4-way NA+PD static CSV|${deno}`, /and (\d\.\d\d)x for the `deno` backend: dhcpkit/],
    ...quotedSix(k, kRuns),
    ...quotedSix(l, lRuns),
    ...quotedSix(m, mRuns),
    ...quotedSix(n, nRuns),
    ...quotedSix(o, oRuns),
    ...pCases.map((key, i): [Map<string, string>, string, RegExp] => [p, key, pRuns(i)]),
    [p, "2-way NA+PD|dhcpkit (csv, delay 0.0005)", /2-way was at (\d\.\d\d)x and 4-way CSV/],
    [p, "4-way NA+PD static CSV|dhcpkit (csv, delay 0.0005)", /4-way CSV at (\d\.\d\d)x; with a/],
    [p, "2-way NA+PD|dhcpkit (csv, delay 0.001)", /fixed 1 ms, 2-way at (\d\.\d\d)x/],
    ...quotedSix(q, qRuns),
    [q, `2-way NA+PD|${fixed}`, /a fixed 0\.5 ms, 2-way was at (\d\.\d\d)x,/],
    [q, `4-way NA+PD static CSV|${fixed}`, /, 4-way CSV at (\d\.\d\d)x and the/],
    [q, `information-request (relayed)|${fixed}`, /the Information-request at (\d\.\d\d)x in/],
    ...quotedSix(r, rRuns),
    [r, `information-request (bursts)|${csv}`, /In bursts dhcpkit is at (\d\.\d\d)x/],
    [n, "information-request (relayed)|dhcpkit (csv, gso no)", /20\.4 and 24\.0; (\d\.\d\d)x\)/],
    [
      o,
      "information-request (relayed)|dhcpkit (csv, reuse no)",
      /answers made the full way: (\d\.\d\d)x\)/,
    ],
  ];
  for (const [table, key, pattern] of quoted) {
    const match = prose.match(pattern);
    assert.ok(match, String(pattern));
    assert.equal(match[1], table.get(key), key);
  }
});
