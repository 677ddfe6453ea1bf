/**
 * The control socket protocol and its robustness, and `dhcpkit ctl`'s error handling.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { CtlError, sendControlCommand } from "../../cli/ctl.ts";
import {
  type CommandOutcome,
  type ControlCommands,
  ControlSocket,
  ControlSocketError,
  GREETING,
} from "../../src/server/control_socket.ts";
import { ctl, exists, waitFor } from "./helpers.ts";

function fakeCommands(stats = "Global\n- Packets") {
  const calls: string[] = [];
  /** What the next reload reports (a queue; empty = success). */
  const reloads: CommandOutcome[] = [];
  const commands: ControlCommands = {
    stats: () => stats,
    statsJson: () => '{"global": {}}',
    reload: () => {
      calls.push("reload");
      return Promise.resolve(reloads.shift() ?? { lines: [] });
    },
    reopenLogs: () => {
      calls.push("reopen-logs");
      return Promise.resolve({ lines: [] });
    },
    shutdown: () => void calls.push("shutdown"),
  };
  return { calls, commands, reloads };
}

/** A raw client: send text, read everything until the server closes or `until` matches. */
async function converse(path: string, text: string | Uint8Array, until: RegExp): Promise<string> {
  const conn = await Deno.connect({ transport: "unix", path });
  try {
    await conn.write(typeof text === "string" ? new TextEncoder().encode(text) : text);
    const buf = new Uint8Array(65536);
    let out = "";
    const deadline = Date.now() + 5000;
    while (!until.test(out) && Date.now() < deadline) {
      const n = await conn.read(buf);
      if (n === null) break;
      out += new TextDecoder().decode(buf.subarray(0, n));
    }
    return out;
  } finally {
    conn.close();
  }
}

async function withSocket(
  fn: (
    socket: ControlSocket,
    path: string,
    calls: string[],
    reloads: CommandOutcome[],
  ) => Promise<void>,
  stats?: string,
  limits = {},
) {
  const dir = Deno.makeTempDirSync();
  const path = join(dir, "ctl.sock");
  const { calls, commands, reloads } = fakeCommands(stats);
  const socket = await ControlSocket.open(path, commands, {}, limits);
  socket.serve();
  try {
    await fn(socket, path, calls, reloads);
  } finally {
    socket.closeAll();
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test("control protocol: greeting, help, case, empty lines, OK / OK: / UNKNOWN", async () => {
  await withSocket(async (socket, path, calls) => {
    assert.equal((Deno.lstatSync(path).mode! & 0o777).toString(8), "660");
    const out = await converse(
      path,
      "HELP\n\n  stats  \nstats-json\nfrobnicate\nreload\nquit\n",
      /\nOK\n$/,
    );
    assert.equal(
      out,
      [
        GREETING,
        "Recognised commands:",
        "  help",
        "  stats",
        "  stats-json",
        "  reload",
        "  reopen-logs",
        "  explain",
        "  shutdown",
        "  quit",
        "OK",
        "Global",
        "- Packets",
        "OK",
        '{"global": {}}',
        "OK",
        "UNKNOWN",
        "OK: Configuration reloaded",
        "OK",
        "",
      ].join("\n"),
    );
    assert.match(GREETING, /^DHCPKit DHCPv6 Server \S+$/);
    assert.deepEqual(calls, ["reload"]);
    const bye = await converse(path, "shutdown\n", /Shutting down\n/);
    assert.equal(bye, `${GREETING}\nOK: Shutting down\n`);
    assert.deepEqual(calls, ["reload", "shutdown"]);
    await waitFor(() => socket.connections === 0, 2000, "connections closed");
  });
});

Deno.test("control protocol: reload answers with its outcome, reopen-logs with OK", async () => {
  await withSocket(async (_socket, path, calls, reloads) => {
    reloads.push({
      lines: ["/etc/dhcpkit/dhcpkit.conf:12: unknown section type <no-such-section>"],
      failure: "configuration refused;\nthe running configuration stays in place",
    });
    const out = await converse(path, "reload\nreload\nreopen-logs\nquit\n", /\nOK\n$/);
    assert.equal(
      out,
      [
        GREETING,
        "/etc/dhcpkit/dhcpkit.conf:12: unknown section type <no-such-section>",
        // The reason is one line, whatever the server gave.
        "FAILED: configuration refused; the running configuration stays in place",
        "OK: Configuration reloaded",
        "OK: Log files reopened",
        "OK",
        "",
      ].join("\n"),
    );
    assert.deepEqual(calls, ["reload", "reload", "reopen-logs"]);
  });
});

Deno.test("control socket: garbage and over-long lines get UNKNOWN, the connection goes on", async () => {
  await withSocket(async (_socket, path) => {
    const garbage = new Uint8Array([0xff, 0xfe, 0x00, 0x80, 0x0a]);
    const long = new TextEncoder().encode("x".repeat(100_000) + "\nstats\n");
    const out = await converse(path, new Uint8Array([...garbage, ...long]), /Packets\nOK\n$/);
    assert.equal(out, `${GREETING}\nUNKNOWN\nUNKNOWN\nGlobal\n- Packets\nOK\n`);
  });
});

Deno.test("control socket: a client that never reads is dropped; others are served", async () => {
  const huge = "x".repeat(8 * 1024 * 1024);
  await withSocket(
    async (socket, path) => {
      const silent = await Deno.connect({ transport: "unix", path });
      await silent.write(new TextEncoder().encode("stats\n"));
      // Meanwhile another client is answered straight away.
      const started = Date.now();
      const help = await sendControlCommand(path, "help", 2);
      assert.equal(help.output[0], "Recognised commands:");
      assert.ok(Date.now() - started < 1000);
      await waitFor(() => socket.connections === 0, 5000, "the silent client to be dropped");
      silent.close();
    },
    huge,
    { writeTimeoutMs: 300 },
  );
});

Deno.test("control socket: many clients at once", async () => {
  await withSocket(async (_socket, path) => {
    const results = await Promise.all(
      Array.from({ length: 50 }, () => sendControlCommand(path, "stats-json", 5)),
    );
    for (const r of results) assert.deepEqual(r.output, ['{"global": {}}']);
  });
});

Deno.test("control socket: 64 idle connections do not lock the operator out; idle ones time out", async () => {
  // Issue 20: 64 idle connections refused the operator for up to 600 s.
  await withSocket(
    async (socket, path) => {
      const idle: Deno.UnixConn[] = [];
      for (let i = 0; i < 64; i++) idle.push(await Deno.connect({ transport: "unix", path }));
      await waitFor(() => socket.connections === 64, 5000, "64 connections");
      // The operator gets in (the idlest connection makes room) and is answered at once.
      const help = await sendControlCommand(path, "help", 2);
      assert.equal(help.output[0], "Recognised commands:");
      assert.ok(socket.connections <= 64);
      // Idle connections are closed after the (default 30 s, here 400 ms) idle timeout.
      await waitFor(() => socket.connections === 0, 5000, "idle connections closed");
      for (const c of idle) c.close();
    },
    undefined,
    { idleTimeoutMs: 400 },
  );
});

Deno.test("control socket: a command running longer than the idle timeout is answered", async () => {
  const dir = Deno.makeTempDirSync();
  const path = join(dir, "ctl.sock");
  const { commands } = fakeCommands();
  commands.reload = () => new Promise((resolve) => setTimeout(() => resolve({ lines: [] }), 800));
  const socket = await ControlSocket.open(path, commands, {}, {
    idleTimeoutMs: 300,
    maxConnections: 2,
  });
  socket.serve();
  try {
    const reload = converse(path, "reload\n", /OK: Configuration reloaded\n$/);
    await waitFor(() => socket.connections === 1, 2000, "the reload connection");
    await new Promise((r) => setTimeout(r, 50));
    // Both slots taken (one idle, one running a reload): the newcomer evicts the idle one only.
    const idler = await Deno.connect({ transport: "unix", path });
    await waitFor(() => socket.connections === 2, 2000, "two connections");
    const help = await sendControlCommand(path, "help", 2);
    assert.equal(help.output[0], "Recognised commands:");
    assert.match(await reload, /OK: Configuration reloaded\n$/);
    idler.close();
  } finally {
    socket.closeAll();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("control socket: stale socket replaced; non-socket, live socket, missing folder refused", async () => {
  const dir = Deno.makeTempDirSync();
  const { commands } = fakeCommands();
  try {
    // A stale socket: its owner was killed without cleaning up.
    const stale = join(dir, "stale.sock");
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `Deno.listen({transport: "unix", path: ${JSON.stringify(stale)}}); ` +
        `console.log("up"); setInterval(() => {}, 1000);`,
      ],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const reader = child.stdout.getReader();
    await reader.read();
    child.kill("SIGKILL");
    await child.status;
    reader.releaseLock();
    await child.stdout.cancel();
    assert.ok(Deno.lstatSync(stale).isSocket);
    const refused = await ctl(stale, "stats");
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /no server is listening on control socket/);
    const replaced = await ControlSocket.open(stale, commands);
    replaced.serve();
    assert.equal((await sendControlCommand(stale, "help")).output.length, 9);

    // The same path while it is alive.
    await assert.rejects(ControlSocket.open(stale, commands), /in use/);
    replaced.closeAll();
    assert.ok(!exists(stale), "removed on close");

    const file = join(dir, "plain-file");
    Deno.writeTextFileSync(file, "not a socket");
    await assert.rejects(ControlSocket.open(file, commands), (e: Error) => {
      assert.ok(e instanceof ControlSocketError);
      assert.match(e.message, /is not a socket/);
      return true;
    });
    assert.equal(Deno.readTextFileSync(file), "not a socket", "left alone");
    await assert.rejects(
      ControlSocket.open(join(dir, "missing", "x.sock"), commands),
      /folder does not exist/,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("ctl: no server, wrong server, unknown command, silent server", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const missing = await ctl(join(dir, "nothing.sock"), "stats");
    assert.equal(missing.code, 1);
    assert.equal(missing.stdout, "");
    assert.match(
      missing.stderr,
      /^dhcpkit ctl: no server: control socket .* does not exist\n$/,
    );

    // Something else listening.
    const wrongPath = join(dir, "wrong.sock");
    const wrong = Deno.listen({ transport: "unix", path: wrongPath });
    (async () => {
      for await (const c of wrong) {
        await c.write(new TextEncoder().encode("SSH-2.0-OpenSSH\n")).catch(() => {});
        c.close();
      }
    })();
    await assert.rejects(sendControlCommand(wrongPath, "stats"), /not a DHCPKit server/);
    const wrongCli = await ctl(wrongPath, "stats");
    assert.equal(wrongCli.code, 1);
    assert.match(wrongCli.stderr, /not a DHCPKit server/);
    wrong.close();

    // A server that never says anything.
    const silentPath = join(dir, "silent.sock");
    const silent = Deno.listen({ transport: "unix", path: silentPath });
    const held: Deno.Conn[] = [];
    (async () => {
      for await (const c of silent) held.push(c);
    })();
    await assert.rejects(
      sendControlCommand(silentPath, "stats", 0.3),
      (e: Error) => e instanceof CtlError && /no answer from the server/.test(e.message),
    );
    silent.close();
    for (const c of held) c.close();

    // Unknown command against a real control socket.
    await withSocket(async (_s, path) => {
      const unknown = await ctl(path, "frobnicate");
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /doesn't understand the command "frobnicate"/);
      const ok = await ctl(path, "stats");
      assert.equal(ok.code, 0);
      assert.equal(ok.stdout, "Global\n- Packets\n");
    });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
