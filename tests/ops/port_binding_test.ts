/**
 * UDP ports are not shared (issue 20, defect 3), with both I/O backends: a server refuses to
 * start, in one line, on a port another process holds; once it runs, another process cannot
 * bind its port, not even with SO_REUSEADDR (which let it take every request before); a reload
 * still hands the sockets over and answers on the same port.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  baseConfig,
  ctl,
  informationRequest,
  makeWorkDir,
  RelayClient,
  spawnServer,
  startServer,
  writeConfig,
} from "./helpers.ts";

/** A UDP socket on [::1] with a free port, kept open (the "other process" holding it). */
function holdPort(): Deno.DatagramConn {
  return Deno.listenDatagram({ transport: "udp", hostname: "::1", port: 0 });
}

const BACKENDS = Deno.build.os === "linux" ? ["deno", "ffi"] : ["deno"];

for (const io of BACKENDS) {
  Deno.test(`port binding (io-backend ${io}): a taken port stops the start with one line`, async () => {
    const dir = makeWorkDir();
    const holder = holdPort();
    const port = (holder.addr as Deno.NetAddr).port;
    try {
      writeConfig(
        join(dir, "server.conf"),
        baseConfig(port).replace("workers 2\n", `workers 1\nio-backend ${io}\n`),
      );
      const server = spawnServer(dir);
      const status = await server.status;
      assert.equal(status.code, 1, server.stderr());
      const lines = server.stderr().trim().split("\n");
      assert.equal(lines.length, 1, server.stderr());
      assert.match(
        lines[0],
        new RegExp(
          `^dhcpkit serve: .*cannot listen on \\[::1\\]:${port}: the port is already in use`,
        ),
      );
    } finally {
      holder.close();
      Deno.removeSync(dir, { recursive: true });
    }
  });

  Deno.test(`port binding (io-backend ${io}): nobody else can bind the running server's port, not even with SO_REUSEADDR; reload keeps it`, async () => {
    const dir = makeWorkDir();
    const probe = holdPort();
    const port = (probe.addr as Deno.NetAddr).port;
    probe.close();
    writeConfig(
      join(dir, "server.conf"),
      baseConfig(port).replace("workers 2\n", `workers 1\nio-backend ${io}\n`),
    );
    const server = await startServer(dir);
    const client = new RelayClient(port);
    try {
      assert.ok(await client.ask(informationRequest()), server.stderr());
      for (const reuseAddress of [false, true]) {
        assert.throws(
          () => Deno.listenDatagram({ transport: "udp", hostname: "::1", port, reuseAddress }),
          Deno.errors.AddrInUse,
          `another socket could bind the port (reuseAddress ${reuseAddress})`,
        );
      }
      const reload = await ctl(server.socket, "reload");
      assert.equal(reload.code, 0, reload.stdout + reload.stderr);
      assert.ok(await client.ask(informationRequest()), `no answer after the reload`);
      assert.throws(
        () => Deno.listenDatagram({ transport: "udp", hostname: "::1", port, reuseAddress: true }),
        Deno.errors.AddrInUse,
      );
    } finally {
      client.close();
      await server.kill();
      Deno.removeSync(dir, { recursive: true });
    }
  });
}
