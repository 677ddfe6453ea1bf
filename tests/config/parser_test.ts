import { deepEqual, equal, ok } from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IssueCollector, parseConfigFile, parseConfigText } from "../../src/config/mod.ts";
import { errorLines, loadText, registry } from "./helpers.ts";
import { loadConfig } from "../../src/config/mod.ts";

function parse(text: string) {
  const issues = new IssueCollector();
  const root = parseConfigText(text, "/tmp/x/test.conf", issues);
  return { root, issues: issues.issues.map((i) => `${i.line}: ${i.message}`) };
}

Deno.test("parser: keys, both separators, comments, blank lines, case", () => {
  const { root, issues } = parse(
    "# comment\n\n  USER   nobody  \nworkers = 4\nmax-exceptions=3\n   # indented comment\n",
  );
  deepEqual(issues, []);
  deepEqual(root.keys.map((k) => [k.key, k.value, k.line]), [
    ["user", "nobody", 3],
    ["workers", "4", 4],
    ["max-exceptions", "3", 5],
  ]);
});

Deno.test("parser: sections, names keep case, self-closing forms", () => {
  const { root, issues } = parse([
    "<Subnet 2001:DB8::/32>",
    "  <IGNORE-REQUEST/>",
    "  <static-csv Data/File.csv />",
    "  <lq-sqlite /var/x.sqlite/>",
    "</SUBNET>",
    "<syslog />",
  ].join("\n"));
  deepEqual(issues, []);
  const s = root.sections[0];
  equal(s.type, "subnet");
  equal(s.name, "2001:DB8::/32");
  equal(s.line, 1);
  deepEqual(s.sections.map((c) => [c.type, c.name, c.line]), [
    ["ignore-request", undefined, 2],
    ["static-csv", "Data/File.csv", 3],
    ["lq-sqlite", "/var/x.sqlite", 4],
  ]);
  deepEqual([root.sections[1].type, root.sections[1].name], ["syslog", undefined]);
});

Deno.test("parser: %define with $NAME, ${NAME} and $$", () => {
  const { root, issues } = parse([
    "%define net 2001:db8",
    "%define PRICE 5",
    "a ${NET}::1",
    "b $net::2 costs $$$PRICE",
    "<subnet ${net}::/32>",
    "</subnet>",
  ].join("\n"));
  deepEqual(issues, []);
  deepEqual(root.keys.map((k) => k.value), ["2001:db8::1", "2001:db8::2 costs $5"]);
  equal(root.sections[0].name, "2001:db8::/32");
});

Deno.test("parser: substitution errors", () => {
  deepEqual(parse("a $nope").issues, ["1: `$nope` is not defined"]);
  deepEqual(parse("%define net x\na $nett").issues, [
    "2: `$nett` is not defined; did you mean `$net`?",
  ]);
  deepEqual(parse("a 5$").issues, [
    "1: a `$` must start a defined name; write `$$` for a dollar sign",
  ]);
  deepEqual(parse("a ${x").issues, ["1: unterminated `${` in value"]);
});

Deno.test("parser: %include relative to the including file, keeps file and line", () => {
  const dir = mkdtempSync(join(tmpdir(), "dhcpkit-cfg-"));
  Deno.mkdirSync(join(dir, "sub"));
  writeFileSync(join(dir, "main.conf"), "user nobody\n%include sub/dns.conf\n");
  writeFileSync(
    join(dir, "sub", "dns.conf"),
    "# included\n<recursive-name-servers>\n  %include more.conf\n</recursive-name-servers>\n",
  );
  writeFileSync(join(dir, "sub", "more.conf"), "address 2001:db8::53\n");
  const issues = new IssueCollector();
  const root = parseConfigFile(join(dir, "main.conf"), issues);
  deepEqual(issues.issues, []);
  const s = root.sections[0];
  equal(s.file, join(dir, "sub", "dns.conf"));
  equal(s.line, 2);
  equal(s.keys[0].file, join(dir, "sub", "more.conf"));
  equal(s.keys[0].line, 1);

  const loaded = loadConfig(join(dir, "main.conf"), { registry, hostChecks: false });
  deepEqual(loaded.errors, []);
  equal(loaded.config!.handlers[0].values.addresses[0].text, "2001:db8::53");
});

Deno.test("parser: include cycles and sections left open in an include", () => {
  const dir = mkdtempSync(join(tmpdir(), "dhcpkit-cfg-"));
  writeFileSync(join(dir, "a.conf"), "%include b.conf\n");
  writeFileSync(join(dir, "b.conf"), "\n%include a.conf\n<subnet 2001:db8::/32>\n");
  const issues = new IssueCollector();
  parseConfigFile(join(dir, "a.conf"), issues);
  deepEqual(issues.issues.map((i) => [i.file, i.line]), [
    [join(dir, "b.conf"), 2],
    [join(dir, "b.conf"), 3],
  ]);
  ok(issues.issues[0].message.startsWith("include cycle: "));
  ok(issues.issues[1].message.includes("never closed"));
});

Deno.test("parser: missing main file is reported against the file", () => {
  const issues = new IssueCollector();
  parseConfigFile("/nonexistent/dhcpkit.conf", issues);
  deepEqual(issues.issues.map((i) => [i.file, i.line, i.message]), [
    ["/nonexistent/dhcpkit.conf", 0, "cannot read configuration file: no such file"],
  ]);
});

Deno.test("parser: unbalanced tags report found and expected tags", () => {
  deepEqual(parse("<a>\n<b>\n</a>\n</a>").issues, [
    "3: closing tag </a> does not match section <b> opened at line 2: expected </b>",
  ]);
  deepEqual(parse("</a>").issues, ["1: closing tag </a> without an open section"]);
  deepEqual(parse("<a>\n<b>\n").issues, [
    "2: section <b> is never closed: expected </b> before the end of the file",
    "1: section <a> is never closed: expected </a> before the end of the file",
  ]);
  deepEqual(parse("<1a>").issues, ["1: malformed section tag `<1a>`"]);
  deepEqual(parse("(x) y").issues, ["1: cannot understand this line: `(x) y`"]);
});

Deno.test("loader: a key written as a section and a section written as a key get hints", () => {
  const r = loadText("<user>\n</user>\nsubnet 2001:db8::/32\n");
  deepEqual(errorLines(r), [
    "1: unknown section type <user>; `user` is a key: write `user VALUE`",
    "3: unknown key `subnet` at the top level; <subnet> is a section type: write it as " +
    "<subnet> ... </subnet>",
  ]);
});
