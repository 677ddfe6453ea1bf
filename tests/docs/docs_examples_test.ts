/**
 * The guides' examples cannot rot: every code block marked ```LANG file=PATH must be identical to
 * that file, the TypeScript examples must type-check and their tests pass, and every example
 * configuration must satisfy check-config.
 */

import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { checkConfigCommand } from "../../cli/check_config.ts";
import { defaultRegistry, loadConfigText } from "../../src/config/mod.ts";
import { installBuiltins } from "../../src/handlers/mod.ts";
import { SERVER_PERMISSIONS } from "../helpers/server.ts";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const EXAMPLES = join(REPO, "docs/examples");
const GUIDES = ["docs/operator-guide.md", "docs/extension-guide.md"];

/** A fenced code block that names the file it shows. */
interface FileBlock {
  guide: string;
  line: number;
  file: string;
  text: string;
}

/** Every ```LANG file=PATH block of a Markdown file. */
function fileBlocks(guide: string): FileBlock[] {
  const lines = readFileSync(join(REPO, guide), "utf8").split("\n");
  const blocks: FileBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```\S*\s+file=(\S+)\s*$/.exec(lines[i]);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== "```"; i++) body.push(lines[i]);
    blocks.push({ guide, line: start + 1, file: open[1], text: body.join("\n") + "\n" });
  }
  return blocks;
}

/** All files below a folder, recursively. */
function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

/** Run a deno subcommand in the repository; returns exit code and combined output. */
async function deno(args: string[]): Promise<{ code: number; output: string }> {
  const result = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: REPO,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const decoder = new TextDecoder();
  return {
    code: result.code,
    output: decoder.decode(result.stdout) + decoder.decode(result.stderr),
  };
}

Deno.test("docs: code blocks marked file=PATH are identical to the files", () => {
  const shown = new Set<string>();
  for (const guide of GUIDES) {
    const blocks = fileBlocks(guide);
    assert.ok(blocks.length >= 5, `${guide} should show its examples from docs/examples`);
    for (const block of blocks) {
      const where = `${block.guide}:${block.line}`;
      assert.ok(
        block.file.startsWith("docs/examples/"),
        `${where}: examples live in docs/examples`,
      );
      let actual: string;
      try {
        actual = readFileSync(join(REPO, block.file), "utf8");
      } catch {
        assert.fail(`${where}: ${block.file} does not exist`);
      }
      assert.equal(block.text, actual, `${where}: the block differs from ${block.file}`);
      shown.add(block.file);
    }
  }
  // Every example is shown somewhere, so none is left behind unmaintained.
  const files = walk(EXAMPLES).map((f) => relative(REPO, f)).filter((f) => !f.endsWith(".md"));
  const unshown = files.filter((f) => !shown.has(f) && f !== "docs/examples/composed.conf");
  assert.deepEqual(unshown, [], "examples not shown in any guide");
});

Deno.test("docs: the TypeScript examples type-check", async () => {
  const files = walk(EXAMPLES).filter((f) => f.endsWith(".ts")).map((f) => relative(REPO, f));
  const { code, output } = await deno(["check", ...files]);
  if (code === 0) return;
  // Only errors located in the examples count here; the rest of the code base has its own check.
  const inExamples = output.split("\n").filter((l) => /at file:\/\/\S*\/docs\/examples\//.test(l));
  assert.deepEqual(inExamples, [], output);
});

Deno.test("docs: the example extension's tests pass", async () => {
  const { code, output } = await deno(["test", ...SERVER_PERMISSIONS, "docs/examples/"]);
  assert.equal(code, 0, output);
  assert.match(output, /ok \| [1-9]\d* passed \| 0 failed/);
});

Deno.test("docs: every example configuration satisfies check-config", async () => {
  const configs = walk(EXAMPLES).filter((f) => f.endsWith(".conf") && !f.endsWith("composed.conf"));
  assert.ok(configs.length >= 6);
  for (const file of configs) {
    const lines: string[] = [];
    const output = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l) };
    const code = await checkConfigCommand(["--no-host-checks", file], output);
    assert.equal(code, 0, lines.join("\n"));
  }
});

Deno.test("docs: the composed entry knows its extension without an extension key", async () => {
  const conf = "docs/examples/composed.conf";
  const composed = await deno([
    "run",
    ...SERVER_PERMISSIONS,
    "docs/examples/custom_entry.ts",
    "check-config",
    "--no-host-checks",
    conf,
  ]);
  assert.equal(composed.code, 0, composed.output);
  assert.match(composed.output, /composed\.conf: OK/);
  const plain = await deno([
    "run",
    ...SERVER_PERMISSIONS,
    "cli/main.ts",
    "check-config",
    "--no-host-checks",
    conf,
  ]);
  assert.equal(plain.code, 1);
  assert.match(plain.output, /composed\.conf:4: unknown section type <captive-portal>/);
});

/** Where a section of each kind that cannot stand at the top level goes, to load its example. */
const CONTEXT: Record<string, (example: string) => string> = {
  "log-handler": (example) => `<logging>\n${example}\n</logging>\n`,
  "leasequery-store": (example) => `<leasequery>\n${example}\n</leasequery>\n`,
  "map-rule": (example) => `<map-e>\n    br-address 2001:db8::1\n${example}\n</map-e>\n`,
};

Deno.test("docs: every example of the configuration reference loads where it belongs", () => {
  installBuiltins();
  const specs = defaultRegistry.types();
  assert.ok(specs.length >= 40);
  for (const spec of specs) {
    if (!spec.example) continue;
    const text = (CONTEXT[spec.kind] ?? ((e: string) => e))(spec.example);
    // Examples are fragments: they get the one listener a runnable file needs.
    const result = loadConfigText(`<listen-unicast ::1 />\n${text}`, `${spec.type}.md`, {
      hostChecks: false,
    });
    const errors = result.issues.filter((i) => i.severity === "error");
    assert.deepEqual(errors.map((e) => `${e.line}: ${e.message}`), [], `<${spec.type}> example`);
  }
});
