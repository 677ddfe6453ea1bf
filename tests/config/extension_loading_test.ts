/**
 * Loading extensions: from the configuration (`extension` / `%import`) and composed into a custom
 * entry file; in process, through check-config, and over the wire from a server started with
 * `deno run` (with worker threads, which load the extensions themselves).
 */

import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { checkConfigCommand } from "../../cli/check_config.ts";
import {
  findExtensions,
  formatIssue,
  loadConfigText,
  resolveExtension,
} from "../../src/config/mod.ts";
import { loadExtensions, useExtensions } from "../../src/handlers/mod.ts";
import {
  ClientIdOption,
  ElapsedTimeOption,
  InformationRequestMessage,
  LinkLayerDuid,
  type Message,
  OptionRequestOption,
  parseMessage,
  RelayForwardMessage,
  RelayMessageOption,
  RelayReplyMessage,
  RelaySourcePortOption,
  serializeMessage,
} from "../../src/protocol/mod.ts";
import { registry } from "./helpers.ts";
import {
  freeUdpPort,
  loopbackListenerConfig,
  SERVER_PERMISSIONS,
  serverIdConfig,
} from "../helpers/server.ts";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const TECHNICOLOR = join(REPO, "examples/extensions/technicolor/mod.ts");
const EVENT_SINK = join(REPO, "examples/extensions/event_sink/mod.ts");

/** A temporary folder anyone may write to (the server drops root privileges to `nobody`). */
function workDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "dhcpkit-ext-"));
  chmodSync(dir, 0o777);
  return dir;
}

Deno.test("resolveExtension: paths are relative to the file they are written in", () => {
  assert.equal(
    resolveExtension("./acme.ts", "/etc/dhcpkit/dhcpkit.conf"),
    "file:///etc/dhcpkit/acme.ts",
  );
  assert.equal(resolveExtension("/opt/x/acme.ts", "/etc/dhcpkit/d.conf"), "file:///opt/x/acme.ts");
  assert.equal(resolveExtension("npm:acme-dhcp@1", "/etc/d.conf"), "npm:acme-dhcp@1");
  assert.equal(
    resolveExtension("https://example.com/a.ts", "/etc/d.conf"),
    "https://example.com/a.ts",
  );
  assert.equal(resolveExtension("file:///a.ts", "/etc/d.conf"), "file:///a.ts");
});

Deno.test("findExtensions: extension keys and %import, also from included files", () => {
  const dir = workDir();
  try {
    writeFileSync(join(dir, "more.conf"), "%import ./sub/b.ts\n");
    const text = "extension ./a.ts\n%include more.conf\n%define EXT c.ts\n%import $EXT\n";
    const refs = findExtensions(join(dir, "main.conf"), text);
    assert.deepEqual(refs.map((r) => [r.specifier, r.url, r.line]), [
      ["./a.ts", pathToFileURL(join(dir, "a.ts")).href, 1],
      ["./sub/b.ts", pathToFileURL(join(dir, "sub/b.ts")).href, 1],
      ["c.ts", pathToFileURL(join(dir, "c.ts")).href, 4],
    ]);
    assert.equal(refs[1].file, join(dir, "more.conf"));
  } finally {
    rmSync(dir, { recursive: true });
  }
});

Deno.test("%import is only allowed at the top level and needs a module", () => {
  const r = loadConfigText(
    "%import\n<subnet 2001:db8::/32>\n%import ./x.ts\n</subnet>\n",
    "/tmp/t.conf",
    {
      registry,
      hostChecks: false,
    },
  );
  assert.deepEqual(r.errors.map(formatIssue), [
    "/tmp/t.conf:1: %import needs a module",
    "/tmp/t.conf:3: %import is only allowed at the top level",
  ]);
  const ok = loadConfigText("%import ./x.ts\nextension npm:y\n", "/tmp/t.conf", {
    registry,
    hostChecks: false,
  });
  assert.deepEqual(ok.errors, []);
  assert.deepEqual(ok.config!.extensions, ["./x.ts", "npm:y"]);
});

Deno.test("loadExtensions: errors name the file, line and module", async () => {
  const dir = workDir();
  try {
    writeFileSync(join(dir, "broken.ts"), 'throw new Error("acme licence expired");\n');
    const conf = join(dir, "d.conf");
    writeFileSync(
      conf,
      `# extensions\nextension ${TECHNICOLOR}\nextension ./missing.ts\n%import ./broken.ts\n`,
    );
    const result = await loadExtensions(conf);
    assert.deepEqual(result.loaded, [pathToFileURL(TECHNICOLOR).href]);
    const messages = result.errors.map(formatIssue);
    assert.equal(messages.length, 2);
    assert.match(
      messages[0],
      new RegExp(`^${conf}:3: cannot load extension \\./missing\\.ts: .*not found`, "i"),
    );
    assert.equal(messages[1], `${conf}:4: cannot load extension ./broken.ts: acme licence expired`);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

Deno.test("loadExtensions: a module without an extension is an error at its key", async () => {
  const dir = workDir();
  try {
    writeFileSync(join(dir, "plain.ts"), "export const answer = 42;\n");
    const conf = join(dir, "d.conf");
    writeFileSync(conf, `extension ${TECHNICOLOR}\n\n%import ./plain.ts\n`);
    const result = await loadExtensions(conf);
    assert.deepEqual(result.errors.map(formatIssue), [
      `${conf}:3: ./plain.ts exports no dhcpkit extension`,
    ]);
    assert.deepEqual(result.loaded, [pathToFileURL(TECHNICOLOR).href]);

    const out: string[] = [], err: string[] = [];
    const output = { out: (l: string) => out.push(l), err: (l: string) => err.push(l) };
    assert.equal(await checkConfigCommand(["--no-host-checks", conf], output), 1);
    assert.equal(err[0], `${conf}:3: ./plain.ts exports no dhcpkit extension`);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

Deno.test("loadExtensions installs every extension a module exports, once", async () => {
  const dir = workDir();
  try {
    const api = JSON.stringify(pathToFileURL(join(REPO, "mod.ts")).href);
    writeFileSync(
      join(dir, "two.ts"),
      `import { defineExtension, defineSection } from ${api};
const section = (type: string) =>
  defineSection({ type, kind: "test", description: "A test section.", keys: [] });
export const first = defineExtension({ name: "first", sections: [section("first-thing")],
  kinds: { test: { title: "Test", description: "Test sections." } },
  extendSections: { server: { contains: [{ kind: "test" }] } } });
export const second = defineExtension({ name: "second", sections: [section("second-thing")] });
export const again = first;
`,
    );
    const conf = join(dir, "d.conf");
    const text = "extension ./two.ts\nextension ./two.ts\n<first-thing />\n<second-thing />\n";
    writeFileSync(conf, text);
    const result = await loadExtensions(conf);
    assert.deepEqual(result.errors, []);
    const loaded = loadConfigText(text, conf, { hostChecks: false });
    assert.deepEqual(loaded.errors.map(formatIssue), []);
    assert.deepEqual(loaded.config!.root.children.map((c) => c.type), [
      "first-thing",
      "second-thing",
    ]);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

Deno.test("useExtensions refuses a module that exports no extension", async () => {
  const dir = workDir();
  try {
    writeFileSync(join(dir, "plain.ts"), "export const answer = 42;\n");
    const url = pathToFileURL(join(dir, "plain.ts")).href;
    await assert.rejects(useExtensions(url), new RegExp(`${url} exports no dhcpkit extension`));
  } finally {
    rmSync(dir, { recursive: true });
  }
});

Deno.test("check-config imports the extensions a configuration names", async () => {
  const dir = workDir();
  try {
    const conf = join(dir, "d.conf");
    writeFileSync(
      conf,
      `%import ${TECHNICOLOR}\n<sol-max-rt-technicolor>\nlimit 3600\n</sol-max-rt-technicolor>\n`,
    );
    const out: string[] = [], err: string[] = [];
    const output = { out: (l: string) => out.push(l), err: (l: string) => err.push(l) };
    assert.equal(await checkConfigCommand(["--no-host-checks", conf], output), 0);
    assert.deepEqual(out, [`${conf}: OK`]);

    writeFileSync(conf, "\nextension ./nope.ts\n<nope/>\n");
    err.length = 0;
    assert.equal(await checkConfigCommand(["--no-host-checks", conf], output), 1);
    assert.match(err[0], new RegExp(`^${conf}:2: cannot load extension \\./nope\\.ts: `));
    assert.equal(err[1], `${conf}: 1 extension could not be loaded`);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

// ---------------------------------------------------------------------------------------------
// Over the wire

/** Server configuration text answering on [::1]:port. */
function serverConfig(dir: string, port: number, workers: number, extra: string): string {
  return `workers ${workers}
pid-file ${join(dir, "dhcpkit.pid")}
control-socket ${join(dir, "dhcpkit.sock")}
${extra}
${serverIdConfig("02:00:00:d4:c9:01")}${loopbackListenerConfig(port)}<sol-max-rt-technicolor>
    limit 3600
</sol-max-rt-technicolor>
`;
}

/** Ask [::1]:port for information as a relay would; the client message of the reply, if any. */
async function ask(port: number, timeoutMs = 1000): Promise<Message | undefined> {
  const socket = Deno.listenDatagram({ transport: "udp", hostname: "::1", port: 0 });
  const request = new InformationRequestMessage(0x123456, [
    new ClientIdOption(new LinkLayerDuid(1, new Uint8Array([2, 0, 0, 0, 0, 1]))),
    new ElapsedTimeOption(0),
    new OptionRequestOption([82]),
  ]);
  const relay = new RelayForwardMessage(0, "2001:db8::1", "fe80::1", [
    new RelaySourcePortOption(0),
    new RelayMessageOption(request),
  ]);
  const timer = setTimeout(() => socket.close(), timeoutMs);
  try {
    await socket.send(serializeMessage(relay), { transport: "udp", hostname: "::1", port });
    const [data] = await socket.receive();
    let message = parseMessage(data);
    while (message instanceof RelayReplyMessage) {
      message = message.getOption(RelayMessageOption)!.message;
    }
    return message;
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
    try {
      socket.close();
    } catch {
      // closed by the timer
    }
  }
}

/** A running server process. */
interface Running {
  child: Deno.ChildProcess;
  stderr: Promise<string>;
}

/** Start `deno run ENTRY serve CONFIG` (or an executable) and wait until it answers. */
async function start(command: string[], port: number): Promise<Running> {
  const child = new Deno.Command(command[0], {
    args: command.slice(1),
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (await ask(port, 300)) return { child, stderr };
    const exited = await Promise.race([
      child.status,
      new Promise((r) => setTimeout(() => r(null), 200)),
    ]);
    if (exited) throw new Error(`server exited early:\n${await stderr}`);
  }
  child.kill("SIGKILL");
  throw new Error(`server did not answer within 60 s:\n${await stderr}`);
}

/** Stop a server with SIGTERM and return its log. */
async function stop(running: Running): Promise<string> {
  running.child.kill("SIGTERM");
  await running.child.status;
  return await running.stderr;
}

/** The SOL_MAX_RT value in Technicolor's option 65279, read from the raw option data. */
function technicolorValue(message: Message | undefined): number | undefined {
  const option = message?.options.find((o) => o.code === 65279) as
    | { data?: Uint8Array; solMaxRt?: number }
    | undefined;
  if (!option) return undefined;
  if (option.solMaxRt !== undefined) return option.solMaxRt;
  return new DataView(option.data!.buffer, option.data!.byteOffset).getUint32(0);
}

Deno.test("deno run: extensions named in the configuration work in every worker", async () => {
  const dir = workDir();
  const port = freeUdpPort();
  const events = join(dir, "events.jsonl");
  const conf = join(dir, "dhcpkit.conf");
  writeFileSync(
    conf,
    serverConfig(dir, port, 2, `%import ${TECHNICOLOR}\nextension ${EVENT_SINK}`) +
      `<event-sink>\n    destination ${events}\n</event-sink>\n`,
  );
  const running = await start([
    Deno.execPath(),
    "run",
    ...SERVER_PERMISSIONS,
    join(REPO, "cli/main.ts"),
    "serve",
    conf,
  ], port);
  try {
    const replies = await Promise.all([1, 2, 3, 4].map(() => ask(port)));
    for (const reply of replies) assert.equal(technicolorValue(reply), 3600);
  } finally {
    const log = await stop(running);
    const lines = Deno.readTextFileSync(events).trim().split("\n").map((l) => JSON.parse(l));
    assert.ok(lines.length >= 5, `one event per answered request:\n${log}`);
    assert.ok(lines.every((e) => e.event === "transaction" && e.request === "information-request"));
    rmSync(dir, { recursive: true });
  }
});

Deno.test("deno run: a composed entry file carries its extensions into the workers", async () => {
  const dir = workDir();
  const port = freeUdpPort();
  const conf = join(dir, "dhcpkit.conf");
  writeFileSync(conf, serverConfig(dir, port, 1, "# no extension keys: they are composed in"));
  const running = await start(
    [
      Deno.execPath(),
      "run",
      ...SERVER_PERMISSIONS,
      join(REPO, "examples/custom_entry.ts"),
      "serve",
      conf,
    ],
    port,
  );
  try {
    assert.equal(technicolorValue(await ask(port)), 3600);
  } finally {
    await stop(running);
    rmSync(dir, { recursive: true });
  }
});

// ---------------------------------------------------------------------------------------------
// Compiled

/** Why `deno compile` cannot run here, or undefined when it can. */
async function compileUnavailable(): Promise<string | undefined> {
  if (Deno.env.get("DENORT_BIN")) return undefined;
  try {
    await fetch("https://dl.deno.land/", { method: "HEAD", signal: AbortSignal.timeout(3000) });
    return undefined;
  } catch {
    return "deno compile cannot download its runtime (no network) and DENORT_BIN is not set";
  }
}

const skipCompile = await compileUnavailable();
if (skipCompile) console.log(`compile.sh --extension test SKIPPED: ${skipCompile}`);

Deno.test({
  name: "compile.sh --extension builds an executable whose workers know the extension" +
    (skipCompile ? ` (SKIPPED: ${skipCompile})` : ""),
  ignore: skipCompile !== undefined,
  async fn() {
    const dir = workDir();
    const exe = join(dir, "dhcpkit-acme");
    try {
      const built = await new Deno.Command(join(REPO, "compile.sh"), {
        args: ["--extension", TECHNICOLOR, "-o", exe],
        cwd: dir,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(built.code, 0, new TextDecoder().decode(built.stderr));
      const port = freeUdpPort();
      const conf = join(dir, "dhcpkit.conf");
      writeFileSync(conf, serverConfig(dir, port, 1, ""));
      const running = await start([exe, "serve", conf], port);
      try {
        assert.equal(technicolorValue(await ask(port)), 3600);
      } finally {
        await stop(running);
      }
    } finally {
      rmSync(dir, { recursive: true });
    }
  },
});

Deno.test("compile.sh --extension generates an entry that composes the extension (deno compile stubbed)", async () => {
  const dir = workDir();
  try {
    // A stand-in for `deno` that records what compile.sh asks for and runs the generated entry
    // from source instead of compiling it, so this runs without deno compile's runtime.
    const fake = join(dir, "bin");
    Deno.mkdirSync(fake);
    writeFileSync(
      join(fake, "deno"),
      [
        "#!/bin/sh",
        "set -e",
        'for a in "$@"; do entry="$a"; done',
        `printf '%s\\n' "$@" > "${dir}/args"`,
        `cp "$entry" "${dir}/entry.ts"`,
        `"${Deno.execPath()}" run --allow-env --allow-read "$entry" --version > "${dir}/version"`,
      ].join("\n") + "\n",
    );
    chmodSync(join(fake, "deno"), 0o755);
    const result = await new Deno.Command(join(REPO, "compile.sh"), {
      args: ["--extension", "../../examples/extensions/technicolor/mod.ts", "-o", "dhcpkit-acme"],
      cwd: join(REPO, "tests/config"),
      env: { PATH: `${fake}:${Deno.env.get("PATH")}` },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(result.stderr);
    assert.equal(result.code, 0, stderr);
    const args = Deno.readTextFileSync(join(dir, "args")).trim().split("\n");
    assert.equal(args[0], "compile");
    assert.ok(args.includes("--include") && args.includes("src/server/worker.ts"));
    assert.equal(args[args.indexOf("--output") + 1], join(REPO, "tests/config/dhcpkit-acme"));
    const entry = Deno.readTextFileSync(join(dir, "entry.ts"));
    assert.match(entry, /import "\.\/examples\/extensions\/technicolor\/mod\.ts";/);
    assert.match(
      entry,
      /await useExtensions\(import\.meta\.resolve\("\.\/examples\/extensions\/technicolor\/mod\.ts"\)\);/,
    );
    assert.match(Deno.readTextFileSync(join(dir, "version")), /^dhcpkit \d/);
    assert.ok(!Deno.readDirSync(REPO).some((e) => e.name === ".compile-entry.ts"), "entry removed");

    const missing = await new Deno.Command(join(REPO, "compile.sh"), {
      args: ["--extension", "./no-such.ts"],
      cwd: dir,
      env: { PATH: `${fake}:${Deno.env.get("PATH")}` },
      stderr: "piped",
    }).output();
    assert.equal(missing.code, 2);
    assert.match(
      new TextDecoder().decode(missing.stderr),
      /no such extension module: \.\/no-such\.ts/,
    );
  } finally {
    rmSync(dir, { recursive: true });
  }
});
