/**
 * `deno task start` runs with scoped permissions (issue 20, "Deno's permissions as a real
 * boundary"): the demo server answers with exactly the task's flags (no write permission at all,
 * read limited to the checkout and the account database, environment limited to the variables the
 * program reads), as the user who runs it and, started as root, after dropping to `nobody`; the
 * same flags refuse to read a configuration outside the checkout.
 */

import assert from "node:assert/strict";
import { join } from "node:path";

const ROOT = new URL("../../", import.meta.url).pathname;
const DEMO_PORT = 5547;

/** The flags of the `start` task, between `deno run` and the entry point. */
function startFlags(): string[] {
  const tasks = JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.json"))).tasks;
  const words = String(tasks.start).split(/\s+/);
  assert.deepEqual(words.slice(0, 2), ["deno", "run"]);
  return words.slice(2, words.indexOf("cli/main.ts"));
}

Deno.test("start task: scoped read and env, no write permission", () => {
  const flags = startFlags();
  assert.ok(!flags.some((f) => f.startsWith("--allow-write")), flags.join(" "));
  assert.ok(!flags.includes("--allow-all") && !flags.includes("-A"));
  assert.ok(flags.some((f) => /^--allow-read=./.test(f)), "read is not scoped");
  assert.ok(flags.some((f) => /^--allow-env=./.test(f)), "env is not scoped");
});

function portFree(): boolean {
  try {
    Deno.listenDatagram({ transport: "udp", hostname: "::1", port: DEMO_PORT }).close();
    return true;
  } catch {
    return false;
  }
}

Deno.test({
  name: "start task: the demo answers with exactly the task's permissions",
  sanitizeResources: false,
  async fn() {
    if (!portFree()) {
      console.warn(`start task: skipped, port ${DEMO_PORT} (the demo's) is in use`);
      return;
    }
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", ...startFlags(), "cli/main.ts", "serve", "--demo"],
      cwd: ROOT,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    let err = "";
    const reading = (async () => {
      for await (const c of child.stderr) err += new TextDecoder().decode(c);
    })();
    try {
      const deadline = Date.now() + 30_000;
      while (!/listening on \[::1\]:5547/.test(err) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.match(err, /listening on/, err);
      const query = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "cli/main.ts",
          "query",
          "--port",
          String(DEMO_PORT),
          "information-request",
        ],
        cwd: ROOT,
        stdin: "null",
      }).output();
      const answer = new TextDecoder().decode(query.stdout);
      assert.match(answer, /^reply \(transaction [0-9a-f]+\) from \[::1\]:5547/, err);
      if (Deno.uid() === 0) assert.match(err, /now running as uid \d+/);
    } finally {
      child.kill("SIGTERM");
      await child.status;
      await reading;
    }
    assert.doesNotMatch(err, /Requires .* access/);
  },
});

Deno.test("start task: a configuration outside the checkout is refused (read permission)", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "dhcpkit-start-perm-" });
  try {
    const conf = join(dir, "server.conf");
    Deno.writeTextFileSync(conf, "<listen-unicast ::1>\n    port 0\n</listen-unicast>\n");
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", ...startFlags(), "cli/main.ts", "serve", conf],
      cwd: ROOT,
      stdin: "null",
    }).output();
    const err = new TextDecoder().decode(out.stderr);
    assert.notEqual(out.code, 0, err);
    assert.match(err, /Requires read access to .*server\.conf|read access/, err);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
