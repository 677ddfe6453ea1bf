/**
 * `dhcpkit config-docs` never removes or overwrites a file it did not write: it keeps a manifest
 * in its output folder, removes only stale pages listed there, refuses a folder with files but
 * no manifest, and `-o` is relative to the current folder. Run as the real program.
 */

import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { assertOneLineError, REPO, runCli } from "./helpers.ts";
import { checkoutConfigDocs } from "../../cli/config_docs.ts";

const MANIFEST = ".dhcpkit-config-docs";

function tempDir(): string {
  return Deno.makeTempDirSync({ prefix: "dhcpkit-config-docs-" });
}

Deno.test("config-docs: an operator's TODO.md next to the pages survives every run", async () => {
  const dir = tempDir();
  try {
    const out = join(dir, "reference");
    const first = await runCli(["config-docs", "-o", out]);
    assert.equal(first.code, 0, first.stderr);
    assert.ok(readdirSync(out).includes("index.md"));
    assert.ok(readFileSync(join(out, MANIFEST), "utf8").includes("\nindex.md\n"));

    writeFileSync(join(out, "TODO.md"), "- ask the NOC about the relay ids\n");
    // A page we wrote once that is no longer generated is removed; nothing else is.
    writeFileSync(join(out, "retired-section.md"), "old page\n");
    writeFileSync(
      join(out, MANIFEST),
      readFileSync(join(out, MANIFEST), "utf8") + "retired-section.md\n",
    );
    const again = await runCli(["config-docs", "-o", out]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(readFileSync(join(out, "TODO.md"), "utf8"), "- ask the NOC about the relay ids\n");
    assert.ok(!existsSync(join(out, "retired-section.md")));
    assert.match(again.stdout, /removed retired-section\.md/);
    assert.ok(!readFileSync(join(out, MANIFEST), "utf8").includes("retired-section.md"));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("config-docs: a folder with files but no manifest is refused, untouched", async () => {
  const dir = tempDir();
  try {
    writeFileSync(join(dir, "TODO.md"), "mine\n");
    writeFileSync(join(dir, "index.md"), "my own index\n");
    const line = assertOneLineError(await runCli(["config-docs", "-o", dir]), "config-docs", 1);
    assert.match(line, /holds files dhcpkit config-docs did not write/);
    assert.deepEqual(readdirSync(dir).sort(), ["TODO.md", "index.md"]);
    assert.equal(readFileSync(join(dir, "index.md"), "utf8"), "my own index\n");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("config-docs: a page of ours the operator replaced by hand is not overwritten", async () => {
  const dir = tempDir();
  try {
    assert.equal((await runCli(["config-docs", "-o", dir])).code, 0);
    // An unlisted file with a generated page's name (the manifest lost it): not ours any more.
    const manifest = readFileSync(join(dir, MANIFEST), "utf8");
    writeFileSync(join(dir, MANIFEST), manifest.replace("\nserver.md\n", "\n"));
    writeFileSync(join(dir, "server.md"), "my notes about the server\n");
    const line = assertOneLineError(await runCli(["config-docs", "-o", dir]), "config-docs", 1);
    assert.match(line, /server\.md exists and was not written by dhcpkit config-docs/);
    assert.equal(readFileSync(join(dir, "server.md"), "utf8"), "my notes about the server\n");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("config-docs: -o is relative to the current folder; a file given as folder is one line", async () => {
  const dir = tempDir();
  try {
    const r = await runCli(["config-docs", "-o", "out"], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(join(dir, "out", "index.md")));
    assert.match(r.stdout, new RegExp(`wrote \\d+ pages to ${join(dir, "out")}`));
    writeFileSync(join(dir, "plain"), "a file\n");
    const line = assertOneLineError(
      await runCli(["config-docs", "-o", "plain"], { cwd: dir }),
      "config-docs",
      1,
    );
    assert.match(line, /plain exists and is not a folder/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("config-docs without -o outside the checkout leaves the current folder's docs/config alone", async () => {
  const dir = tempDir();
  try {
    // Someone else's project with its own docs/config.
    Deno.mkdirSync(join(dir, "docs/config"), { recursive: true });
    writeFileSync(join(dir, "docs/config/TODO.md"), "theirs\n");
    writeFileSync(join(dir, "docs/config/setup.md"), "theirs too\n");
    // Writing is allowed only there: whatever the default is, the checkout stays untouched.
    const r = await runCli(["config-docs"], {
      cwd: dir,
      permissions: ["--allow-read", `--allow-write=${dir}`, "--allow-env"],
    });
    assert.deepEqual(readdirSync(join(dir, "docs/config")).sort(), ["TODO.md", "setup.md"]);
    assert.equal(readFileSync(join(dir, "docs/config/TODO.md"), "utf8"), "theirs\n");
    assert.notEqual(r.code, 0);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
  // The default is the checkout's own docs/config, which carries the manifest.
  assert.equal(checkoutConfigDocs(), join(REPO, "docs/config/"));
});
