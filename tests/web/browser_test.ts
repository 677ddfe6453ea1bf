/**
 * The looking glass in a real browser: Debian's chromium driven by playwright-core (no browser
 * download), against a real server (two workers) after known traffic. The overview's counters
 * equal `ctl stats-json`; a subscriber search finds a static row (FILE:LINE) and a lease; a
 * pool lease is found and its explanation, one click away, shows it; a
 * Remote-ID carrying `<img src=x onerror=...>` shows as text and runs nothing; the chart draws;
 * every page is screenshotted (into `DHCPKIT_SCREENSHOTS`, default a temporary folder, kept).
 * Skips when chromium is not installed.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { chromium } from "playwright-core";
import {
  ClientIdOption,
  ElapsedTimeOption,
  IANAOption,
  IAPDOption,
  LinkLayerDuid,
  OptionRequestOption,
  RelayForwardMessage,
  RelayMessageOption,
  RelaySourcePortOption,
  RemoteIdOption,
  RequestMessage,
  serializeMessage,
  ServerIdOption,
  SolicitMessage,
} from "../../src/protocol/mod.ts";
import { serverIdConfig } from "../helpers/server.ts";
import {
  ctl,
  freeTcpPort,
  freeUdpPort,
  makeWorkDir,
  RelayClient,
  SERVER_MAC,
  startServer,
  writeConfig,
} from "../ops/helpers.ts";

/** The chromium executable, or undefined when it is not installed. */
function chromiumPath(): string | undefined {
  for (const path of ["/usr/lib/chromium/chromium", "/usr/bin/chromium"]) {
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

const CHROMIUM = chromiumPath();

/** What a Remote-ID of an attacker's modem says. */
const HOSTILE = `<img src=x onerror="window.__pwned=1;document.title='pwned'">`;
const CLIENT = new LinkLayerDuid(1, new Uint8Array([2, 0, 0, 0, 0, 0xaa]));
const CLIENT_HEX = CLIENT.toHex();
/** A client without a static row: it gets an address from the pool. */
const POOL_CLIENT = new LinkLayerDuid(1, new Uint8Array([2, 0, 0, 0, 0, 0xbb]));

const CSV = `id,address,prefix
duid:${CLIENT_HEX},2001:db8:100::aa,2001:db8:1aa::/48
remote-id-str:40208:customer-1042,2001:db8:100::1042,
`;

function config(port: number, webPort: number): string {
  return `workers 2
control-socket ctl.sock
pid-file server.pid

${serverIdConfig(SERVER_MAC)}
<listen-unicast ::1>
    port ${port}
    mark relayed
</listen-unicast>

<web-ui>
    address ::1
    port ${webPort}
</web-ui>

<leasequery>
    <lq-sqlite leases.sqlite />
</leasequery>

<lease-store-sqlite pools.sqlite />

<marked-with relayed>
    <subnet 2001:db8:100::/40>
        <static-csv static.csv>
        </static-csv>
        <address-pool 2001:db8:170::/64 />
    </subnet>
</marked-with>
`;
}

/** A relayed message from `link` with `relayOptions` in the relay layer. */
function relayed(message: SolicitMessage | RequestMessage, remoteId?: string): Uint8Array {
  return serializeMessage(
    new RelayForwardMessage(0, "2001:db8:100::1", "fe80::1", [
      new RelaySourcePortOption(0),
      ...(remoteId ? [new RemoteIdOption(40208, new TextEncoder().encode(remoteId))] : []),
      new RelayMessageOption(message),
    ]),
  );
}

function clientOptions(serverId = false, client = CLIENT) {
  const server = new LinkLayerDuid(1, new Uint8Array([2, 0, 0, 0xd4, 0xc9, 1]));
  return [
    new ClientIdOption(client),
    ...(serverId ? [new ServerIdOption(server)] : []),
    new OptionRequestOption([23]),
    new ElapsedTimeOption(0),
    new IANAOption(1, 0, 0, []),
    new IAPDOption(1, 0, 0, []),
  ];
}

/** The `global` counters of stats-json, flattened like the page shows them (`messages_in.x`). */
function flatten(o: Record<string, unknown>, prefix = ""): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === "number") out[prefix + k] = v;
    else if (v && typeof v === "object") {
      Object.assign(out, flatten(v as Record<string, unknown>, `${prefix}${k}.`));
    }
  }
  return out;
}

Deno.test({
  name: "looking glass in chromium: counters, search, escaping, chart, screenshots" +
    (CHROMIUM === undefined
      ? " (SKIPPED: chromium is not installed: apt-get install chromium)"
      : ""),
  ignore: CHROMIUM === undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const dir = makeWorkDir();
    const shots = Deno.env.get("DHCPKIT_SCREENSHOTS") ??
      Deno.makeTempDirSync({ prefix: "dhcpkit-screenshots-" });
    Deno.mkdirSync(shots, { recursive: true });
    const port = freeUdpPort();
    const webPort = freeTcpPort();
    writeConfig(join(dir, "static.csv"), CSV);
    writeConfig(join(dir, "server.conf"), config(port, webPort));
    const server = await startServer(dir);
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: Deno.uid() === 0 ? ["--no-sandbox"] : [],
    });
    const base = `http://[::1]:${webPort}`;
    try {
      // Known traffic: a Solicit and a Request from a client with a static row (a lease is
      // recorded), and a Solicit whose relay adds a hostile Remote-ID.
      const client = new RelayClient(port);
      try {
        await client.sendRaw(relayed(new SolicitMessage(0x111111, clientOptions())));
        assert.ok(await client.receive(), "advertise");
        await client.sendRaw(relayed(new RequestMessage(0x222222, clientOptions(true))));
        assert.ok(await client.receive(), "reply");
        await client.sendRaw(relayed(new SolicitMessage(0x333333, clientOptions()), HOSTILE));
        assert.ok(await client.receive(), "advertise for the hostile relay");
        await client.sendRaw(
          relayed(new RequestMessage(0x444444, clientOptions(true, POOL_CLIENT))),
        );
        assert.ok(await client.receive(), "reply with a pool address");
      } finally {
        client.close();
      }
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const dialogs: string[] = [];
      page.on("dialog", (d) => {
        dialogs.push(d.message());
        void d.dismiss();
      });

      await t.step("the overview's counters equal ctl stats-json", async () => {
        await page.goto(`${base}/`);
        const shown = await page.$$eval(
          "#global-counters [data-counter]",
          (els) =>
            Object.fromEntries(
              els.map((
                e,
              ) => [e.getAttribute("data-counter"), Number(e.lastElementChild!.textContent)]),
            ),
        );
        const r = await ctl(server.socket, "stats-json");
        assert.equal(r.code, 0, r.stderr);
        const expected = flatten(JSON.parse(r.stdout).global);
        assert.equal(expected.incoming_packets, 4);
        assert.equal(expected.outgoing_packets, 4);
        assert.deepEqual(shown, expected);
        assert.match(await page.textContent("main") ?? "", /00030001020000d4c901/);
      });

      await t.step("the chart draws", async () => {
        await page.waitForSelector("#rate-chart[data-drawn]", { timeout: 20_000 });
        // Browser-side functions (the tests are type-checked without the DOM library); strings
        // would be evaluated, which the page's CSP forbids.
        await page.waitForFunction(
          () =>
            // deno-lint-ignore no-explicit-any
            Number((globalThis as any).document.getElementById("rate-chart").dataset.points) > 0,
          undefined,
          { timeout: 20_000 },
        );
        // Pixels in the series' colours: only the plotted data has them (the grid and the labels
        // use other colours; the replies line may cover the requests line where they are equal).
        const inked = await page.evaluate(() => {
          // deno-lint-ignore no-explicit-any
          const g = globalThis as any;
          const doc = g.document;
          const colours = ["in", "out"].map((cls) => {
            const probe = doc.createElement("span");
            probe.className = cls;
            doc.body.append(probe);
            const rgb = g.getComputedStyle(probe).color.match(/\d+/g).map(Number);
            probe.remove();
            return rgb;
          });
          const c = doc.getElementById("rate-chart");
          const data = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
          let n = 0;
          for (let i = 0; i < data.length; i += 4) {
            const near = colours.some((rgb: number[]) =>
              Math.abs(data[i] - rgb[0]) + Math.abs(data[i + 1] - rgb[1]) +
                  Math.abs(data[i + 2] - rgb[2]) < 30
            );
            if (data[i + 3] > 200 && near) n++;
          }
          return n;
        });
        assert.ok(inked > 10, `only ${inked} pixels of the series drawn`);
        await page.screenshot({ path: join(shots, "overview.png"), fullPage: true });
      });

      await t.step("a subscriber search finds the static row and the lease", async () => {
        await page.goto(`${base}/subscribers?q=${CLIENT_HEX}`);
        const statics = await page.textContent("table.static");
        assert.match(statics ?? "", new RegExp(`${join(dir, "static.csv")}:2`));
        assert.match(statics ?? "", /2001:db8:100::aa/);
        const leases = await page.textContent("table.leases");
        assert.match(leases ?? "", /2001:db8:100::aa/);
        assert.match(leases ?? "", /2001:db8:1aa::/);
        await page.screenshot({ path: join(shots, "subscribers.png"), fullPage: true });
        // One click from the subscriber to the explanation.
        await page.click("table.static a:text('explain')");
        await page.waitForURL(/\/explain\?/);
        assert.match(await page.textContent("table.sources") ?? "", /static\.csv:2/);
        await page.screenshot({ path: join(shots, "explain.png"), fullPage: true });
      });

      await t.step("a pool lease is found, and explained in one click", async () => {
        await page.goto(`${base}/subscribers?q=${POOL_CLIENT.toHex()}`);
        const leases = await page.textContent("table.pool-leases");
        assert.match(leases ?? "", /2001:db8:170::\S+assigned/);
        assert.match(leases ?? "", /na 2001:db8:170::\/64/);
        await page.click("table.pool-leases a:text('explain')");
        await page.waitForURL(/\/explain\?.*iaid=1/);
        assert.match(
          await page.textContent("table.pools") ?? "",
          /the client's lease 2001:db8:170::\S+ \(IAID 1, assigned, .* left\): would be extended/,
        );
        await page.screenshot({ path: join(shots, "explain-pool.png"), fullPage: true });
      });

      await t.step("a hostile remote-id is shown as text and runs nothing", async () => {
        await page.goto(`${base}/transactions?q=onerror`);
        const cells = await page.$$eval(
          "table.transactions td",
          (tds) => tds.map((td) => td.textContent),
        );
        assert.ok(cells.some((c) => c?.includes(HOSTILE)), cells.join(" | "));
        assert.equal(await page.$$eval("main img", (imgs) => imgs.length), 0);
        await page.screenshot({ path: join(shots, "transactions.png"), fullPage: true });
        await page.goto(`${base}/subscribers?q=${encodeURIComponent(HOSTILE)}`);
        assert.equal(await page.$$eval("main img", (imgs) => imgs.length), 0);
        assert.equal(
          await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned),
          undefined,
        );
        assert.notEqual(await page.title(), "pwned");
        assert.deepEqual(dialogs, []);
      });

      await t.step("every answer carries the strict Content-Security-Policy", async () => {
        const response = await page.goto(`${base}/transactions`);
        assert.match(response!.headers()["content-security-policy"], /default-src 'none'/);
        assert.match(response!.headers()["content-security-policy"], /script-src 'self'/);
      });
      console.log(`screenshots in ${shots}`);
    } finally {
      await browser.close();
      await server.kill();
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
