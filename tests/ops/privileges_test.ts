/**
 * A server started as root drops to `user nobody` yet keeps working with a configuration only
 * root can read: workers get the files the main thread read, reload reads as root again, and
 * the PID file and control socket are written to and removed from root-only folders. Root is
 * only taken back for synchronous steps: nothing awaits as root (checked with an extension that
 * samples the effective uid from the main thread's event loop during a reload), nested steps keep
 * it, and what the server creates is private to it (umask 077).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { listeningIn } from "../../src/server/control_socket.ts";
import * as privileges from "../../src/server/privileges.ts";
import {
  PreferenceOption,
  RecursiveNameServersOption,
  type ReplyMessage,
} from "../../src/protocol/mod.ts";
import {
  baseConfig,
  ctl,
  exists,
  freeUdpPort,
  informationRequest,
  RelayClient,
  ROOT,
  startServer,
  waitFor,
} from "./helpers.ts";
import { SpyClient } from "../helpers/fault/client.ts";

const isRoot = Deno.uid() === 0;
if (!isRoot) console.warn("privileges_test: skipped, needs root to drop privileges");

Deno.test({
  name: "root-only configuration: workers start, reload re-reads it, clean exit removes files",
  ignore: !isRoot,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "dhcpkit-priv-" });
    Deno.chmodSync(dir, 0o700);
    const port = freeUdpPort();
    const conf = join(dir, "server.conf");
    const write = (extra: string) => {
      Deno.writeTextFileSync(
        conf,
        baseConfig(
          port,
          `<recursive-name-servers>\n    address 2001:db8::53\n</recursive-name-servers>\n${extra}`,
        )
          .replace("workers 2", "workers 1\nuser nobody"),
      );
      Deno.chmodSync(conf, 0o600);
    };
    write("");
    const server = await startServer(dir);
    const client = new RelayClient(port);
    try {
      const first = await client.ask(informationRequest()) as ReplyMessage | undefined;
      assert.ok(first, `no reply:\n${server.stderr()}`);
      assert.deepEqual(first.getOption(RecursiveNameServersOption)?.addresses, ["2001:db8::53"]);
      assert.equal(first.getOption(PreferenceOption), undefined);

      write("<preference>\n    level 7\n</preference>\n");
      const reload = await ctl(server.socket, "reload");
      assert.equal(reload.code, 0, reload.stdout + reload.stderr);
      await waitFor(
        async () => {
          const reply = await client.ask(informationRequest());
          return reply?.getOption(PreferenceOption)?.preference === 7;
        },
        15_000,
        "the reloaded configuration to answer",
      );
      assert.doesNotMatch(server.stderr(), /Not reloading/);
    } finally {
      client.close();
      await server.kill();
    }
    assert.equal((await server.status).code, 0, server.stderr());
    assert.doesNotMatch(server.stderr(), /Cannot write PID file/);
    assert.equal(exists(server.pidFile), false, "PID file left behind");
    assert.equal(exists(server.socket), false, "control socket left behind");
    Deno.removeSync(dir, { recursive: true });
  },
});

const NOBODY = 65534;

/** The permission bits of `path` (without following a symlink). */
function mode(path: string): number {
  return Deno.lstatSync(path).mode! & 0o7777;
}

/** The effective uid of every thread of process `pid` (via ps: /proc needs --allow-all). */
async function threadEuids(pid: number): Promise<number[]> {
  const out = await new Deno.Command("ps", { args: ["-L", "-o", "euid=", "-p", String(pid)] })
    .output();
  return new TextDecoder().decode(out.stdout).trim().split(/\s+/).map(Number);
}

/**
 * An extension that, once imported by the main thread during a reload, samples the effective uid
 * from the event loop (a timer every millisecond) until `donePath` exists, then prints the uids it
 * saw. Root taken back only around synchronous steps is never visible from a timer; root held
 * across an await is.
 */
function euidProbe(donePath: string): string {
  return `import process from "node:process";
import { defineExtension } from ${JSON.stringify(new URL("mod.ts", `file://${ROOT}`).href)};
export const euidProbeExtension = defineExtension({ name: "euid-probe" });
if (typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope === "undefined") {
  const seen = new Set<number>([process.geteuid!()]);
  const report = () => console.error("EUID-PROBE " + [...seen].sort((a, b) => a - b).join(","));
  const timer = setInterval(() => {
    seen.add(process.geteuid!());
    let done = false;
    try {
      Deno.lstatSync(${JSON.stringify(donePath)});
      done = true;
    } catch {
      // reload still running
    }
    if (done) {
      clearInterval(timer);
      report();
    }
  }, 1);
  // Loading the configuration awaits this module: an await during the reload.
  await new Promise((resolve) => setTimeout(resolve, 200));
  seen.add(process.geteuid!());
}
`;
}

Deno.test({
  name: "root-owned folders: PID file 0644 as root, control socket 0660, created files umask 077",
  ignore: !isRoot,
  async fn() {
    // The run folder belongs to root (0755), like /run/dhcpkit under systemd; the data folder to
    // the service user (0700), like a StateDirectory handed to it.
    const dir = Deno.makeTempDirSync({ prefix: "dhcpkit-priv-run-" });
    Deno.chmodSync(dir, 0o755);
    const data = Deno.makeTempDirSync({ prefix: "dhcpkit-priv-data-" });
    Deno.chmodSync(data, 0o700);
    Deno.chownSync(data, NOBODY, NOBODY);
    const probeDir = Deno.makeTempDirSync({ prefix: "dhcpkit-priv-probe-" });
    Deno.chmodSync(probeDir, 0o755);
    const port = freeUdpPort();
    const conf = join(dir, "server.conf");
    const newPid = join(dir, "renamed.pid");
    const probe = join(probeDir, "euid_probe.ts");
    Deno.writeTextFileSync(probe, euidProbe(newPid));
    Deno.chmodSync(probe, 0o644);
    const write = (pidFile: string, logFile: string, head = "") => {
      Deno.writeTextFileSync(
        conf,
        head + baseConfig(
          port,
          `<logging>
    <file ${join(dir, logFile)}>
        level info
    </file>
</logging>
<recursive-name-servers>
    address 2001:db8::53
</recursive-name-servers>
<leasequery>
    <lq-sqlite ${join(data, "leasequery.sqlite")} />
</leasequery>
`,
        ).replace("workers 2", "workers 1\nuser nobody").replace(
          "pid-file server.pid",
          `pid-file ${pidFile}`,
        ),
      );
      Deno.chmodSync(conf, 0o600);
    };
    write("server.pid", "server.log");
    const server = await startServer(dir);
    const client = new RelayClient(port);
    try {
      // Right after start-up.
      assert.equal(mode(server.socket), 0o660, "control socket mode");
      assert.equal(Deno.lstatSync(server.socket).uid, 0, "control socket owner");
      assert.ok(exists(server.pidFile), `no PID file:\n${server.stderr()}`);
      assert.equal(mode(server.pidFile), 0o644, "PID file mode");
      assert.equal(Deno.lstatSync(server.pidFile).uid, 0, "PID file owner");
      assert.equal(Deno.readTextFileSync(server.pidFile), `${server.child.pid}\n`);
      assert.deepEqual(
        Deno.readDirSync(dir).filter((e) => e.name.endsWith(".tmp")).map((e) => e.name).toArray(),
        [],
        "temporary PID file left behind",
      );

      const reply = await client.ask(informationRequest()) as ReplyMessage | undefined;
      assert.ok(reply, `no reply:\n${server.stderr()}`);

      // What the server creates afterwards: the log file (opened as root), the leasequery store
      // (created by a worker as nobody); private to their owner.
      const log = join(dir, "server.log");
      assert.equal(mode(log) & 0o077, 0, `log file mode ${mode(log).toString(8)}`);
      const store = join(data, "leasequery.sqlite");
      await waitFor(() => exists(store), 10_000, "the leasequery store");
      assert.equal(mode(store) & 0o077, 0, `store mode ${mode(store).toString(8)}`);
      assert.equal(Deno.lstatSync(store).uid, NOBODY, "store owner");

      // Every thread runs as nobody once started.
      assert.deepEqual(new Set(await threadEuids(server.child.pid)), new Set([NOBODY]));

      // Reload: a new PID file path (rewritten as root, the old one removed), a new log file, an
      // extension watching the effective uid while the reload runs.
      write(newPid, "reloaded.log", `extension ${probe}\n`);
      const reload = await ctl(server.socket, "reload");
      assert.equal(reload.code, 0, reload.stdout + reload.stderr);
      await waitFor(
        () => /EUID-PROBE/.test(server.stderr()),
        15_000,
        "the reload to write the new PID file",
      );
      const seen = /EUID-PROBE ([\d,]+)/.exec(server.stderr())![1].split(",").map(Number);
      assert.deepEqual(seen, [NOBODY], "the main thread was root while a reload awaited");
      assert.doesNotMatch(server.stderr(), /Not reloading|Cannot write PID file/);
      assert.equal(mode(newPid), 0o644);
      assert.equal(Deno.lstatSync(newPid).uid, 0);
      assert.equal(Deno.readTextFileSync(newPid), `${server.child.pid}\n`);
      assert.equal(exists(server.pidFile), false, "old PID file left behind");
      const reloadedLog = join(dir, "reloaded.log");
      await waitFor(() => exists(reloadedLog), 5000, "the new log file");
      assert.equal(mode(reloadedLog) & 0o077, 0);
      assert.equal(mode(server.socket), 0o660);
      await waitFor(
        async () => (await threadEuids(server.child.pid)).every((u) => u === NOBODY),
        5000,
        "every thread to run as nobody after the reload",
      );
      assert.ok(await client.ask(informationRequest()), `no reply:\n${server.stderr()}`);
    } finally {
      client.close();
      await server.kill();
    }
    assert.equal((await server.status).code, 0, server.stderr());
    assert.equal(exists(newPid), false, "PID file left behind");
    assert.equal(exists(server.socket), false, "control socket left behind");
    for (const d of [dir, data, probeDir]) Deno.removeSync(d, { recursive: true });
  },
});

/**
 * Run `code` (a module importing privileges.ts as PRIV) as root, optionally via setpriv, with
 * `permissions` (all of them by default).
 */
async function runAsRoot(
  code: string,
  wrap: string[] = [],
  permissions = ["--allow-all"],
): Promise<Record<string, unknown>> {
  const file = Deno.makeTempFileSync({ prefix: "dhcpkit-priv-", suffix: ".ts" });
  Deno.writeTextFileSync(
    file,
    code.replace("PRIV", new URL("src/server/privileges.ts", `file://${ROOT}`).href),
  );
  try {
    const command = [...wrap, Deno.execPath(), "run", ...permissions, file];
    const out = await new Deno.Command(command[0], { args: command.slice(1), stdin: "null" })
      .output();
    const stdout = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, stdout + new TextDecoder().decode(out.stderr));
    return JSON.parse(stdout);
  } finally {
    Deno.removeSync(file);
  }
}

Deno.test({
  name: "withRootSync: nests, gives root back on errors, refuses async actions; umask 077",
  ignore: !isRoot,
  async fn() {
    const out = await runAsRoot(`
import process from "node:process";
import { actingAsRoot, dropPrivileges, withRootSync } from "PRIV";
const euid = () => process.geteuid!();
const out: Record<string, unknown> = {};
dropPrivileges("nobody");
out.umask = Deno.umask();
out.dropped = euid();
withRootSync(() => {
  out.outer = [euid(), process.getegid!(), actingAsRoot()];
  withRootSync(() => out.inner = euid());
  out.afterInner = euid();
  try {
    withRootSync(() => { throw new Error("boom"); });
  } catch {
    out.afterInnerError = euid();
  }
});
out.after = [euid(), actingAsRoot()];
try {
  withRootSync(() => { throw new Error("boom"); });
} catch {
  out.afterError = euid();
}
try {
  withRootSync(() => Promise.resolve(1));
  out.asyncRefused = false;
} catch (e) {
  out.asyncRefused = e instanceof TypeError;
}
out.afterAsync = euid();
// A worker thread started after the drop is the service user...
const worker = new Worker(
  "data:text/javascript," + encodeURIComponent(
    'import process from "node:process"; self.postMessage(process.geteuid());',
  ),
  { type: "module" },
);
out.worker = await new Promise((resolve) => worker.onmessage = (e) => resolve(e.data));
worker.terminate();
// ...and stays so while the main thread is root: a worker samples its effective uid in a busy
// loop while the main thread runs root steps (with glibc's process-wide seteuid it saw root).
const shared = new Int32Array(new SharedArrayBuffer(16)); // [stop, samples, root samples, ready]
const sampler = new Worker(
  "data:text/javascript," + encodeURIComponent(\`import process from "node:process";
self.onmessage = (e) => {
  const s = new Int32Array(e.data);
  Atomics.store(s, 3, 1);
  while (Atomics.load(s, 0) === 0) {
    Atomics.add(s, 1, 1);
    if (process.geteuid() === 0) Atomics.add(s, 2, 1);
  }
  self.postMessage("done");
};\`),
  { type: "module" },
);
const finished = new Promise((resolve) => sampler.onmessage = resolve);
sampler.postMessage(shared.buffer);
while (Atomics.load(shared, 3) === 0) await new Promise((r) => setTimeout(r, 1));
let mainAsRoot = 0;
for (let i = 0; i < 200; i++) {
  withRootSync(() => {
    const until = Date.now() + 1;
    while (Date.now() < until) if (euid() === 0) mainAsRoot++;
  });
}
Atomics.store(shared, 0, 1);
await finished;
sampler.terminate();
out.mainWasRoot = mainAsRoot > 0;
out.workerSampled = Atomics.load(shared, 1) > 0;
out.workerSawRoot = Atomics.load(shared, 2);
console.log(JSON.stringify(out));
`);
    assert.deepEqual(out, {
      umask: 0o077,
      dropped: NOBODY,
      outer: [0, 0, true],
      inner: 0,
      afterInner: 0,
      afterInnerError: 0,
      after: [NOBODY, false],
      afterError: NOBODY,
      asyncRefused: true,
      afterAsync: NOBODY,
      worker: NOBODY,
      mainWasRoot: true,
      workerSampled: true,
      workerSawRoot: 0,
    });
  },
});

Deno.test({
  name: "supplementary groups: cleared with --allow-ffi, else reported at start-up",
  ignore: !isRoot,
  async fn() {
    let setpriv = true;
    try {
      await new Deno.Command("setpriv", { args: ["--version"], stdout: "null" }).output();
    } catch {
      setpriv = false;
    }
    if (!setpriv) {
      console.warn("supplementary groups: skipped, needs setpriv (util-linux)");
      return;
    }
    const code = `
import { dropPrivileges, droppedTo, supplementaryGroups, supplementaryGroupsWarning } from "PRIV";
dropPrivileges("nobody");
console.log(JSON.stringify({
  groups: supplementaryGroups(),
  warning: supplementaryGroupsWarning(droppedTo()!.gid) ?? null,
}));
`;
    // Without --allow-ffi the groups cannot be cleared: the operator is told.
    const NO_FFI = ["--allow-read", "--allow-write", "--allow-env", "--allow-sys", "--allow-run"];
    const withGroups = await runAsRoot(code, ["setpriv", "--groups", "0,4", "--"], NO_FFI);
    assert.deepEqual(withGroups.groups, [0, 4]);
    assert.match(String(withGroups.warning), /supplementary groups .*\(0\).*\(4\)|0, 4/);
    assert.match(String(withGroups.warning), /setpriv --clear-groups/);
    const without = await runAsRoot(code, ["setpriv", "--clear-groups", "--"], NO_FFI);
    assert.deepEqual(without, { groups: [], warning: null });
    // With --allow-ffi (Linux) setgroups(2) leaves the service group alone.
    if (Deno.build.os === "linux") {
      const cleared = await runAsRoot(code, ["setpriv", "--groups", "0,4", "--"]);
      const nobodyGid = Number(
        new TextDecoder().decode(
          (await new Deno.Command("id", { args: ["-g", "nobody"], stdout: "piped" }).output())
            .stdout,
        ).trim(),
      );
      assert.deepEqual(cleared, { groups: [nobodyGid], warning: null });
    }
  },
});

Deno.test("supplementaryGroups / supplementaryGroupsWarning: parsing /proc/self/status", () => {
  const status = "Name:\tdeno\nUid:\t0\t65534\t0\t65534\nGroups:\t0 4 65534 \nNgid:\t0\n";
  assert.deepEqual(privileges.supplementaryGroups(status), [0, 4, 65534]);
  assert.deepEqual(privileges.supplementaryGroups("Groups:\t\n"), []);
  assert.equal(privileges.supplementaryGroups("Name:\tx\n"), undefined);
  assert.equal(privileges.supplementaryGroupsWarning(65534, [65534]), undefined);
  assert.equal(privileges.supplementaryGroupsWarning(65534, []), undefined);
  assert.match(privileges.supplementaryGroupsWarning(65534, [0, 65534])!, /\b0\b/);
});

Deno.test("privileges: root is only ever taken for synchronous steps", () => {
  // There is no asynchronous variant to misuse...
  assert.equal("withRoot" in privileges, false);
  // ...and no caller hands withRootSync an async function or awaits inside it.
  const offenders: string[] = [];
  const walk = (folder: string) => {
    for (const entry of Deno.readDirSync(folder)) {
      const path = join(folder, entry.name);
      if (entry.isDirectory) walk(path);
      else if (entry.name.endsWith(".ts")) {
        const text = Deno.readTextFileSync(path);
        if (
          /withRoot\s*\(|withRootSync\s*\(\s*async\b|withRootSync\s*\([^;]*\bawait\b/.test(text)
        ) {
          offenders.push(path);
        }
      }
    }
  };
  walk(join(ROOT, "src"));
  walk(join(ROOT, "cli"));
  assert.deepEqual(offenders, []);
});

Deno.test("listeningIn: listening Unix sockets in /proc/net/unix", () => {
  const table = [
    "Num       RefCount Protocol Flags    Type St Inode Path",
    "0000000093904e8f: 00000002 00000000 00010000 0001 01 216492 /run/dhcpkit/dhcpkit.sock",
    "00000000e8836618: 00000003 00000000 00000000 0001 03  1595 /run/other.sock",
    "00000000e8836619: 00000003 00000000 00000000 0001 03  1596",
  ].join("\n");
  assert.equal(listeningIn("/run/dhcpkit/dhcpkit.sock", table), true);
  assert.equal(listeningIn("/run/other.sock", table), false, "connected, not listening");
  assert.equal(listeningIn("/run/missing.sock", table), false);
});

Deno.test({
  name: "no request is handled as root: 10 reloads with a size-rotated log file under load " +
    "(the fault extension's euid spy)",
  ignore: !isRoot,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "dhcpkit-priv-spy-" });
    Deno.chmodSync(dir, 0o755);
    const logs = Deno.makeTempDirSync({ prefix: "dhcpkit-priv-spy-logs-" });
    Deno.chmodSync(logs, 0o755); // root's: the log file is opened and rotated as root
    const port = freeUdpPort();
    const conf = join(dir, "server.conf");
    const fault = join(ROOT, "tests/helpers/fault/mod.ts");
    Deno.writeTextFileSync(
      conf,
      `extension ${fault}\n` + baseConfig(
        port,
        `<logging>
    <file ${join(logs, "server.log")}>
        level debug
        rotate size
        size 4096
        keep 2
    </file>
</logging>
<fault />
`,
      ).replace("workers 2", "workers 2\nuser nobody"),
    );
    Deno.chmodSync(conf, 0o600);
    const server = await startServer(dir);
    const client = new SpyClient(port);
    try {
      const sending = (async () => {
        for (let round = 0; round < 20; round++) {
          await client.send(Array.from({ length: 150 }, (_, i) => round * 150 + i + 1));
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      for (let i = 0; i < 10; i++) {
        const reload = await ctl(server.socket, "reload");
        assert.equal(reload.code, 0, reload.stdout + reload.stderr);
      }
      await sending;
      await new Promise((r) => setTimeout(r, 500));
      const euids = [...client.answers.values()];
      assert.ok(euids.length > 1500, `only ${euids.length}/3000 answered:\n${server.stderr()}`);
      const asRoot = euids.filter((u) => u === 0).length;
      assert.equal(asRoot, 0, `${asRoot} of ${euids.length} requests were handled as root`);
      assert.deepEqual(new Set(euids), new Set([NOBODY]));
      assert.ok(exists(join(logs, "server.log.1")), "the log file was never rotated");
    } finally {
      client.close();
      await server.kill();
    }
    for (const d of [dir, logs]) Deno.removeSync(d, { recursive: true });
  },
});

/** The ids and capabilities of every thread of process `pid`, from /proc/PID/task/TID/status. */
function threadCredentials(pid: number): Array<{
  name: string;
  uid: number[];
  gid: number[];
  groups: number[];
  capEff: bigint;
  capPrm: bigint;
}> {
  const out = [];
  for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
    let status: string;
    try {
      status = Deno.readTextFileSync(`/proc/${pid}/task/${task.name}/status`);
    } catch {
      continue; // the thread ended meanwhile
    }
    const field = (name: string) =>
      status.split("\n").find((l) => l.startsWith(`${name}:`))!.slice(name.length + 1).trim();
    const ids = (name: string) => field(name).split(/\s+/).filter((s) => s).map(Number);
    out.push({
      name: field("Name"),
      uid: ids("Uid"),
      gid: ids("Gid"),
      groups: ids("Groups"),
      capEff: BigInt(`0x${field("CapEff")}`),
      capPrm: BigInt(`0x${field("CapPrm")}`),
    });
  }
  return out;
}

/** Every file below `folder` (not following links), with its owner. */
function owners(folder: string): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  for (const entry of Deno.readDirSync(folder)) {
    const path = join(folder, entry.name);
    out.push([path, Deno.lstatSync(path).uid ?? -1]);
    if (entry.isDirectory) out.push(...owners(path));
  }
  return out;
}

Deno.test({
  name: "privilege audit: every thread is nobody (real, effective, fs ids; groups; no effective " +
    "capabilities) after start and after a reload; only the PID file and control socket are root's",
  ignore: !isRoot || Deno.build.os !== "linux",
  async fn() {
    const run = Deno.makeTempDirSync({ prefix: "dhcpkit-audit-run-" });
    Deno.chmodSync(run, 0o755);
    const logs = Deno.makeTempDirSync({ prefix: "dhcpkit-audit-logs-" });
    Deno.chmodSync(logs, 0o755); // root's, like /var/log/dhcpkit
    const state = Deno.makeTempDirSync({ prefix: "dhcpkit-audit-state-" });
    Deno.chmodSync(state, 0o700);
    Deno.chownSync(state, NOBODY, NOBODY); // the service user's, like /var/lib/dhcpkit
    const port = freeUdpPort();
    const conf = join(run, "server.conf");
    Deno.writeTextFileSync(
      conf,
      baseConfig(
        port,
        `<logging>
    <file ${join(logs, "dhcpkit.log")}>
        level debug
        rotate size
        size 2000
        keep 2
    </file>
</logging>
<recursive-name-servers>
    address 2001:db8::53
</recursive-name-servers>
<leasequery>
    <lq-sqlite ${join(state, "leasequery.sqlite")} />
</leasequery>
`,
      ).replace("workers 2", "workers 2\nuser nobody"),
    );
    Deno.chmodSync(conf, 0o600);
    const nobodyGid = Number(
      new TextDecoder().decode(
        (await new Deno.Command("id", { args: ["-g", "nobody"], stdout: "piped" }).output())
          .stdout,
      ).trim(),
    );
    const server = await startServer(run);
    const client = new RelayClient(port);
    const audit = (when: string) => {
      const threads = threadCredentials(server.child.pid);
      assert.ok(threads.length > 3, `${when}: only ${threads.length} threads`);
      for (const t of threads) {
        const what = `${when}: thread ${t.name}`;
        // real, effective, saved, filesystem: root stays the saved id only (privileges.ts).
        assert.deepEqual(t.uid, [NOBODY, NOBODY, 0, NOBODY], `${what} uids`);
        assert.deepEqual(t.gid, [nobodyGid, nobodyGid, 0, nobodyGid], `${what} gids`);
        assert.deepEqual(t.groups, [nobodyGid], `${what} supplementary groups`);
        assert.equal(t.capEff, 0n, `${what} has effective capabilities`);
      }
      return threads.length;
    };
    try {
      for (let i = 0; i < 20; i++) {
        assert.ok(await client.ask(informationRequest()), server.stderr());
      }
      audit("after start");
      const reload = await ctl(server.socket, "reload");
      assert.equal(reload.code, 0, reload.stdout + reload.stderr);
      for (let i = 0; i < 20; i++) assert.ok(await client.ask(informationRequest()));
      audit("after a reload");
      await waitFor(() => exists(join(state, "leasequery.sqlite")), 10_000, "the store");
      assert.ok(exists(join(logs, "dhcpkit.log.1")), "the log file was not rotated");
      const allowed = new Set([server.pidFile, server.socket, conf]);
      const rootOwned = [...owners(run), ...owners(logs), ...owners(state)]
        .filter(([path, uid]) => uid === 0 && !allowed.has(path)).map(([path]) => path);
      assert.deepEqual(rootOwned, [], "files the server created as root");
    } finally {
      client.close();
      await server.kill();
    }
    for (const d of [run, logs, state]) Deno.removeSync(d, { recursive: true });
  },
});
