/**
 * The operator guide's looking-glass section, done for real: its example configuration
 * (docs/examples/operator/looking-glass.conf, moved to [::1] and free ports) serves the site, and
 * the guide's `dhcpkit ctl explain` commands give what the guide says: a static row with its
 * FILE:LINE, a filter that does not match with what it compared, a captured relayed message. The
 * site finds a customer's static row and lease after a real request, answers only GET and HEAD,
 * and sends its Content-Security-Policy.
 */

import assert from "node:assert/strict";
import { copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  ClientIdOption,
  ElapsedTimeOption,
  IANAOption,
  LinkLayerDuid,
  OptionRequestOption,
  RelayForwardMessage,
  RelayMessageOption,
  RelaySourcePortOption,
  RemoteIdOption,
  RequestMessage,
  serializeMessage,
  ServerIdOption,
} from "../../src/protocol/mod.ts";
import { serverIdConfig } from "../helpers/server.ts";
import { codeBlock } from "../docs/example_server.ts";
import {
  ctl,
  freeTcpPort,
  freeUdpPort,
  makeWorkDir,
  RelayClient,
  ROOT,
  SERVER_MAC,
  startServer,
  writeConfig,
} from "../ops/helpers.ts";

const EXAMPLE = join(ROOT, "docs/examples/operator");

Deno.test("docs example looking-glass.conf: the guide's explain commands and the site", async (t) => {
  const dir = makeWorkDir();
  const port = freeUdpPort();
  const webPort = freeTcpPort();
  const text = readFileSync(join(EXAMPLE, "looking-glass.conf"), "utf8")
    .replace("<listen-unicast 2001:db8:ffff::547>", `<listen-unicast ::1>\n    port ${port}`)
    .replace("port 8547", `port ${webPort}`);
  assert.ok(text.includes(`port ${webPort}`) && text.includes("<listen-unicast ::1>"));
  writeConfig(
    join(dir, "server.conf"),
    `control-socket ctl.sock\npid-file server.pid\n${serverIdConfig(SERVER_MAC)}\n${text}`,
  );
  copyFileSync(join(EXAMPLE, "assignments.csv"), join(dir, "assignments.csv"));
  const server = await startServer(dir);
  const csv = join(dir, "assignments.csv");
  try {
    const commands = codeBlock("docs/operator-guide.md", /dhcpkit ctl explain/).text.trim()
      .split("\n");
    assert.equal(commands.length, 3);
    const run = (line: string) =>
      ctl(server.socket, ...line.replace(/^dhcpkit ctl /, "").split(" "));

    await t.step("a relayed customer: the static row with its file and line", async () => {
      const r = await run(commands[0]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`at: ${csv}:3`));
      assert.match(r.stdout, /Outcome: reply/);
      assert.match(r.stdout, /2001:db8:100::42/);
    });

    await t.step("a customer on an unknown link: the filter says what it compared", async () => {
      const r = await run(commands[1]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stdout,
        /\[ \] subnet 2001:db8:100::\/40: did not match: link address 2001:db8:999::1/,
      );
      assert.match(r.stdout, /Outcome: do_not_respond: ignored/);
    });

    await t.step("a captured relayed message with an Interface-ID", async () => {
      const r = await run(commands[2]);
      assert.equal(r.code, 0, r.stderr);
      const trace = JSON.parse(r.stdout);
      assert.equal(trace.outcome, "reply");
      assert.equal(trace.sources[0].location, `${csv}:4`);
      assert.match(trace.request.summary, /via 2001:db8:100::1/);
    });

    await t.step("the site finds the customer's row and lease after a real request", async () => {
      const client = new RelayClient(port);
      try {
        const request = new RequestMessage(0x4242, [
          new ClientIdOption(new LinkLayerDuid(1, new Uint8Array([2, 0, 0, 0, 0, 0x42]))),
          new ServerIdOption(new LinkLayerDuid(1, new Uint8Array([2, 0, 0, 0xd4, 0xc9, 1]))),
          new OptionRequestOption([23]),
          new ElapsedTimeOption(0),
          new IANAOption(1, 0, 0, []),
        ]);
        await client.sendRaw(serializeMessage(
          new RelayForwardMessage(0, "2001:db8:100::1", "fe80::1", [
            new RelaySourcePortOption(0),
            new RemoteIdOption(9, new TextEncoder().encode("modem-0042")),
            new RelayMessageOption(request),
          ]),
        ));
        assert.ok(await client.receive(), "the request is answered");
      } finally {
        client.close();
      }
      const base = `http://[::1]:${webPort}`;
      const page = await fetch(`${base}/subscribers?q=modem-0042`);
      assert.equal(page.status, 200);
      assert.match(page.headers.get("content-security-policy") ?? "", /default-src 'none'/);
      const html = await page.text();
      assert.match(html, new RegExp(`${csv}:3`));
      assert.match(html, /<table class="leases">[\s\S]*2001:db8:100::42[\s\S]*<\/table>/);
      const post = await fetch(`${base}/`, { method: "POST", body: "x" });
      await post.body?.cancel();
      assert.equal(post.status, 405);
    });
  } finally {
    await server.kill();
    Deno.removeSync(dir, { recursive: true });
  }
});
