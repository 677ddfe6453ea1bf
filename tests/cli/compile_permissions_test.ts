/**
 * The permissions `./compile.sh` bakes into the executable are a real boundary (issue 20): the
 * server runs with exactly the flags `compile.sh --print-permissions` prints for a given layout
 * (plus read access to the checkout, which a compiled executable does not need: its modules are
 * embedded), serves from that layout (configuration, state, logs, PID file and control socket),
 * and is refused reading a configuration and writing a log file outside it.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { sendControlCommand } from "../../cli/ctl.ts";
import {
  baseConfig,
  freeUdpPort,
  informationRequest,
  RelayClient,
  spawnCollectingStderr,
  waitFor,
} from "../ops/helpers.ts";

const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const isRoot = Deno.uid() === 0;
const NOBODY = 65534;

async function compileFlags(layout: Record<string, string>): Promise<string[]> {
  const args = ["--print-permissions"];
  for (const [name, dir] of Object.entries(layout)) args.push(`--${name}-dir`, dir);
  const out = await new Deno.Command(join(ROOT, "compile.sh"), { args, stdin: "null" }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).trim().split("\n");
}

Deno.test({
  name: "compile.sh permissions: the systemd-style layout works, files outside are refused",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const base = Deno.makeTempDirSync({ prefix: "dhcpkit-layout-" });
    Deno.chmodSync(base, 0o755);
    const layout = {
      config: join(base, "etc"),
      state: join(base, "lib"),
      log: join(base, "log"),
      runtime: join(base, "run"),
    };
    for (const dir of Object.values(layout)) Deno.mkdirSync(dir, { mode: 0o755 });
    if (isRoot) Deno.chownSync(layout.state, NOBODY, NOBODY);
    const outside = Deno.makeTempDirSync({ prefix: "dhcpkit-outside-" });
    Deno.chmodSync(outside, 0o777);
    const flags = (await compileFlags(layout)).map((f) =>
      f.startsWith("--allow-read=") ? `${f},${ROOT}` : f
    );
    assert.ok(flags.some((f) => f.startsWith("--allow-write=")), flags.join(" "));
    const port = freeUdpPort();
    const conf = join(layout.config, "dhcpkit.conf");
    const write = (extraLog = "") =>
      Deno.writeTextFileSync(
        conf,
        baseConfig(
          port,
          `<logging>
    <file ${join(layout.log, "dhcpkit.log")}>
        level info
    </file>
${extraLog}</logging>
<recursive-name-servers>
    address 2001:db8::53
</recursive-name-servers>
<leasequery>
    <lq-sqlite ${join(layout.state, "leasequery.sqlite")} />
</leasequery>
`,
        ).replace("workers 2", isRoot ? "workers 1\nuser nobody" : "workers 1"),
      );
    write();
    const pid = join(layout.runtime, "dhcpkit.pid");
    const socket = join(layout.runtime, "dhcpkit.sock");
    const serve = (config: string) =>
      spawnCollectingStderr(Deno.execPath(), [
        "run",
        "--no-prompt",
        ...flags,
        join(ROOT, "cli/main.ts"),
        "serve",
        "-p",
        pid,
        "-c",
        socket,
        config,
      ]);
    const server = serve(conf);
    const client = new RelayClient(port);
    try {
      await waitFor(
        async () => {
          if (server.exited()) throw new Error(`the server stopped:\n${server.stderr()}`);
          try {
            await sendControlCommand(socket, "help", 1);
            return true;
          } catch {
            return false;
          }
        },
        30_000,
        "the control socket",
      );
      assert.ok(await client.ask(informationRequest()), server.stderr());
      await waitFor(() => Deno.statSync(pid).isFile, 5000, "the PID file");
      await waitFor(
        () => {
          try {
            return Deno.statSync(join(layout.log, "dhcpkit.log")).size > 0;
          } catch {
            return false;
          }
        },
        5000,
        "the log file",
      ).catch((e) => {
        throw new Error(`${e.message}\n${server.stderr()}`);
      });
      await waitFor(
        () => {
          try {
            return Deno.statSync(join(layout.state, "leasequery.sqlite")).isFile;
          } catch {
            return false;
          }
        },
        10_000,
        "the leasequery store",
      );
      assert.doesNotMatch(server.stderr(), /Requires .* access/);

      // A log file outside the layout: refused (write permission), the server goes on.
      const stray = join(outside, "stray.log");
      write(`    <file ${stray}>\n        level info\n    </file>\n`);
      await sendControlCommand(socket, "reload", 10);
      await waitFor(
        () =>
          /cannot open log file .*stray\.log: Requires (read|write) access/.test(server.stderr()),
        10_000,
        "the refused log file",
      ).catch((e) => {
        throw new Error(`${e.message}\n${server.stderr()}`);
      });
      assert.throws(() => Deno.statSync(stray), Deno.errors.NotFound);
      assert.ok(await client.ask(informationRequest()), "the server still answers");

      // A configuration outside the layout: refused (read permission), in one line.
      const elsewhere = join(outside, "dhcpkit.conf");
      Deno.writeTextFileSync(elsewhere, "<listen-unicast ::1>\n</listen-unicast>\n");
      const other = serve(elsewhere);
      const status = await other.status;
      assert.equal(status.code, 1, other.stderr());
      assert.match(other.stderr(), /cannot read configuration file: Requires read access/);
    } finally {
      client.close();
      try {
        server.child.kill("SIGTERM");
      } catch {
        // gone
      }
      await server.status;
      Deno.removeSync(base, { recursive: true });
      Deno.removeSync(outside, { recursive: true });
    }
  },
});
