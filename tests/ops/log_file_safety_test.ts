/**
 * Log files and links (issue 20, defect 2), as root with `user nobody`: a log file path that is a
 * symbolic link to a root-only file is refused at start-up and on `reopen-logs`, and the target
 * gets nothing; in a folder the service user owns the file is opened as the service user; in a
 * root-only folder it is opened as root and handed to the service user. Plus the folder check
 * itself (serviceCanWrite) on made-up folders.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { serviceCanWrite } from "../../src/server/log_file_open.ts";
import {
  baseConfig,
  ctl,
  freeUdpPort,
  informationRequest,
  RelayClient,
  startServer,
  waitFor,
} from "./helpers.ts";

const isRoot = Deno.uid() === 0;
const NOBODY = 65534;

/** A root-only secret and a folder for the server (run folder root's, 0755). */
function setup(): { run: string; secret: string; logs: string; cleanup(): void } {
  const run = Deno.makeTempDirSync({ prefix: "dhcpkit-logsafe-run-" });
  Deno.chmodSync(run, 0o755);
  const vault = Deno.makeTempDirSync({ prefix: "dhcpkit-logsafe-vault-" });
  Deno.chmodSync(vault, 0o755);
  const secret = join(vault, "secret");
  Deno.writeTextFileSync(secret, "root only\n");
  Deno.chmodSync(secret, 0o600);
  const logs = Deno.makeTempDirSync({ prefix: "dhcpkit-logsafe-logs-" });
  return {
    run,
    secret,
    logs,
    cleanup() {
      for (const d of [run, vault, logs]) Deno.removeSync(d, { recursive: true });
    },
  };
}

function writeConf(run: string, port: number, logFile: string): void {
  const conf = join(run, "server.conf");
  Deno.writeTextFileSync(
    conf,
    baseConfig(
      port,
      `<logging>\n    <file ${logFile}>\n        level info\n    </file>\n</logging>\n`,
    ).replace("workers 2", "workers 1\nuser nobody"),
  );
  Deno.chmodSync(conf, 0o600);
}

Deno.test({
  name: "log file: a link planted by the service user is refused at start, the target untouched",
  ignore: !isRoot,
  async fn() {
    const { run, secret, logs, cleanup } = setup();
    try {
      // The service user's own log folder, with a link to a root-only file in it.
      Deno.chownSync(logs, NOBODY, NOBODY);
      Deno.chmodSync(logs, 0o755);
      const logFile = join(logs, "dhcpkit.log");
      Deno.symlinkSync(secret, logFile);
      const port = freeUdpPort();
      writeConf(run, port, logFile);
      // The other outputs say so (standard error); the server runs on without that file.
      const server = await startServer(run);
      const client = new RelayClient(port);
      try {
        await waitFor(
          () => /cannot open log file .*dhcpkit\.log: .* is a symbolic link/.test(server.stderr()),
          10_000,
          "the refusal on standard error",
        );
        assert.ok(await client.ask(informationRequest()), server.stderr());
        await ctl(server.socket, "reopen-logs");
      } finally {
        client.close();
        await server.kill();
      }
      assert.ok(Deno.lstatSync(logFile).isSymlink);
      assert.equal(Deno.readTextFileSync(secret), "root only\n", "log lines reached the target");
    } finally {
      cleanup();
    }
  },
});

Deno.test({
  name: "log file: replaced by a link before reopen-logs: reopen fails, the target untouched; " +
    "files are the service user's in its folder and in a root-only one",
  ignore: !isRoot,
  async fn() {
    const { run, secret, logs, cleanup } = setup();
    try {
      Deno.chownSync(logs, NOBODY, NOBODY);
      Deno.chmodSync(logs, 0o755);
      const logFile = join(logs, "dhcpkit.log");
      const port = freeUdpPort();
      writeConf(run, port, logFile);
      const server = await startServer(run);
      const client = new RelayClient(port);
      try {
        assert.ok(await client.ask(informationRequest()), server.stderr());
        await waitFor(() => Deno.statSync(logFile).size > 0, 5000, "log lines");
        assert.equal(Deno.lstatSync(logFile).uid, NOBODY, "log file in the service user's folder");
        // What the service user could do in its folder: swap the file for a link.
        Deno.removeSync(logFile);
        Deno.symlinkSync(secret, logFile);
        const reopen = await ctl(server.socket, "reopen-logs");
        assert.notEqual(reopen.code, 0, "reopen-logs followed the link");
        assert.match(reopen.stdout + reopen.stderr, /symbolic link/);
        await ctl(server.socket, "reload"); // more log lines, another reopen
        assert.ok(await client.ask(informationRequest()), "the server still answers");
        assert.equal(Deno.readTextFileSync(secret), "root only\n", "log lines reached the target");

        // A root-only folder (like /var/log/dhcpkit owned by root): opened as root, handed over.
        const rootLogs = join(run, "logs");
        Deno.mkdirSync(rootLogs, { mode: 0o755 });
        const rootLog = join(rootLogs, "dhcpkit.log");
        writeConf(run, port, rootLog);
        const reload = await ctl(server.socket, "reload");
        assert.equal(reload.code, 0, reload.stdout + reload.stderr);
        await waitFor(() => Deno.statSync(rootLog).size > 0, 5000, "lines in the root-only folder");
        assert.equal(Deno.lstatSync(rootLog).uid, NOBODY, "a log file left to root");
        assert.equal(Deno.lstatSync(rootLog).mode! & 0o077, 0);
      } finally {
        client.close();
        await server.kill();
      }
    } finally {
      cleanup();
    }
  },
});

Deno.test("serviceCanWrite: own folder, group folder, root folder, writable and sticky parents", () => {
  const base = Deno.makeTempDirSync({ prefix: "dhcpkit-logsafe-fs-" });
  const me = { uid: Deno.uid()!, gid: Deno.gid()! };
  const other = { uid: me.uid + 4242, gid: me.gid + 4242 };
  try {
    Deno.chmodSync(base, 0o755);
    const folder = join(base, "logs");
    Deno.mkdirSync(folder, { mode: 0o755 });
    Deno.chmodSync(folder, 0o755);
    // Owned by `me`: writable for me; for the other account only through other bits or a parent.
    assert.equal(serviceCanWrite(folder, me), true);
    assert.equal(serviceCanWrite(folder, other), false);
    Deno.chmodSync(folder, 0o757);
    assert.equal(serviceCanWrite(folder, other), true, "world-writable folder");
    Deno.chmodSync(folder, 0o755);
    Deno.chmodSync(base, 0o757);
    assert.equal(serviceCanWrite(folder, other), true, "the parent lets it replace the folder");
    Deno.chmodSync(base, 0o1757);
    assert.equal(serviceCanWrite(folder, other), false, "a sticky parent protects the folder");
    Deno.chmodSync(base, 0o755);
    Deno.chmodSync(folder, 0o575);
    assert.equal(serviceCanWrite(folder, { uid: other.uid, gid: me.gid }), true, "group-writable");
  } finally {
    Deno.chmodSync(base, 0o755);
    Deno.removeSync(base, { recursive: true });
  }
});
