/**
 * `dhcpkit ctl` against a small fake control server on a real Unix socket that speaks the
 * control protocol (greeting, one command a line, output lines, then `OK`, `OK: text`,
 * `FAILED: reason` or `UNKNOWN`), so the client's side is tested on its own: a refused reload
 * prints the errors and the reason on stderr and exits 1; `--timeout` bounds the wait; the
 * default socket is the one the systemd unit and the guide use.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { assertOneLineError, runCli } from "./helpers.ts";
import { defaultTimeout } from "../../cli/ctl.ts";

/** What the fake server answers to each command: lines including the terminator, or silence. */
type Script = Record<string, string[] | "silent">;

/** A fake control server on `path`; resolves `close()` when done. */
function fakeServer(path: string, script: Script): { close(): void; received: string[] } {
  const listener = Deno.listen({ transport: "unix", path });
  const received: string[] = [];
  const conns: Deno.Conn[] = [];
  const encoder = new TextEncoder();
  (async () => {
    for await (const conn of listener) {
      conns.push(conn);
      (async () => {
        await conn.write(encoder.encode("DHCPKit DHCPv6 Server 0.1.0\n"));
        const decoder = new TextDecoder();
        let buffer = "";
        const chunk = new Uint8Array(1024);
        for (;;) {
          const n = await conn.read(chunk).catch(() => null);
          if (n === null) break;
          buffer += decoder.decode(chunk.subarray(0, n));
          let nl;
          while ((nl = buffer.indexOf("\n")) >= 0) {
            const command = buffer.slice(0, nl).trim();
            buffer = buffer.slice(nl + 1);
            received.push(command);
            if (command === "quit") {
              conn.close();
              return;
            }
            const answer = script[command] ?? ["UNKNOWN"];
            if (answer === "silent") continue;
            await conn.write(encoder.encode(answer.map((l) => l + "\n").join(""))).catch(() => {});
          }
        }
      })().catch(() => {});
    }
  })().catch(() => {});
  return {
    received,
    close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // closed by the client's quit
        }
      }
    },
  };
}

async function withServer(
  script: Script,
  body: (socket: string, received: string[]) => Promise<void>,
): Promise<void> {
  const dir = Deno.makeTempDirSync({ prefix: "dhcpkit-ctl-" });
  const socket = join(dir, "ctl.sock");
  const server = fakeServer(socket, script);
  try {
    await body(socket, server.received);
  } finally {
    server.close();
    Deno.removeSync(dir, { recursive: true });
  }
}

const REFUSED = [
  "/etc/dhcpkit/dhcpkit.conf:12: unknown section type <no-such-section>",
  "/etc/dhcpkit/dhcpkit.conf:30: address 2001:db8::x is not an IPv6 address",
  "FAILED: configuration refused; the running configuration stays in place",
];

Deno.test("ctl reload: a refused configuration prints its errors and the reason on stderr, exit 1", async () => {
  await withServer({ reload: REFUSED }, async (socket, received) => {
    const r = await runCli(["ctl", "-c", socket, "reload"]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, "");
    assert.deepEqual(r.stderr.trimEnd().split("\n"), [
      REFUSED[0],
      REFUSED[1],
      "dhcpkit ctl: reload: configuration refused; the running configuration stays in place",
    ]);
    assert.equal(received[0], "reload");
  });
});

Deno.test("ctl: FAILED without a reason is still a failure", async () => {
  await withServer(
    { "reopen-logs": ["/var/log/dhcpkit.log: permission denied", "FAILED"] },
    async (socket) => {
      const r = await runCli(["ctl", "-c", socket, "reopen-logs"]);
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /^\/var\/log\/dhcpkit\.log: permission denied\ndhcpkit ctl: reopen-logs: /,
      );
    },
  );
});

Deno.test("ctl reload and reopen-logs: OK with text prints the text, exit 0", async () => {
  await withServer({
    reload: ["OK: Configuration reloaded"],
    "reopen-logs": ["OK: Log files reopened"],
    stats: ["Global", "- Packets", "OK"],
  }, async (socket) => {
    const reload = await runCli(["ctl", "-c", socket, "reload"]);
    assert.equal(reload.code, 0, reload.stderr);
    assert.equal(reload.stdout, "Configuration reloaded\n");
    const reopen = await runCli(["ctl", "--control-socket", socket, "reopen-logs"]);
    assert.equal(reopen.code, 0, reopen.stderr);
    assert.equal(reopen.stdout, "Log files reopened\n");
    const stats = await runCli(["ctl", "-c", socket, "stats"]);
    assert.equal(stats.stdout, "Global\n- Packets\n");
    assert.equal(stats.stderr, "");
  });
});

Deno.test("ctl: UNKNOWN is one line, exit 1", async () => {
  await withServer({}, async (socket) => {
    const line = assertOneLineError(await runCli(["ctl", "-c", socket, "frobnicate"]), "ctl", 1);
    assert.match(line, /doesn't understand the command "frobnicate"/);
  });
});

Deno.test("ctl --timeout: a server that never answers is given up after that many seconds", async () => {
  await withServer({ reload: "silent" }, async (socket) => {
    const line = assertOneLineError(
      await runCli(["ctl", "-c", socket, "--timeout", "0.5", "reload"]),
      "ctl",
      1,
    );
    assert.match(line, /no answer from the server within 0\.5 seconds/);
  });
});

Deno.test("ctl: reload waits longer than other commands by default", () => {
  assert.equal(defaultTimeout("reload"), 120);
  assert.equal(defaultTimeout("stats"), 10);
});

Deno.test("ctl: --verbosity and --verbose are both accepted", async () => {
  await withServer({ stats: ["OK"] }, async (socket) => {
    for (const flag of ["--verbosity", "--verbose", "-vv"]) {
      const r = await runCli(["ctl", flag, "-c", socket, "stats"]);
      assert.equal(r.code, 0, `${flag}: ${r.stderr}`);
    }
  });
});

Deno.test("ctl: the default socket is /run/dhcpkit/dhcpkit.sock, and help lists reopen-logs", async () => {
  const help = await runCli(["ctl", "--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /reopen-logs/);
  assert.match(help.stdout, /default:\s+\/run\/dhcpkit\/dhcpkit\.sock/);
  let running = false;
  try {
    Deno.statSync("/run/dhcpkit/dhcpkit.sock");
    running = true;
  } catch {
    // no server here, as expected on a test machine
  }
  if (running) {
    console.log("note: a server runs at /run/dhcpkit/dhcpkit.sock; default-socket check skipped");
    return;
  }
  const line = assertOneLineError(await runCli(["ctl", "stats"]), "ctl", 1);
  assert.match(line, /control socket \/run\/dhcpkit\/dhcpkit\.sock does not exist/);
});
