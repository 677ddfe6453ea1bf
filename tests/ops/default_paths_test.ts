/**
 * The default control socket and PID file are `/run/dhcpkit/dhcpkit.sock` and
 * `/run/dhcpkit/dhcpkit.pid`, the paths of the systemd unit and the operator guide; the server
 * creates `/run/dhcpkit` for them when it is missing. The server runs in a mount namespace of
 * its own with a fresh tmpfs on `/run`, so the host's `/run` is never touched; the test looks at
 * the namespace's files with `nsenter`.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { SERVER_PERMISSIONS } from "../helpers/server.ts";
import {
  baseConfig,
  freeUdpPort,
  informationRequest,
  MAIN,
  makeWorkDir,
  RelayClient,
  spawnCollectingStderr,
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
    "default_paths_test: skipped, needs root, unshare and nsenter (util-linux) to give the " +
      "server a /run of its own",
  );
}

/** `dhcpkit serve CONFIG` in a new mount namespace whose `/run` is an empty tmpfs. */
function serveWithPrivateRun(config: string, extra: string[] = []) {
  const server = spawnCollectingStderr("unshare", [
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
  ]);
  return {
    ...server,
    /** Run a command in the server's mount namespace; its stdout, or undefined on failure. */
    inside: (...command: string[]): string | undefined => {
      const out = new Deno.Command("nsenter", {
        args: ["--target", String(server.child.pid), "--mount", "--", ...command],
        stdout: "piped",
        stderr: "null",
      }).outputSync();
      return out.success ? new TextDecoder().decode(out.stdout) : undefined;
    },
    async stop() {
      if (!server.exited()) server.child.kill("SIGTERM");
      await server.status;
    },
  };
}

/**
 * A test with a free port and the path of its configuration (not written yet) in a work folder
 * that is removed afterwards.
 */
function privateRunTest(
  name: string,
  fn: (port: number, conf: string) => Promise<void>,
): void {
  Deno.test({
    name,
    ignore: !usable,
    fn: async () => {
      const dir = makeWorkDir();
      try {
        await fn(freeUdpPort(), join(dir, "server.conf"));
      } finally {
        Deno.removeSync(dir, { recursive: true });
      }
    },
  });
}

privateRunTest(
  "default paths: /run/dhcpkit is created for the default control socket and PID file",
  async (port, conf) => {
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
      await waitFor(
        () => {
          if (server.exited()) throw new Error(`the server exited:\n${server.stderr()}`);
          return server.inside("test", "-S", "/run/dhcpkit/dhcpkit.sock") !== undefined;
        },
        30_000,
        "the control socket at /run/dhcpkit/dhcpkit.sock",
      );
      const help = server.inside(
        Deno.execPath(),
        "run",
        "--allow-all",
        MAIN,
        "ctl",
        "-c",
        "/run/dhcpkit/dhcpkit.sock",
        "help",
      );
      assert.match(help ?? "", /^Recognised commands:\n/);
      assert.ok(await client.ask(informationRequest()), "the server answers");
      assert.equal(server.inside("stat", "-c", "%F %a %u", "/run/dhcpkit"), "directory 755 0\n");
      await waitFor(
        () => server.inside("test", "-f", "/run/dhcpkit/dhcpkit.pid") !== undefined,
        5000,
        "the PID file",
      );
      assert.equal(server.inside("cat", "/run/dhcpkit/dhcpkit.pid"), `${server.child.pid}\n`);
    } finally {
      client.close();
      await server.stop();
    }
    assert.equal((await server.status).code, 0, server.stderr());
  },
);

privateRunTest(
  "default paths: a configured path whose folder is missing is still an error",
  async (port, conf) => {
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
    }
  },
);
