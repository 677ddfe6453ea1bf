/**
 * The pool handlers against a real SQLite lease store, request by request as RFC 8415 and
 * RFC 7550 describe them.
 */

import assert from "node:assert/strict";
import {
  AdvertiseMessage,
  type ClientServerMessage,
  type Message,
  parseMessage,
  RapidCommitOption,
  ReplyMessage,
  StatusCode,
  StatusCodeOption,
} from "../../../src/protocol/mod.ts";
import { iana, iapd, packet, run } from "../../pipeline/helpers.ts";
import { StatisticsStore } from "../../../src/pipeline/mod.ts";
import { confirm, decline, rebind, release, renew, request, solicit } from "../static/fixtures.ts";
import { client, firstAddress, firstPrefix, ianas, iapds, poolPipeline } from "./fixtures.ts";
import { unixNow } from "../../../src/handlers/pools/store.ts";

const CONFIG = `
<lease-store-sqlite STORE>
    group-commit no
</lease-store-sqlite>
<address-pool 2001:db8:1::100/126>
    preferred-lifetime 1000
    valid-lifetime 2000
    decline-probation 1h
</address-pool>
<prefix-pool 2001:db8:200::/46>
    delegated-length 48
    preferred-lifetime 3000
    valid-lifetime 4000
</prefix-pool>
`;

const A = client(1);
const B = client(2);

Deno.test("Solicit offers without writing; Request commits the offered lease", async () => {
  const p = await poolPipeline(CONFIG);
  try {
    const advertise = run(p.pipeline, solicit(A, iana(1), iapd(2))).reply!;
    assert.ok(advertise instanceof AdvertiseMessage);
    const address = firstAddress(advertise)!;
    const prefix = firstPrefix(advertise)!;
    assert.match(address, /^2001:db8:1::10[0-3]$/);
    assert.match(prefix, /^2001:db8:20[0-3]::\/48$/);
    assert.equal(p.store.list({}).length, 0, "an offer writes nothing");
    // T1/T2 are 0.5 and 0.8 of the preferred lifetime.
    assert.deepEqual(ianas(advertise)[0].t, "500/800");
    assert.deepEqual(iapds(advertise)[0].t, "1500/2400");

    const reply = run(
      p.pipeline,
      request(A, iana(1, address), iapd(2, prefix.split("/")[0], 48)),
    ).reply!;
    assert.ok(reply instanceof ReplyMessage);
    assert.deepEqual(ianas(reply), [{
      iaid: 1,
      t: "500/800",
      addresses: [`${address} 1000/2000`],
      status: undefined,
    }]);
    assert.deepEqual(iapds(reply)[0].prefixes, [`${prefix} 3000/4000`]);
    const leases = p.store.list({});
    assert.deepEqual(leases.map((l) => [l.type, l.resource, l.iaid, l.state]), [
      ["na", address, 1, "assigned"],
      ["pd", prefix, 2, "assigned"],
    ]);
    assert.ok(leases.every((l) => l.duid === A.toHex()));
    const now = unixNow();
    assert.ok(leases[0].validUntil >= now + 1990 && leases[0].validUntil <= now + 2000);
  } finally {
    await p.cleanup();
  }
});

Deno.test("a Request without hints gets a lease; the client gets the same lease back", async () => {
  const p = await poolPipeline(CONFIG);
  try {
    const first = firstAddress(run(p.pipeline, request(A, iana(7))).reply!)!;
    assert.ok(first);
    assert.equal(firstAddress(run(p.pipeline, solicit(A, iana(7))).reply!), first);
    assert.equal(firstAddress(run(p.pipeline, request(A, iana(7))).reply!), first);
    assert.equal(p.store.list({}).length, 1);
    // Another client never gets it.
    assert.notEqual(firstAddress(run(p.pipeline, request(B, iana(7))).reply!), first);
  } finally {
    await p.cleanup();
  }
});

Deno.test("rapid commit commits in the Solicit", async () => {
  const p = await poolPipeline(CONFIG, { allowRapidCommit: true });
  try {
    const reply = run(p.pipeline, solicit(A, iana(1), new RapidCommitOption())).reply!;
    assert.ok(reply instanceof ReplyMessage);
    const address = firstAddress(reply);
    assert.deepEqual(p.store.list({}).map((l) => l.resource), [address]);
  } finally {
    await p.cleanup();
  }
});

Deno.test("several IAs of one client each get their own lease", async () => {
  const p = await poolPipeline(CONFIG);
  try {
    const reply = run(p.pipeline, request(A, iana(1), iana(2), iapd(3), iapd(4))).reply!;
    const na = ianas(reply);
    assert.equal(na.length, 2);
    assert.notEqual(na[0].addresses[0], na[1].addresses[0]);
    const pd = iapds(reply);
    assert.equal(pd.length, 2);
    assert.notEqual(pd[0].prefixes[0], pd[1].prefixes[0]);
    assert.equal(p.store.list({ duid: A.toHex() }).length, 4);
  } finally {
    await p.cleanup();
  }
});

Deno.test("exhaustion: NoAddrsAvail / NoPrefixAvail inside the IA, nothing bound twice", async () => {
  const p = await poolPipeline(CONFIG);
  try {
    // 4 addresses, 4 prefixes.
    const got = new Set<string>();
    for (let n = 10; n < 14; n++) {
      const reply = run(p.pipeline, request(client(n), iana(1), iapd(1))).reply!;
      got.add(firstAddress(reply)!);
      got.add(firstPrefix(reply)!);
    }
    assert.equal(got.size, 8);
    const reply = run(p.pipeline, request(client(20), iana(1), iapd(1))).reply!;
    assert.deepEqual(ianas(reply)[0].status, StatusCode.NoAddrsAvail);
    assert.deepEqual(ianas(reply)[0].addresses, []);
    assert.deepEqual(iapds(reply)[0].status, StatusCode.NoPrefixAvail);
    const advertise = run(p.pipeline, solicit(client(20), iana(1))).reply!;
    assert.deepEqual(ianas(advertise)[0].status, StatusCode.NoAddrsAvail);
  } finally {
    await p.cleanup();
  }
});

Deno.test("Renew and Rebind extend; other addresses get lifetime 0 and the lease is offered", async () => {
  const p = await poolPipeline(CONFIG);
  try {
    const address = firstAddress(run(p.pipeline, request(A, iana(1))).reply!)!;
    const before = p.store.list({})[0].updated;
    const renewed = run(p.pipeline, renew(A, iana(1, address))).reply!;
    assert.deepEqual(ianas(renewed)[0].addresses, [`${address} 1000/2000`]);
    assert.ok(p.store.list({})[0].updated >= before);
    // The client names an address it may not use (another link's): withdrawn, lease added.
    const rebound = run(p.pipeline, rebind(A, iana(1, "2001:db8:9::1"))).reply!;
    assert.deepEqual(ianas(rebound)[0].addresses, [`${address} 1000/2000`, "2001:db8:9::1 0/0"]);
    // A Renew from a client without a lease: it gets one (and its stale address withdrawn).
    const fresh = run(p.pipeline, renew(B, iana(5, "2001:db8:9::2"))).reply!;
    const view = ianas(fresh)[0];
    assert.equal(view.addresses.length, 2);
    assert.equal(view.addresses[1], "2001:db8:9::2 0/0");
    assert.equal(p.store.list({ duid: B.toHex() }).length, 1);
  } finally {
    await p.cleanup();
  }
});

Deno.test("Release frees the lease; another client can take it; the owner gets it back first", async () => {
  const p = await poolPipeline(CONFIG);
  try {
    const address = firstAddress(run(p.pipeline, request(A, iana(1))).reply!)!;
    const reply = run(p.pipeline, release(A, iana(1, address))).reply!;
    assert.equal(reply.getOption(StatusCodeOption)?.statusCode, StatusCode.Success);
    const [lease] = p.store.list({});
    assert.equal(lease.state, "released");
    assert.ok(lease.validUntil <= unixNow());
    // Releasing what one does not hold: NoBinding in the IA.
    const again = run(p.pipeline, release(B, iana(1, address))).reply!;
    assert.equal(ianas(again)[0].status, StatusCode.NoBinding);
    // The owner asks again: the same address.
    assert.equal(firstAddress(run(p.pipeline, request(A, iana(1))).reply!), address);
    run(p.pipeline, release(A, iana(1, address)));
    // Another client naming it gets it, since it is free.
    assert.equal(firstAddress(run(p.pipeline, request(B, iana(3, address))).reply!), address);
    assert.deepEqual(p.store.list({}).map((l) => [l.duid, l.state]), [[B.toHex(), "assigned"]]);
  } finally {
    await p.cleanup();
  }
});

Deno.test("Decline quarantines the address for decline-probation", async () => {
  const p = await poolPipeline(CONFIG);
  try {
    const address = firstAddress(run(p.pipeline, request(A, iana(1, "2001:db8:1::101"))).reply!);
    assert.equal(address, "2001:db8:1::101");
    const reply = run(p.pipeline, decline(A, iana(1, address))).reply!;
    assert.equal(reply.getOption(StatusCodeOption)?.statusCode, StatusCode.Success);
    const [lease] = p.store.list({});
    assert.equal(lease.state, "declined");
    const now = unixNow();
    assert.ok(lease.validUntil >= now + 3590 && lease.validUntil <= now + 3600);
    // Neither the client nor anybody else gets it while in probation.
    const a = firstAddress(run(p.pipeline, request(A, iana(1))).reply!);
    const b = firstAddress(run(p.pipeline, request(B, iana(1, "2001:db8:1::101"))).reply!);
    assert.notEqual(a, address);
    assert.notEqual(b, address);
    assert.equal(p.store.counts(now).get("na 2001:db8:1::100/126")?.declined, 1);
    // After the probation the reclaim turns it free (and forgets who declined it).
    const reclaimed = p.store.reclaim(now + 3601);
    assert.ok((reclaimed.get("na 2001:db8:1::100/126") ?? 0) >= 1);
    const after = p.store.list({ address: "2001:db8:1::101" })[0];
    assert.equal(after.state, "expired");
    assert.equal(after.duid, "");
  } finally {
    await p.cleanup();
  }
});

Deno.test("Confirm: addresses in the pool are on-link, others NotOnLink", async () => {
  const p = await poolPipeline(CONFIG);
  try {
    const ok = run(p.pipeline, confirm(A, iana(1, "2001:db8:1::102"))).reply!;
    assert.equal(ok.getOption(StatusCodeOption)?.statusCode, StatusCode.Success);
    const bad = run(p.pipeline, confirm(A, iana(1, "2001:db8:5::1"))).reply!;
    assert.equal(bad.getOption(StatusCodeOption)?.statusCode, StatusCode.NotOnLink);
  } finally {
    await p.cleanup();
  }
});

Deno.test("expired leases: the owner gets it back while free, others take it after reclaim", async () => {
  const p = await poolPipeline(CONFIG);
  try {
    const address = firstAddress(run(p.pipeline, request(A, iana(1))).reply!)!;
    // Time passes beyond the valid lifetime: the reclaim counts it.
    const later = unixNow() + 5000;
    assert.deepEqual([...p.store.reclaim(later)], [["na 2001:db8:1::100/126", 1]]);
    assert.equal(p.store.counts(later).get("na 2001:db8:1::100/126")?.reclaimed, 1);
    assert.equal(p.store.list({})[0].state, "expired");
    assert.equal(firstAddress(run(p.pipeline, request(A, iana(1))).reply!), address);
  } finally {
    await p.cleanup();
  }
});

Deno.test("a static assignment in scope wins over the pool, in either order", async () => {
  for (const order of ["static first", "pool first"]) {
    const dir = Deno.makeTempDirSync();
    const csv = `${dir}/static.csv`;
    Deno.writeTextFileSync(
      csv,
      `id,address,prefix\nduid:${A.toHex()},2001:db8:7::1,2001:db8:700::/56\n`,
    );
    const staticSection = `<static-csv ${csv} />`;
    const store = "<lease-store-sqlite STORE>\n    group-commit no\n</lease-store-sqlite>\n";
    const pools = CONFIG.replace(store, "");
    assert.notEqual(pools, CONFIG);
    const config = store +
      (order === "static first" ? staticSection + pools : pools + staticSection);
    const p = await poolPipeline(config);
    try {
      const reply = run(p.pipeline, request(A, iana(1), iapd(2))).reply!;
      assert.equal(firstAddress(reply), "2001:db8:7::1", order);
      assert.equal(firstPrefix(reply), "2001:db8:700::/56", order);
      assert.deepEqual(
        p.store.list({}).filter((l) => l.state === "assigned"),
        [],
        `${order}: no pool lease`,
      );
      // A client without an assignment still gets a pool lease.
      assert.match(firstAddress(run(p.pipeline, request(B, iana(1))).reply!)!, /^2001:db8:1::/);
    } finally {
      await p.cleanup();
      Deno.removeSync(dir, { recursive: true });
    }
  }
});

Deno.test("pools in filters: each link gets its own pool, the next pool in scope on exhaustion", async () => {
  const p = await poolPipeline(`
<lease-store-sqlite STORE>
    group-commit no
</lease-store-sqlite>
<subnet 2001:db8:1::/64>
    <address-pool 2001:db8:1::100/128 />
</subnet>
<subnet 2001:db8:2::/64>
    <address-pool 2001:db8:2::100/127 />
</subnet>
<address-pool 2001:db8:ffff::/120 />
`);
  try {
    const on = (n: number, link: string) =>
      firstAddress(
        run(p.pipeline, request(client(n), iana(1)), { linkAddress: link }).reply!,
      );
    assert.equal(on(1, "2001:db8:1::1"), "2001:db8:1::100");
    // The link's pool is exhausted: the top-level pool is next in scope.
    assert.match(on(2, "2001:db8:1::1")!, /^2001:db8:ffff::/);
    assert.match(on(3, "2001:db8:2::1")!, /^2001:db8:2::10[01]$/);
  } finally {
    await p.cleanup();
  }
});

Deno.test("group commit: requests handled together share one transaction, committed before the replies", async () => {
  const p = await poolPipeline(CONFIG.replace("    group-commit no\n", ""));
  try {
    assert.doesNotMatch(CONFIG.replace("    group-commit no\n", ""), /group-commit/);
    const pending = [];
    for (let n = 30; n < 34; n++) {
      pending.push(p.pipeline.handle(packet(request(client(n), iana(1))), new StatisticsStore()));
    }
    // Nothing is committed (visible to another connection) while the replies are not out yet.
    assert.ok(pending.every((r) => r instanceof Promise));
    assert.equal(p.store.list({}).length, 0);
    const results = await Promise.all(pending);
    const addresses = results.map((r) => {
      const reply = parseMessage(r.replies[0].data);
      return JSON.stringify(reply).match(/2001:db8:1::10[0-3]/)?.[0];
    });
    assert.equal(new Set(addresses).size, 4, addresses.join(" "));
    assert.deepEqual(
      p.store.list({}).map((l) => l.resource).sort(),
      [...addresses].sort(),
    );
    // Offers need no transaction: a Solicit is answered at once.
    const offer = p.pipeline.handle(packet(solicit(client(40), iana(1))), new StatisticsStore());
    assert.ok(!(offer instanceof Promise));
  } finally {
    await p.cleanup();
  }
});

Deno.test("group commit without the commit wait: the request is dropped, never answered before its commit", async () => {
  const p = await poolPipeline(CONFIG.replace("    group-commit no\n", ""), {
    cleanupHandlers: [],
  });
  try {
    const result = await p.pipeline.handle(
      packet(request(client(50), iana(1))),
      new StatisticsStore(),
    );
    assert.equal(result.replies.length, 0);
    // The offer path writes nothing and needs no wait.
    assert.ok(run(p.pipeline, solicit(client(51), iana(1))).reply instanceof AdvertiseMessage);
  } finally {
    await p.cleanup();
  }
});

Deno.test("T1/T2 of pool leases are bounded by <iana-timing-limits> / <iapd-timing-limits>", async () => {
  const p = await poolPipeline(
    CONFIG + `
<iana-timing-limits>
    max-t1 100
    max-t2 200
</iana-timing-limits>
<iapd-timing-limits>
    min-t1 2000
    min-t2 2800
</iapd-timing-limits>
`,
  );
  try {
    const reply = run(p.pipeline, request(A, iana(1), iapd(2))).reply!;
    assert.equal(ianas(reply)[0].t, "100/200");
    assert.equal(iapds(reply)[0].t, "2000/2800");
  } finally {
    await p.cleanup();
  }
});

Deno.test("two pools in scope: a renewing client keeps its lease of the second pool when the first has room", async () => {
  for (const group of [false, true]) {
    const p = await poolPipeline(`
<lease-store-sqlite STORE>
    group-commit ${group ? "yes" : "no"}
</lease-store-sqlite>
<subnet 2001:db8:1::/64>
    <address-pool 2001:db8:1::100/128 />
    <address-pool 2001:db8:1::200/127 />
</subnet>
<subnet 2001:db8:2::/64>
    <address-pool 2001:db8:2::100/127 />
</subnet>
`);
    try {
      const ask = async (message: Message, link = "2001:db8:1::1") => {
        const result = await p.pipeline.handle(
          packet(message, { linkAddress: link }),
          new StatisticsStore(),
        );
        return parseMessage(result.replies[0].data) as ClientServerMessage;
      };
      const one = client(61), two = client(62);
      assert.equal(firstAddress(await ask(request(one, iana(1)))), "2001:db8:1::100");
      // The first pool is full: client two gets the second pool's address.
      const second = firstAddress(await ask(request(two, iana(1))))!;
      assert.match(second, /^2001:db8:1::20[01]$/);
      // The first pool has room again.
      await ask(release(one, iana(1, "2001:db8:1::100")));
      for (const message of [renew(two, iana(1, second)), rebind(two, iana(1, second))]) {
        const reply = await ask(message);
        assert.deepEqual(ianas(reply)[0].addresses, [`${second} 3600/7200`], `${group}`);
      }
      assert.equal(firstAddress(await ask(solicit(two, iana(1)))), second, `${group}`);
      assert.equal(firstAddress(await ask(request(two, iana(1)))), second, `${group}`);
      assert.deepEqual(
        p.store.list({ duid: two.toHex() }).map((l) => [l.resource, l.state]),
        [[second, "assigned"]],
      );
      // On another link the second pool is not in scope: a new address there, the old one
      // returned with lifetime 0.
      const moved = await ask(renew(two, iana(1, second)), "2001:db8:2::1");
      assert.deepEqual(ianas(moved)[0].addresses.map((a) => a.split(" ")[1]), ["3600/7200", "0/0"]);
      assert.match(ianas(moved)[0].addresses[0], /^2001:db8:2::10[01] /);
    } finally {
      await p.cleanup();
    }
  }
});
