import { deepEqual, equal, ok } from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { checkConfigCommand, type CommandOutput } from "../../cli/check_config.ts";
import { configDocsCommand } from "../../cli/config_docs.ts";
import { fixture, loadFixture } from "./helpers.ts";

function capture(): CommandOutput & { lines: string[]; errs: string[] } {
  const lines: string[] = [];
  const errs: string[] = [];
  return { lines, errs, out: (l) => lines.push(l), err: (l) => errs.push(l) };
}

const repo = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));

Deno.test("check-config: OK and exit 0 for a valid file", async () => {
  const io = capture();
  const file = fixture("reference/map-e.conf");
  equal(await checkConfigCommand([file], io), 0);
  deepEqual(io.lines, [`${file}: OK`]);
  deepEqual(io.errs, []);
});

Deno.test("check-config: every error as FILE:LINE: message, exit 1", async () => {
  const io = capture();
  const file = fixture("broken/broken-46.conf");
  equal(await checkConfigCommand([file], io), 1);
  deepEqual(io.errs.slice(0, 3).map((l) => l.slice(0, l.indexOf(": ", file.length + 1))), [
    `${file}:5`,
    `${file}:7`,
    `${file}:10`,
  ]);
  equal(io.errs[3], `${file}: 3 errors`);
});

Deno.test("check-config: host checks are marked and can be skipped", async () => {
  const file = fixture("reference/main.conf");
  const io = capture();
  const rc = await checkConfigCommand([file], io);
  // `demo` normally does not exist and 2001:db8::1 is not configured here.
  if (rc === 1) ok(io.errs.slice(0, -1).every((l) => l.endsWith("(host check)")));
  const skip = capture();
  equal(await checkConfigCommand(["--no-host-checks", file], skip), 0);
});

Deno.test("check-config: usage errors", async () => {
  equal(await checkConfigCommand([], capture()), 2);
  equal(await checkConfigCommand(["--bogus", "x"], capture()), 2);
  equal(await checkConfigCommand(["--help"], capture()), 0);
  const io = capture();
  equal(await checkConfigCommand(["/nonexistent.conf"], io), 1);
  equal(io.errs[0], "/nonexistent.conf: cannot read configuration file: no such file");
});

Deno.test("examples/isp.conf checks clean without host checks", async () => {
  const file = repo("examples/isp.conf");
  const io = capture();
  equal(await checkConfigCommand(["--no-host-checks", file], io), 0, io.errs.join("\n"));
  // With host checks, anything reported must be a host check.
  const full = loadFixture("../../../examples/isp.conf");
  ok(full.errors.every((e) => e.host), full.errors.map((e) => e.message).join("\n"));
  const c = loadFixture("../../../examples/isp.conf", { hostChecks: false }).config!;
  equal(c.listeners.length, 2);
  const depth = (
    n: { children: readonly { kind: string; children: readonly unknown[] }[] },
  ): number =>
    1 + Math.max(0, ...n.children.filter((x) => x.kind === "filter").map((x) => depth(x as never)));
  equal(Math.max(...c.handlers.filter((h) => h.kind === "filter").map((h) => depth(h))), 3);
});

Deno.test("config-docs: committed docs/config is up to date", async () => {
  const dir = mkdtempSync(join(tmpdir(), "dhcpkit-docs-"));
  equal(await configDocsCommand(["-o", dir], capture()), 0);
  const fresh = readdirSync(dir).sort();
  // The manifest (.dhcpkit-config-docs) included: it must list exactly the generated pages.
  const committed = readdirSync(repo("docs/config")).sort();
  deepEqual(committed, fresh, "run `deno run -A cli/config_docs.ts` to regenerate docs/config");
  for (const f of fresh) {
    equal(
      readFileSync(join(repo("docs/config"), f), "utf8"),
      readFileSync(join(dir, f), "utf8"),
      `docs/config/${f} is stale: run \`deno run -A cli/config_docs.ts\``,
    );
  }
  ok(fresh.includes("index.md"));
  ok(fresh.includes("recursive-name-servers.md"));
});
