/**
 * What a new built-in handler touches: one folder under src/handlers/ and one line in
 * src/handlers/builtins.ts. Shown on a copy of the program: the extension guide's captive portal
 * folder is added unchanged, plus its line, and nothing else; the copy then knows
 * `<captive-portal>` without any `extension` key, type-checks, and documents the section.
 */

import assert from "node:assert/strict";
import {
  appendFileSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { SERVER_PERMISSIONS } from "../helpers/server.ts";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const EXAMPLE = join(REPO, "docs/examples/captive_portal");
/** The line the guide says to add. */
const LINE = 'export { captivePortalExtension } from "./captive_portal/mod.ts";\n';

/** Run deno in `cwd`; exit code and combined output. */
async function deno(cwd: string, args: string[]): Promise<{ code: number; output: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder();
  return { code: out.code, output: text.decode(out.stdout) + text.decode(out.stderr) };
}

/** The program's files (deno.json, mod.ts, src/ and cli/), as git sees them (not ignored). */
async function programFiles(): Promise<string[]> {
  const out = await new Deno.Command("git", {
    args: [
      "ls-files",
      "-z",
      "--cached",
      "--others",
      "--exclude-standard",
      "--",
      "deno.json",
      "deno.lock",
      "mod.ts",
      "src",
      "cli",
    ],
    cwd: REPO,
    stdout: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout).split("\0")
    .filter((f) => f !== "" && existsSync(join(REPO, f)));
}

Deno.test({
  name: "a new built-in handler is one folder plus one line in src/handlers/builtins.ts",
  sanitizeResources: false,
  async fn() {
    const copy = mkdtempSync(join(tmpdir(), "dhcpkit-new-handler-"));
    try {
      for (const file of await programFiles()) {
        mkdirSync(dirname(join(copy, file)), { recursive: true });
        copyFileSync(join(REPO, file), join(copy, file));
      }
      symlinkSync(join(REPO, "node_modules"), join(copy, "node_modules"));

      // The folder, as the extension guide writes it (its test and configuration left out)...
      const folder = join(copy, "src/handlers/captive_portal");
      mkdirSync(folder);
      for (const name of readdirSync(EXAMPLE).filter((n) => /^(?!.*_test).*\.ts$/.test(n))) {
        copyFileSync(join(EXAMPLE, name), join(folder, name));
      }
      // ...and its line in the built-in list.
      appendFileSync(join(copy, "src/handlers/builtins.ts"), LINE);

      const conf = join(copy, "composed.conf");
      copyFileSync(join(REPO, "docs/examples/composed.conf"), conf);
      const checked = await deno(copy, [
        "run",
        ...SERVER_PERMISSIONS,
        "cli/main.ts",
        "check-config",
        "--no-host-checks",
        conf,
      ]);
      assert.equal(checked.code, 0, checked.output);
      assert.match(checked.output, /composed\.conf: OK/);

      const docs = await deno(copy, ["run", "-A", "cli/main.ts", "config-docs", "-o", "out"]);
      assert.equal(docs.code, 0, docs.output);
      assert.ok(readdirSync(join(copy, "out")).includes("captive-portal.md"));

      const typed = await deno(copy, ["check", "mod.ts", "cli/main.ts"]);
      assert.equal(typed.code, 0, typed.output);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  },
});
