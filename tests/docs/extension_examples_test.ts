/**
 * The extension examples' configurations, run for real (root only), as the operator examples
 * are (see `example_server.ts`):
 *
 * - docs/examples/captive_portal/dhcpkit.conf (the extension guide's `extension ./mod.ts`) and
 *   docs/examples/composed.conf under docs/examples/custom_entry.ts (the extension composed in):
 *   a relayed Information-request gets the DNS server and the captive portal URI (option 103);
 * - the configuration blocks of examples/extensions/event_sink/README.md: every answered
 *   transaction arrives as one JSON line on the Unix socket named by `destination`, with the
 *   fields the README documents;
 * - the blocks of examples/extensions/technicolor/README.md (`extension
 *   /opt/dhcpkit/examples/...`, a checkout in /opt/dhcpkit, and the section): every answer
 *   carries option 65279 with the limit.
 *
 * The README blocks are fragments without a listener: the test adds the same
 * `<listen-unicast 2001:db8::547 />` the guide's examples use.
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { stripVTControlCharacters } from "node:util";
import { captivePortalExtension } from "../../docs/examples/captive_portal/mod.ts";
import { technicolorExtension } from "../../examples/extensions/technicolor/mod.ts";
import { installExtensions } from "../../src/handlers/registry.ts";
import { e2eTest, REPO_ROOT, run, sleep, type Topology, withTopology } from "../e2e/netns.ts";
import {
  codeBlock,
  codeBlocks,
  dnsServers,
  type Json,
  onlyReply,
  option,
  prepareState,
  relayed,
  sendCases,
  startExample,
  stateDir,
  unicastTopology,
} from "./example_server.ts";

// The replies are decoded here: this process must know the examples' option classes.
installExtensions([captivePortalExtension, technicolorExtension]);

const ROOT_SCAPY = { root: true, scapy: true };
/** The unicast address of the extension examples. */
const SERVER = "2001:db8::547";
const RELAY = "2001:db8::1";
/** What the README fragments get added: the listener every extension example uses. */
const LISTENER = `<listen-unicast ${SERVER} />\n`;

/** Ask for DNS and the captive portal; returns the reply. */
async function askCaptivePortal(t: Topology, rly: string): Promise<Json> {
  const replies = await sendCases(t, rly, [
    relayed("portal", SERVER, "information-request", "2001:db8:1::1", {
      message: { oro: [23, 103] },
    }),
  ]);
  return onlyReply(replies, "portal");
}

e2eTest(
  "docs example captive_portal/dhcpkit.conf: the extension key's section answers option 103",
  ROOT_SCAPY,
  () =>
    withTopology(async (t) => {
      const { srv, rly } = await unicastTopology(t, SERVER, RELAY);
      await startExample(t, "docs/examples/captive_portal/dhcpkit.conf", { namespace: srv });
      const reply = await askCaptivePortal(t, rly);
      assert.deepEqual(dnsServers(reply), ["2001:db8::53"]);
      assert.equal(option(reply, 103)?.uri, "https://portal.example.net/api");
    }),
);

e2eTest(
  "docs example composed.conf: custom_entry.ts serves <captive-portal> without an extension key",
  ROOT_SCAPY,
  () =>
    withTopology(async (t) => {
      const { srv, rly } = await unicastTopology(t, SERVER, RELAY);
      await startExample(t, "docs/examples/composed.conf", {
        namespace: srv,
        entry: "docs/examples/custom_entry.ts",
      });
      const reply = await askCaptivePortal(t, rly);
      assert.equal(option(reply, 103)?.uri, "https://portal.example.net/api");
    }),
);

/** The events of the README's ```json block (continuation lines start with a space). */
function documentedEvents(): Json[] {
  const block = codeBlocks("examples/extensions/event_sink/README.md").find((b) =>
    b.info === "json"
  );
  assert.ok(block, "the README shows the events");
  return block.text.replace(/\n(?= )/g, "").split("\n").filter(Boolean).map((l) => JSON.parse(l));
}

/** Lines written to a Unix stream socket by whoever connects to it. */
class LineSink {
  readonly lines: string[] = [];
  readonly #listener: Deno.Listener;

  /** Listen on `path`; any user may connect (the server connects as its `user`). */
  constructor(path: string) {
    this.#listener = Deno.listen({ transport: "unix", path });
    Deno.chmodSync(path, 0o666);
    this.#accept();
  }

  async #accept(): Promise<void> {
    try {
      for await (const conn of this.#listener) {
        (async () => {
          let text = "";
          for await (const chunk of conn.readable) {
            text += new TextDecoder().decode(chunk);
            const parts = text.split("\n");
            text = parts.pop()!;
            this.lines.push(...parts);
          }
        })().catch(() => {});
      }
    } catch {
      // closed
    }
  }

  /** Wait for a line; fails after `timeoutMs`. */
  async first(timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length === 0) {
      if (Date.now() > deadline) throw new Error("no event line arrived");
      await sleep(100);
    }
    return this.lines[0];
  }

  /** Stop listening. */
  close(): void {
    this.#listener.close();
  }
}

e2eTest(
  "docs example event_sink README: each answered transaction is a JSON line as documented",
  ROOT_SCAPY,
  () =>
    withTopology(async (t) => {
      const readme = "examples/extensions/event_sink/README.md";
      const section = codeBlock(readme, /<event-sink>/);
      const text = `extension ./mod.ts\n${LISTENER}\n${section.text}`;
      const { srv, rly } = await unicastTopology(t, SERVER, RELAY);
      await prepareState(t.tempDir);
      // destination unix:/run/dhcpkit/events.sock, moved into the state folder.
      const sink = new LineSink(join(stateDir(t.tempDir), "events.sock"));
      try {
        await startExample(t, readme, { namespace: srv, text });
        const replies = await sendCases(t, rly, [
          relayed("solicit", SERVER, "solicit", "2001:db8:1::1", {
            relay: { interface_id: "ge-0/0/1", remote_id: "cafe" },
          }),
        ]);
        assert.equal(onlyReply(replies, "solicit").type, "advertise");
        const event = JSON.parse(await sink.first()) as Json;
        const [documented] = documentedEvents();
        assert.deepEqual(Object.keys(event).sort(), Object.keys(documented).sort());
        assert.equal(event.event, "transaction");
        assert.equal(event.request, "solicit");
        assert.equal(event.response, "advertise");
        assert.equal(event.client_duid, "00030001020000000099");
        assert.equal(event.link_address, "2001:db8:1::1");
        const [relay] = event.relays as Json[];
        assert.deepEqual(
          Object.keys(relay).sort(),
          Object.keys((documented.relays as Json[])[0]).sort(),
        );
        assert.equal(relay.interface_id_text, "ge-0/0/1");
      } finally {
        sink.close();
      }
    }),
);

e2eTest(
  "docs example technicolor README: the extension from /opt/dhcpkit sends option 65279",
  ROOT_SCAPY,
  () =>
    withTopology(async (t) => {
      const readme = "examples/extensions/technicolor/README.md";
      const load = codeBlock(readme, /^extension /m);
      assert.match(load.text, /\/opt\/dhcpkit\/examples\/extensions\/technicolor\/mod\.ts/);
      const section = codeBlock(readme, /<sol-max-rt-technicolor>/);
      const text = `${load.text}${LISTENER}\n${section.text}`;
      const { srv, rly } = await unicastTopology(t, SERVER, RELAY);
      const server = await startExample(t, readme, { namespace: srv, text });
      assert.ok(
        server.adapted.changes.some((c) => c.includes(REPO_ROOT)),
        "the /opt/dhcpkit checkout is this repository",
      );
      // always-send yes: also without asking for it.
      const replies = await sendCases(t, rly, [
        relayed("solicit", SERVER, "solicit", "2001:db8:1::1", { message: { oro: [] } }),
      ]);
      const advertise = onlyReply(replies, "solicit");
      assert.equal(option(advertise, 65279)?.sol_max_rt, 3600);
    }),
);

for (
  const [file, pattern] of [
    ["docs/extension-guide.md", /`(deno test [^`]*docs\/examples\/captive_portal\/)`/],
    ["examples/extensions/event_sink/README.md", /^(deno test .*event_sink\/)$/m],
    ["examples/extensions/technicolor/README.md", /^(deno test .*technicolor\/)$/m],
  ] as const
) {
  Deno.test(`${file}: its test command passes as written`, async () => {
    const text = await Deno.readTextFile(join(REPO_ROOT, file));
    const m = pattern.exec(text);
    assert.ok(m, `${file} shows how to run the tests`);
    const r = await run("bash", ["-c", m[1]], { cwd: REPO_ROOT, check: false });
    assert.equal(r.code, 0, `${m[1]}\n${r.stdout}${r.stderr}`);
    assert.match(stripVTControlCharacters(r.stdout), /ok \| [1-9]\d* passed \| 0 failed/);
  });
}
