/**
 * One style of usage text for every subcommand, all made from the usage tables: `dhcpkit help
 * CMD` is `dhcpkit CMD --help`, `dhcpkit help` lists every command, the checked-in man pages and
 * bash completion are what the tables give today, the completion works in a real bash, and
 * `--verbosity` is accepted where the original programs had it.
 */

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO, runCli } from "./helpers.ts";

/** The subcommands (as `dhcpkit help` lists them), read from the program itself. */
async function commandNames(): Promise<string[]> {
  const r = await runCli(["help"]);
  assert.equal(r.code, 0, r.stderr);
  const list = r.stdout.split("\nCommands:\n")[1].split("\n\n")[0];
  return list.split("\n").filter((l) => /^ {2}\S/.test(l)).map((l) => l.trim().split(/\s+/)[0]);
}

Deno.test("help: lists every subcommand, including those the README and guide name", async () => {
  const names = await commandNames();
  for (
    const name of [
      "serve",
      "ctl",
      "check-config",
      "config-docs",
      "build-sqlite",
      "decode",
      "leasequery",
      "query",
      "man",
      "completion",
      "help",
      "version",
    ]
  ) {
    assert.ok(names.includes(name), `${name} missing from ${names.join(", ")}`);
  }
});

Deno.test("help CMD equals CMD --help, in one style for every command", async () => {
  for (const name of await commandNames()) {
    const viaHelp = await runCli(["help", name]);
    const viaFlag = await runCli([name, "--help"]);
    assert.equal(viaHelp.code, 0, `help ${name}: ${viaHelp.stderr}`);
    assert.equal(viaFlag.code, 0, `${name} --help: ${viaFlag.stderr}`);
    assert.equal(viaHelp.stdout, viaFlag.stdout, name);
    const text = viaFlag.stdout;
    assert.match(text, new RegExp(`^Usage: dhcpkit ${name}\\b`), name);
    // The same parts in the same order.
    const parts = ["\nOptions:\n", "  -h, --help "].map((p) => text.indexOf(p));
    assert.ok(parts.every((i) => i > 0), `${name}: no Options section with -h, --help`);
    const exit = text.indexOf("\nExit status:\n");
    assert.ok(exit > parts[0], `${name}: Exit status after Options`);
    for (const line of text.split("\n")) assert.ok(line.length <= 80, `${name}: long line ${line}`);
  }
});

Deno.test("man pages: docs/man is what `dhcpkit man -o` writes today", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "dhcpkit-man-" });
  try {
    const r = await runCli(["man", "-o", dir]);
    assert.equal(r.code, 0, r.stderr);
    const fresh = readdirSync(dir).sort();
    const committed = readdirSync(join(REPO, "docs/man")).sort();
    const regenerate = "run `deno run -A cli/main.ts man -o docs/man`";
    assert.deepEqual(committed, fresh, regenerate);
    for (const f of fresh) {
      assert.equal(
        readFileSync(join(REPO, "docs/man", f), "utf8"),
        readFileSync(join(dir, f), "utf8"),
        `docs/man/${f} is stale: ${regenerate}`,
      );
    }
    for (const page of ["dhcpkit.1", "dhcpkit-serve.8", "dhcpkit-ctl.8", "dhcpkit-query.1"]) {
      assert.ok(fresh.includes(page), page);
    }
    // `dhcpkit man CMD` prints the same page.
    const query = await runCli(["man", "query"]);
    assert.equal(query.stdout, readFileSync(join(dir, "dhcpkit-query.1"), "utf8"));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("man pages: man(1) renders every page without warnings", async () => {
  const groff = new Deno.Command("groff", { args: ["--version"], stdout: "null", stderr: "null" });
  try {
    await groff.output();
  } catch {
    console.log("note: skipped: groff is not installed (Debian package groff-base)");
    return;
  }
  const dir = join(REPO, "docs/man");
  for (const page of readdirSync(dir).filter((f) => /\.[18]$/.test(f))) {
    const out = await new Deno.Command("groff", {
      // Plain text: no bold or underline by overstriking.
      args: ["-man", "-Tutf8", "-ww", "-P-c", "-P-b", "-P-o", "-P-u", join(dir, page)],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(new TextDecoder().decode(out.stderr), "", page);
    const text = new TextDecoder().decode(out.stdout);
    assert.match(text, /\nSYNOPSIS\n/, page);
  }
});

const COMPLETION = join(REPO, "completion/dhcpkit.bash");

Deno.test("bash completion: completion/dhcpkit.bash is what `dhcpkit completion bash` prints", async () => {
  const r = await runCli(["completion", "bash"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    readFileSync(COMPLETION, "utf8"),
    r.stdout,
    "run `deno run -A cli/main.ts completion bash > completion/dhcpkit.bash`",
  );
});

/** What `_dhcpkit` completes for the command line `words` (the last word is being typed). */
async function complete(words: string[]): Promise<string[]> {
  const script = [
    `source ${JSON.stringify(COMPLETION)}`,
    `COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")})`,
    `COMP_CWORD=${words.length - 1}`,
    "_dhcpkit",
    'printf "%s\\n" "${COMPREPLY[@]}"',
  ].join("\n");
  const out = await new Deno.Command("bash", {
    args: ["--norc", "--noprofile", "-c", script],
    cwd: REPO,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(new TextDecoder().decode(out.stderr), "", words.join(" "));
  return new TextDecoder().decode(out.stdout).split("\n").filter(Boolean).sort();
}

Deno.test("bash completion works in a real bash", async () => {
  assert.deepEqual(await complete(["dhcpkit", "qu"]), ["query"]);
  assert.deepEqual(await complete(["dhcpkit", "c"]), [
    "check-config",
    "completion",
    "config-docs",
    "ctl",
  ]);
  assert.deepEqual(await complete(["dhcpkit", "query", "--ser"]), ["--server", "--server-duid"]);
  assert.deepEqual(await complete(["dhcpkit", "query", "--port", "547", "re"]), [
    "rebind",
    "release",
    "renew",
    "request",
  ]);
  // The value of an option is not taken for the positional.
  assert.deepEqual(await complete(["dhcpkit", "query", "--server", "re"]), []);
  assert.deepEqual(await complete(["dhcpkit", "ctl", "-c", "/run/x.sock", "re"]), [
    "reload",
    "reopen-logs",
  ]);
  assert.deepEqual(await complete(["dhcpkit", "help", "build"]), [
    "build-postgresql",
    "build-sqlite",
  ]);
  assert.deepEqual(await complete(["dhcpkit", "serve", "--verb"]), ["--verbosity"]);
  assert.deepEqual(await complete(["dhcpkit", "check-config", "examples/isp.c"]), [
    "examples/isp.conf",
  ]);
  assert.deepEqual(await complete(["dhcpkit", "config-docs", "-o", "docs/con"]), ["docs/config"]);
  assert.deepEqual(await complete(["dhcpkit", "completion", ""]), ["bash"]);
});

Deno.test("--verbosity is accepted by serve, ctl and build-sqlite; --verbose still works", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "dhcpkit-verbosity-" });
  try {
    for (const flag of ["--verbosity", "--verbose", "-v"]) {
      // Each gets as far as its real failure, not a usage error.
      const serve = await runCli(["serve", flag, join(dir, "missing.conf")]);
      assert.equal(serve.code, 1, `serve ${flag}: ${serve.stderr}`);
      assert.match(serve.stderr, /missing\.conf: cannot read configuration file/);
      const ctl = await runCli(["ctl", flag, "-c", join(dir, "no.sock"), "stats"]);
      assert.equal(ctl.code, 1, `ctl ${flag}: ${ctl.stderr}`);
      assert.match(ctl.stderr, /no\.sock does not exist/);
      const build = await runCli(["build-sqlite", flag, join(dir, "none.csv"), join(dir, "x.db")]);
      assert.equal(build.code, 1, `build-sqlite ${flag}: ${build.stderr}`);
      assert.match(build.stderr, /none\.csv: cannot/);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("README's command table and the guide's Installing sentence name every subcommand", async () => {
  const names = await commandNames();
  const readme = readFileSync(join(REPO, "README.md"), "utf8");
  const table = readme.slice(readme.indexOf("## The program"), readme.indexOf("From a checkout"));
  const rows = table.split("\n").filter((l) => l.startsWith("| `dhcpkit "));
  const inTable = rows.map((l) => /^\| `dhcpkit (\S+)/.exec(l)![1].replace(/`$/, ""));
  assert.deepEqual(inTable.sort(), [...names].sort());
  const guide = readFileSync(join(REPO, "docs/operator-guide.md"), "utf8");
  const sentence = guide.slice(guide.indexOf("Every task is a subcommand"));
  const listed = sentence.slice(0, sentence.indexOf(".", sentence.indexOf("`version`")));
  for (const name of names) {
    const named = listed.includes(`\`${name}\``) || listed.includes(`\`dhcpkit ${name}\``);
    assert.ok(named, `the guide's list misses ${name}`);
  }
});
