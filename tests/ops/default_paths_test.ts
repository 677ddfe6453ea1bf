/**
 * The default control socket and PID file are `/run/dhcpkit/dhcpkit.sock` and
 * `/run/dhcpkit/dhcpkit.pid`, the paths of the systemd unit and the operator guide; the server
 * creates `/run/dhcpkit` for them when it is missing. The server runs in a mount namespace of
 * its own with a fresh tmpfs on `/run`, so the host's `/run` is never touched; the test reaches
 * the namespace's files through `/proc/PID/root`.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { sendControlCommand } from "../../cli/ctl.ts";
import { SERVER_PERMISSIONS } from "../helpers/server.ts";
import {
  baseConfig,
  exists,
  freeUdpPort,
  informationRequest,
  MAIN,
  makeWorkDir,
  RelayClient,
  waitFor,
  writeConfig,
} from "./helpers.ts";

const isRoot = Deno.uid() === 0;

/** Whether this machine lets us make a mount namespace with a tmpfs of our own. */
function canUnshare(): boolean {
  if (!isRoot) return false;
  try {
    const out = new Deno.Command("unshare", {
      args: ["--mount", "--propagation", "private", "sh", "-c", "mount -t tmpfs tmpfs /run"],
      stdout: "null",
      stderr: "null",
    }).outputSync();
    return out.success;
  } catch {
    return false;
  }
}

const usable = canUnshare();
if (!usable) {
  console.warn(
    "default_paths_test: skipped, needs root and unshare (util-linux) to give the server a /run " +
      "of its own",
  );
}

/** `dhcpkit serve CONFIG` in a new mount namespace whose `/run` is an empty tmpfs. */
function serveWithPrivateRun(config: string, extra: string[] = []) {
  const child = new Deno.Command("unshare", {
    args: [
      "--mount",
      "--propagation",
      "private",
      "sh",
      "-c",
      'mount -t tmpfs -o mode=0755 tmpfs /run && exec "$@"',
      "sh",
      Deno.execPath(),
      "run",
      ...SERVER_PERMISSIONS,
      MAIN,
      "serve",
      ...extra,
      config,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let err = "";
  const decoder = new TextDecoder();
  const reading = (async () => {
    for await (const chunk of child.stderr) err += decoder.decode(chunk, { stream: true });
  })();
  let done = false;
  const status = child.status.then(async (s) => {
    done = true;
    await reading;
    return s;
  });
  return {
    child,
    status,
    stderr: () => err,
    get done() {
      return done;
    },
    /** A path inside the server's mount namespace. */
    inside: (path: string) => `/proc/${child.pid}/root${path}`,
    async stop() {
      if (!done) child.kill("SIGTERM");
      await status;
    },
  };
}

Deno.test({
  name: "default paths: /run/dhcpkit is created for the default control socket and PID file",
  ignore: !usable,
  async fn() {
    const dir = makeWorkDir();
    const port = freeUdpPort();
    const conf = join(dir, "server.conf");
    // No control-socket and no pid-file: the defaults.
    writeConfig(
      conf,
      baseConfig(
        port,
        "\n<recursive-name-servers>\n    address 2001:db8::53\n</recursive-name-servers>\n",
      )
        .replace(/^(control-socket|pid-file) .*\n/gm, ""),
    );
    const server = serveWithPrivateRun(conf);
    const client = new RelayClient(port);
    try {
      const socket = server.inside("/run/dhcpkit/dhcpkit.sock");
      await waitFor(
        async () => {
          if (server.done) throw new Error(`the server exited:\n${server.stderr()}`);
          try {
            await sendControlCommand(socket, "help", 2);
            return true;
          } catch {
            return false;
          }
        },
        30_000,
        "the control socket at /run/dhcpkit/dhcpkit.sock",
      );
      assert.ok(await client.ask(informationRequest()), "the server answers");
      const folder = Deno.statSync(server.inside("/run/dhcpkit"));
      assert.ok(folder.isDirectory);
      assert.equal((folder.mode! & 0o7777).toString(8), "755");
      assert.equal(folder.uid, 0);
      const pidFile = server.inside("/run/dhcpkit/dhcpkit.pid");
      await waitFor(() => exists(pidFile), 5000, "the PID file");
      assert.equal(Deno.readTextFileSync(pidFile).trim(), String(server.child.pid));
    } finally {
      client.close();
      await server.stop();
      Deno.removeSync(dir, { recursive: true });
    }
    assert.equal((await server.status).code, 0, server.stderr());
  },
});

Deno.test({
  name: "default paths: a configured path whose folder is missing is still an error",
  ignore: !usable,
  async fn() {
    const dir = makeWorkDir();
    const port = freeUdpPort();
    const conf = join(dir, "server.conf");
    writeConfig(
      conf,
      baseConfig(port).replace(/^control-socket .*$/m, "control-socket /run/elsewhere/ctl.sock"),
    );
    const server = serveWithPrivateRun(conf);
    try {
      const status = await server.status;
      assert.equal(status.code, 1);
      assert.match(server.stderr(), /folder \/run\/elsewhere does not exist/);
    } finally {
      await server.stop();
    }
    // On the command line too (no host checks there: the socket itself fails).
    writeConfig(conf, baseConfig(port));
    const cli = serveWithPrivateRun(conf, ["-c", "/run/elsewhere/ctl.sock"]);
    try {
      const status = await cli.status;
      assert.equal(status.code, 1);
      assert.match(cli.stderr(), /\/run\/elsewhere\/ctl\.sock: its folder does not exist/);
    } finally {
      await cli.stop();
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
