/**
 * `dhcpkit query` against a real server (`dhcpkit serve` as a subprocess on [::1]) with static
 * CSV assignments: DUIDs of every type are sent unchanged and find their customer, every request
 * type gets the answer it should, the relay options reach the server (assignments keyed by
 * interface-id, remote-id and subscriber-id are found), the default output is a readable
 * summary and `--json` the JSON line; and every `dhcpkit query` command the operator guide shows
 * runs.
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { baseConfig, makeWorkDir, startServer, writeConfig } from "../ops/helpers.ts";
import { freeUdpPort } from "../helpers/server.ts";
import { assertOneLineError, REPO, runCli } from "./helpers.ts";

const LLT = "000100011d1d6071002436ef1d89";
const EN = "00020000ab110102030405060708";
const UUID = "00040123456789abcdef0123456789abcdef";
/** `dhcpkit query`'s default client (a DUID-LL of 02:00:00:00:00:01). */
const DEFAULT = "00030001020000000001";

const CSV = `id,address,prefix
duid:${LLT},2001:db8:1::11,2001:db8:11::/48
duid:${EN},2001:db8:1::12,
duid:${UUID},2001:db8:1::13,
duid:${DEFAULT},2001:db8:1::1,2001:db8:100::/56
duid:000300010200000000aa,2001:db8:100::aa,
interface-id-str:ge-0/0/1.100,2001:db8:1::21,
remote-id:3561:0a0b0c,2001:db8:1::22,
subscriber-id-str:sub-0007,2001:db8:1::23,
`;

type Json = Record<string, unknown>;

/** The client message inside the JSON of a relayed answer. */
function inner(reply: Json): Json {
  let m = reply;
  while (m.type === "relay-reply") {
    const relayed = (m.options as Json[]).find((o) => o.name === "relay-message");
    m = relayed!.message as Json;
  }
  return m;
}

/** Every option named `name` anywhere below `m`. */
function find(m: Json, name: string): Json[] {
  const out: Json[] = [];
  const visit = (o: Json) => {
    if (o.name === name) out.push(o);
    for (const child of (o.options as Json[] | undefined) ?? []) visit(child);
  };
  for (const o of (m.options as Json[]) ?? []) visit(o);
  return out;
}

const addresses = (m: Json) => find(m, "ia-address").map((o) => o.address);
const prefixes = (m: Json) => find(m, "ia-prefix").map((o) => `${o.prefix}/${o.prefix_length}`);
const statuses = (m: Json) => find(m, "status-code").map((o) => o.status_name);

Deno.test("dhcpkit query against a real server with static assignments", async (t) => {
  const dir = makeWorkDir();
  const port = freeUdpPort();
  writeConfig(join(dir, "assignments.csv"), CSV);
  writeConfig(
    join(dir, "server.conf"),
    baseConfig(port, `\n<static-csv assignments.csv>\n</static-csv>\n`),
  );
  const server = await startServer(dir);
  const target = ["--server", "::1", "--port", String(port)];
  /** Run `dhcpkit query --json ...`; the client message of the reply. */
  const ask = async (...args: string[]): Promise<Json> => {
    const r = await runCli(["query", ...target, "--json", ...args], {
      permissions: ["--allow-net"],
    });
    assert.equal(r.code, 0, `query ${args.join(" ")}: ${r.stderr}`);
    assert.equal(r.stderr, "");
    const lines = r.stdout.trimEnd().split("\n");
    assert.equal(lines.length, 1, r.stdout);
    return inner(JSON.parse(lines[0]));
  };
  try {
    await t.step("DUID-LLT, DUID-EN and DUID-UUID customers get their assignment", async () => {
      for (
        const [duid, address] of [[LLT, "2001:db8:1::11"], [EN, "2001:db8:1::12"], [
          UUID,
          "2001:db8:1::13",
        ]]
      ) {
        const reply = await ask("--duid", duid, "solicit");
        assert.equal(reply.type, "advertise");
        assert.deepEqual(addresses(reply), [address], duid);
        const client = find(reply, "client-id")[0].duid as Json;
        assert.equal(client.hex, duid, "the DUID went out unchanged");
      }
      assert.deepEqual(prefixes(await ask("--duid", LLT, "solicit")), ["2001:db8:11::/48"]);
    });

    await t.step("each request type gets the reply it should", async () => {
      const solicit = await ask("--rapid-commit", "solicit");
      assert.equal(solicit.type, "advertise", "the test server allows no rapid commit");
      for (const type of ["request", "renew", "rebind"]) {
        const reply = await ask(type);
        assert.equal(reply.type, "reply", type);
        assert.deepEqual(addresses(reply), ["2001:db8:1::1"], type);
        assert.deepEqual(prefixes(reply), ["2001:db8:100::/56"], type);
        const ia = find(reply, "ia-address")[0];
        assert.ok((ia.valid_lifetime as number) > 0, type);
      }
      // With the address given (and the server's DUID learned by the Solicit sent first).
      const renew = await ask(
        "--address",
        "2001:db8:1::1",
        "--prefix",
        "2001:db8:100::/56",
        "renew",
      );
      assert.deepEqual(addresses(renew), ["2001:db8:1::1"]);
      const release = await ask("release");
      assert.equal(release.type, "reply");
      assert.deepEqual(statuses(release), ["Success"], JSON.stringify(release));
      const confirm = await ask("--address", "2001:db8:1::1", "confirm");
      assert.equal(confirm.type, "reply");
      assert.deepEqual(statuses(confirm), ["Success"]);
      const wrong = await ask("--address", "2001:db8:999::1", "confirm");
      assert.deepEqual(statuses(wrong), ["NotOnLink"]);
      const info = await ask("information-request");
      assert.equal(info.type, "reply");
      assert.deepEqual(find(info, "ia-na"), []);
    });

    await t.step(
      "--server-duid names the server; another server's DUID gets no answer",
      async () => {
        const serverDuid = (find(await ask("solicit"), "server-id")[0].duid as Json).hex as string;
        const reply = await ask(
          "--server-duid",
          serverDuid,
          "--address",
          "2001:db8:1::1",
          "request",
        );
        assert.equal(reply.type, "reply");
        const other = await runCli(
          [
            "query",
            ...target,
            "--timeout",
            "1",
            "--server-duid",
            "00030001020000000099",
            "request",
          ],
          { permissions: ["--allow-net"] },
        );
        const line = assertOneLineError(other, "query", 1);
        assert.match(line, /no reply from \[::1\]/);
      },
    );

    await t.step("relay options reach the server: keyed assignments are found", async () => {
      const other = ["--duid", "00030001020000000077"]; // a client with no DUID row
      assert.deepEqual(addresses(await ask(...other, "solicit")), []);
      assert.deepEqual(
        addresses(await ask(...other, "--interface-id", "ge-0/0/1.100", "solicit")),
        ["2001:db8:1::21"],
      );
      assert.deepEqual(
        addresses(await ask(...other, "--remote-id", "3561:0x0a0b0c", "solicit")),
        ["2001:db8:1::22"],
      );
      assert.deepEqual(
        addresses(await ask(...other, "--subscriber-id", "sub-0007", "request")),
        ["2001:db8:1::23"],
      );
      assert.deepEqual(
        addresses(await ask(...other, "--subscriber-id", "0x7375622d30303037", "solicit")),
        ["2001:db8:1::23"],
      );
    });

    await t.step("the default output is a readable summary", async () => {
      const r = await runCli(["query", ...target, "--duid", LLT, "request"], {
        permissions: ["--allow-net"],
      });
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trimEnd().split("\n");
      assert.match(lines[0], /^\(first a Solicit: advertise from server 0003000102/);
      assert.match(
        lines[1],
        new RegExp(`^reply \\(transaction [0-9a-f]{6}\\) from \\[::1\\]:${port}$`),
      );
      assert.ok(lines.includes(`  client-id: link-layer-time ${LLT}`), r.stdout);
      assert.ok(lines.includes("  ia-na 1 (T1 0, T2 0)"), r.stdout);
      assert.ok(lines.includes("    address 2001:db8:1::11 (preferred 7d, valid 30d)"), r.stdout);
      assert.ok(lines.includes("    prefix 2001:db8:11::/48 (preferred 7d, valid 30d)"), r.stdout);
      const none = await runCli(["query", ...target, "--duid", "00030001020000000077", "solicit"], {
        permissions: ["--allow-net"],
      });
      assert.match(none.stdout, /^ {4}status NoAddrsAvail \(2\): .+$/m);
    });

    await t.step("every dhcpkit query command of the operator guide runs", async () => {
      const guide = readFileSync(join(REPO, "docs/operator-guide.md"), "utf8");
      const section = guide.slice(guide.indexOf("**Ask the server yourself.**"));
      const block = /```sh\n([\s\S]*?)```/.exec(section)![1];
      const commands = block.split("\n").filter((l) => l.startsWith("dhcpkit query "));
      assert.ok(commands.length >= 5, block);
      for (const command of commands) {
        assert.ok(command.includes("--server 2001:db8:ffff::547 "), command);
        const args = command.replace("--server 2001:db8:ffff::547", `--server ::1 --port ${port}`)
          .split(" ").slice(1);
        const r = await runCli(args, { permissions: ["--allow-net"] });
        assert.equal(r.code, 0, `${command}: ${r.stderr}`);
        if (!command.includes("information-request")) {
          assert.match(
            r.stdout,
            /2001:db8:(1|100)::[0-9a-f]+/,
            `${command}: no address\n${r.stdout}`,
          );
        }
      }
    });
  } finally {
    await server.kill();
    Deno.removeSync(dir, { recursive: true });
  }
});
