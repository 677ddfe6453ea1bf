/**
 * Reload and shutdown through the control socket, against a server subprocess.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { sendControlCommand } from "../../cli/ctl.ts";
import type { InformationRequestMessage } from "../../src/protocol/mod.ts";
import {
  baseConfig,
  controlReply,
  ctl,
  exists,
  freeUdpPort,
  informationRequest,
  makeWorkDir,
  RelayClient,
  type RunningServer,
  spawnCollectingStderr,
  startServer,
  waitFor,
  writeConfig,
} from "./helpers.ts";

function dnsServers(message: unknown): string[] {
  const options = (message as InformationRequestMessage | undefined)?.options ?? [];
  const dns = options.find((o) => o.code === 23) as unknown as { addresses?: string[] };
  return dns?.addresses ?? [];
}

function config(port: number, dir: string, dns: string): string {
  return baseConfig(
    port,
    `
<logging>
    <file ${join(dir, "server.log")}>
        level info
    </file>
</logging>

<recursive-name-servers>
    address ${dns}
</recursive-name-servers>
`,
  );
}

/** A server answering DNS 2001:db8::53 and a relay client, for `fn`; all removed afterwards. */
async function withServer(
  fn: (t: {
    dir: string;
    port: number;
    conf: string;
    server: RunningServer;
    client: RelayClient;
  }) => Promise<void>,
): Promise<void> {
  const dir = makeWorkDir();
  const port = freeUdpPort();
  const conf = join(dir, "server.conf");
  writeConfig(conf, config(port, dir, "2001:db8::53"));
  const server = await startServer(dir);
  const client = new RelayClient(port);
  try {
    await fn({ dir, port, conf, server, client });
  } finally {
    client.close();
    await server.kill();
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test("reload: a refused config answers FAILED with its FILE:LINE errors, the old one keeps serving; a good one answers OK", async () => {
  await withServer(async ({ dir, port, conf, server, client }) => {
    assert.deepEqual(dnsServers(await client.ask(informationRequest())), ["2001:db8::53"]);

    const good = config(port, dir, "2001:db8::53");
    const badLine = good.split("\n").length + 1;
    writeConfig(conf, good + "\n<no-such-section>\n</no-such-section>\n");
    // The answer comes once the reload is over: the errors as check-config prints them, then
    // FAILED with the reason.
    const bad = await controlReply(server.socket, "reload");
    assert.equal(
      bad.end,
      "FAILED: configuration refused; the running configuration stays in place",
    );
    assert.ok(bad.lines.length >= 1, JSON.stringify(bad));
    for (const line of bad.lines) assert.match(line, new RegExp(`^${conf}:\\d+: `));
    assert.ok(
      bad.lines.some((l) => l.startsWith(`${conf}:${badLine}: `) && l.includes("no-such-section")),
      JSON.stringify(bad.lines),
    );
    // Logged too, and the old configuration keeps answering.
    await waitFor(
      () => Deno.readTextFileSync(join(dir, "server.log")).includes("Not reloading"),
      5000,
      "the reload error in the log file",
    );
    assert.deepEqual(dnsServers(await client.ask(informationRequest())), ["2001:db8::53"]);

    // A valid configuration whose handlers cannot start: the reason in plain lines.
    const csv = join(dir, "missing.csv");
    writeConfig(conf, good + `\n<static-csv ${csv}>\n</static-csv>\n`);
    const unusable = await controlReply(server.socket, "reload");
    assert.equal(
      unusable.end,
      "FAILED: the new configuration cannot be applied; the running configuration stays in place",
    );
    assert.ok(unusable.lines.some((l) => l.includes(csv)), JSON.stringify(unusable.lines));
    assert.deepEqual(dnsServers(await client.ask(informationRequest())), ["2001:db8::53"]);

    writeConfig(conf, config(port, dir, "2001:db8::99"));
    assert.deepEqual(await controlReply(server.socket, "reload"), {
      lines: [],
      end: "OK: Configuration reloaded",
    });
    // Already in force when the answer comes.
    assert.deepEqual(dnsServers(await client.ask(informationRequest())), ["2001:db8::99"]);
    // The original ipv6-dhcpctl's view: any OK line is success.
    const viaCtl = await sendControlCommand(server.socket, "reload", 60);
    assert.equal(viaCtl.feedback, "Configuration reloaded");

    // Statistics survive the reloads.
    const stats = JSON.parse((await sendControlCommand(server.socket, "stats-json")).output[0]);
    assert.equal(stats.global.incoming_packets, 4);
    assert.equal(stats.global.messages_out.reply, 4);
  });
});

Deno.test("reload: concurrent reloads run one after the other and each gets its answer; SIGHUP reloads", async () => {
  await withServer(async ({ dir, port, conf, server, client }) => {
    writeConfig(conf, config(port, dir, "2001:db8::77"));
    const replies = await Promise.all(
      Array.from({ length: 3 }, () => controlReply(server.socket, "reload")),
    );
    for (const r of replies) assert.deepEqual(r, { lines: [], end: "OK: Configuration reloaded" });
    const reloaded = () =>
      Deno.readTextFileSync(join(dir, "server.log")).split("Configuration reloaded").length - 1;
    await waitFor(() => reloaded() === 3, 5000, "three reloads in the log");
    assert.deepEqual(dnsServers(await client.ask(informationRequest())), ["2001:db8::77"]);

    writeConfig(conf, config(port, dir, "2001:db8::88"));
    server.child.kill("SIGHUP");
    await waitFor(() => reloaded() === 4, 10_000, "the reload on SIGHUP");
    assert.deepEqual(dnsServers(await client.ask(informationRequest())), ["2001:db8::88"]);
    assert.deepEqual(await controlReply(server.socket, "reopen-logs"), {
      lines: [],
      end: "OK: Log files reopened",
    });
  });
});

Deno.test("shutdown: clean exit, control socket and PID file removed", async () => {
  const dir = makeWorkDir();
  const port = freeUdpPort();
  writeConfig(join(dir, "server.conf"), config(port, dir, "2001:db8::53"));
  const server = await startServer(dir);
  try {
    assert.ok(exists(server.socket));
    assert.ok(exists(server.pidFile));
    assert.equal(
      (Deno.lstatSync(server.socket).mode! & 0o777).toString(8),
      "660",
      "control socket mode",
    );
    const pid = Number(Deno.readTextFileSync(server.pidFile).trim());
    assert.equal(pid, server.child.pid);

    const result = await ctl(server.socket, "shutdown");
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "Shutting down\n");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const status = await Promise.race([
      server.status,
      new Promise<undefined>((r) => timer = setTimeout(() => r(undefined), 10_000)),
    ]);
    clearTimeout(timer);
    assert.ok(status, "the server exits");
    assert.equal(status.code, 0, server.stderr());
    assert.ok(!exists(server.socket), "control socket removed");
    assert.ok(!exists(server.pidFile), "PID file removed");

    const gone = await ctl(server.socket, "stats");
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /no server: control socket .* does not exist/);
  } finally {
    await server.kill();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("serve -c overrides control-socket", async () => {
  const dir = makeWorkDir();
  const port = freeUdpPort();
  writeConfig(join(dir, "server.conf"), config(port, dir, "2001:db8::53"));
  const other = join(dir, "other.sock");
  // startServer waits for ctl.sock; start by hand and wait for the other path.
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--unstable-net",
      "--allow-all",
      join(new URL("../../", import.meta.url).pathname, "cli/main.ts"),
      "serve",
      "-c",
      other,
      join(dir, "server.conf"),
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  try {
    await waitFor(
      async () => {
        if (exited) throw new Error("the server exited during start-up");
        try {
          await sendControlCommand(other, "help", 2);
          return true;
        } catch {
          return false;
        }
      },
      30_000,
      "the control socket given with -c",
    );
    assert.ok(!exists(join(dir, "ctl.sock")));
    const help = await ctl(other, "help");
    assert.equal(help.code, 0);
    assert.equal(
      help.stdout,
      "Recognised commands:\n  help\n  stats\n  stats-json\n  reload\n  reopen-logs\n  explain\n  shutdown\n" +
        "  quit\n",
    );
  } finally {
    if (!exited) child.kill("SIGTERM");
    await status;
    assert.ok(!exists(other), "removed after SIGTERM");
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("shutdown right after reload: the reload finishes or gives up, then a clean exit", async () => {
  const dir = makeWorkDir();
  const port = freeUdpPort();
  writeConfig(join(dir, "server.conf"), config(port, dir, "2001:db8::53"));
  const server = await startServer(dir);
  try {
    // Both commands on the socket at once: the reload builds new workers while the stop starts.
    const [reload, shutdown] = await Promise.all([
      controlReply(server.socket, "reload", 10_000),
      sendControlCommand(server.socket, "shutdown", 10),
    ]);
    // The reload either finished first or saw the stop and gave up; either way it says so.
    assert.ok(
      ["OK: Configuration reloaded", "FAILED: the server is stopping"].includes(reload.end),
      JSON.stringify(reload),
    );
    assert.equal(shutdown.feedback, "Shutting down");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const status = await Promise.race([
      server.status,
      new Promise<undefined>((r) => timer = setTimeout(() => r(undefined), 15_000)),
    ]);
    clearTimeout(timer);
    assert.ok(status, `the server exits:\n${server.stderr()}`);
    assert.equal(status.code, 0, server.stderr());
    // Nothing the reload built outlives the stop.
    assert.ok(!exists(server.socket), "control socket removed (not re-created by the reload)");
    assert.ok(!exists(server.pidFile), "PID file removed");
  } finally {
    await server.kill();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("shutdown: SIGTERM while the server is still starting stops it cleanly once started", async () => {
  const dir = makeWorkDir();
  const port = freeUdpPort();
  // A table large enough that loading it keeps the start busy for a while.
  const rows = ["id,address,prefix"];
  for (let i = 0; i < 400_000; i++) {
    rows.push(
      `duid:000300010200${i.toString(16).padStart(8, "0")},2001:db8::${(i >> 16).toString(16)}:${
        (i & 0xffff).toString(16)
      },`,
    );
  }
  Deno.writeTextFileSync(join(dir, "big.csv"), rows.join("\n") + "\n");
  writeConfig(
    join(dir, "server.conf"),
    config(port, dir, "2001:db8::53") + `<static-csv big.csv>\n</static-csv>\n`,
  );
  const process = spawnCollectingStderr(Deno.execPath(), [
    "run",
    "--unstable-net",
    "--allow-all",
    join(import.meta.dirname!, "../../cli/main.ts"),
    "serve",
    join(dir, "server.conf"),
  ]);
  const pidFile = join(dir, "server.pid");
  const log = join(dir, "server.log");
  const logText = () => exists(log) ? Deno.readTextFileSync(log) : "";
  try {
    // The log's first lines come early in the start, long before the table is loaded.
    await waitFor(
      () => logText().includes("Server DUID") || process.exited(),
      30_000,
      "the first log lines of the start",
    );
    assert.ok(!process.exited(), process.stderr());
    assert.ok(
      !logText().includes("Ready to handle"),
      "SIGTERM is sent while the start is under way",
    );
    process.child.kill("SIGTERM");
    const status = await process.status;
    assert.equal(status.signal, null, `not killed by the signal:\n${process.stderr()}`);
    assert.equal(status.code, 0, process.stderr());
    assert.ok(!exists(pidFile), "PID file removed");
    assert.ok(!exists(join(dir, "ctl.sock")), "control socket removed");
  } finally {
    if (!process.exited()) process.child.kill("SIGKILL");
    await process.status;
    Deno.removeSync(dir, { recursive: true });
  }
});
