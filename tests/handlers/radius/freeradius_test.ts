/**
 * The RADIUS handler against a real FreeRADIUS 3 (started by the test with its own users file):
 * what FreeRADIUS answers is what the client gets, rejects and silence, fail-over and the cache.
 */

import assert from "node:assert/strict";
import { RadiusNoAnswerError } from "../../../src/handlers/radius/client.ts";
import { extensionStatistics } from "../../../src/pipeline/mod.ts";
import { StatusCode } from "../../../src/protocol/mod.ts";
import { FreeRadius, freeRadiusSkipReason } from "../../helpers/freeradius.ts";
import {
  ask,
  interfaceId,
  radiusHandler,
  radiusSection,
  remoteId,
  SECRET,
  solicit,
  summary,
  USERS,
  viaRelay,
} from "./helpers.ts";

const skip = freeRadiusSkipReason();
if (skip) console.warn(`FreeRADIUS tests skipped: ${skip}`);
const test = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, ignore: skip !== undefined, fn });

const NO_ADDRS = `status ${StatusCode.NoAddrsAvail}`;
const NO_PREFIX = `status ${StatusCode.NoPrefixAvail}`;

test("FreeRADIUS: a Remote-ID user gets the address, prefix and DNS servers of the answer", async () => {
  await using radius = await FreeRadius.start({ users: USERS, secret: SECRET });
  const handler = await radiusHandler(radiusSection([radius.serverKey]));
  try {
    const { waited, response } = await ask(handler, viaRelay(solicit(), [remoteId("remote-user")]));
    assert.ok(waited);
    // Session-Timeout 3600 caps the configured valid lifetimes of 7200.
    assert.deepEqual(summary(response), {
      na1: ["2001:db8:1::10 1800/3600"],
      pd2: ["2001:db8:100::/56 1800/3600"],
      dns: ["2001:db8::53", "2001:db8::153"],
    });
    const server = handler.statistics.servers.get(radius.serverKey)!;
    assert.equal(server.requests, 1);
    assert.equal(server.accepts, 1);
    assert.equal(server.latency.count, 1);
    assert.equal(server.latency.buckets.reduce((a, b) => a + b), 1);
    // The same counts go to the thread's extension statistics, which the server shows.
    const ours = (name: string) =>
      extensionStatistics.seriesOf(name).filter((s) => s.labels[0] === radius.serverKey)
        .map((s) => [s.labels.slice(1), s.values]);
    assert.deepEqual(ours("radius_requests"), [[[], [1]]]);
    assert.deepEqual(ours("radius_exchanges"), [
      [["accept"], [1]],
      [["reject"], [0]],
      [["timeout"], [0]],
    ]);
    const latency = ours("radius_latency_seconds")[0][1] as number[];
    assert.equal(latency.at(-1), 1, "one observation");
  } finally {
    handler.close();
  }
});

test("FreeRADIUS: an Interface-ID user with only a prefix gets NoAddrsAvail for the IA_NA", async () => {
  await using radius = await FreeRadius.start({ users: USERS, secret: SECRET });
  const handler = await radiusHandler(radiusSection([radius.serverKey]));
  try {
    // No Remote-ID: the second user-name kind, the Interface-ID, is the User-Name.
    const { response } = await ask(handler, viaRelay(solicit(), [interfaceId("eth7")]));
    assert.deepEqual(summary(response), {
      na1: [NO_ADDRS],
      pd2: ["2001:db8:700::/56 1800/7200"],
    });
  } finally {
    handler.close();
  }
});

test("FreeRADIUS: rejected and unknown users get NoAddrsAvail and NoPrefixAvail", async () => {
  await using radius = await FreeRadius.start({ users: USERS, secret: SECRET });
  const handler = await radiusHandler(radiusSection([radius.serverKey]));
  try {
    for (const user of ["rejected-user", "nobody"]) {
      const { response } = await ask(handler, viaRelay(solicit(), [remoteId(user)]));
      // The reject of rejected-user carries a Framed-IPv6-Address: it must not be used.
      assert.deepEqual(summary(response), { na1: [NO_ADDRS], pd2: [NO_PREFIX] }, user);
    }
    const server = handler.statistics.servers.get(radius.serverKey)!;
    assert.equal(server.rejects, 2);
    assert.equal(server.accepts, 0);
  } finally {
    handler.close();
  }
});

test("FreeRADIUS stopped: no answer (counted), and answers again once it is back", async () => {
  await using radius = await FreeRadius.start({ users: USERS, secret: SECRET });
  const handler = await radiusHandler(radiusSection([radius.serverKey], ["cache-ttl 0"]));
  try {
    const request = () => viaRelay(solicit(), [remoteId("remote-user")]);
    assert.equal(
      summary((await ask(handler, request())).response).na1[0],
      "2001:db8:1::10 1800/3600",
    );
    await radius.stop();
    await assert.rejects(ask(handler, request()), RadiusNoAnswerError);
    assert.equal(handler.statistics.radiusTimeouts, 1);
    assert.equal(handler.statistics.servers.get(radius.serverKey)!.timeouts, 1);
    await radius.start();
    assert.equal(
      summary((await ask(handler, request())).response).na1[0],
      "2001:db8:1::10 1800/3600",
    );
    assert.equal(handler.statistics.radiusTimeouts, 1);
    assert.equal(handler.statistics.servers.get(radius.serverKey)!.accepts, 2);
  } finally {
    handler.close();
  }
});

test("FreeRADIUS: a repeat within cache-ttl is answered without an exchange", async () => {
  await using radius = await FreeRadius.start({ users: USERS, secret: SECRET });
  const handler = await radiusHandler(radiusSection([radius.serverKey], ["cache-ttl 300"]));
  try {
    const request = () => viaRelay(solicit(), [remoteId("remote-user")]);
    const first = await ask(handler, request());
    const counters = handler.statistics.servers.get(radius.serverKey)!;
    assert.equal(counters.requests, 1);
    await radius.stop(); // any exchange now would fail
    const second = await ask(handler, request());
    assert.equal(second.waited, false, "a cache hit leaves the request on the synchronous path");
    assert.deepEqual(summary(second.response), summary(first.response));
    assert.equal(counters.requests, 1);
    assert.equal(handler.statistics.cacheHits, 1);
    // Requests asking the same at the same time share one exchange.
    await radius.start();
    handler.cache.clear();
    const together = await Promise.all([1, 2, 3].map(() => ask(handler, request())));
    assert.ok(together.every((a) => a.waited));
    assert.equal(counters.requests, 2);
    assert.equal(handler.statistics.sharedExchanges, 2);
  } finally {
    handler.close();
  }
});

test("FreeRADIUS: a silent first server is failed over, then passed over for dead-time", async () => {
  await using radius = await FreeRadius.start({ users: USERS, secret: SECRET });
  // A socket that never answers stands for a server that is down.
  const silent = Deno.listenDatagram({ transport: "udp", hostname: "::1", port: 0 });
  const silentKey = `[::1]:${(silent.addr as Deno.NetAddr).port}`;
  const handler = await radiusHandler(
    radiusSection([silentKey, radius.serverKey], ["retries 1", "dead-time 300", "cache-ttl 0"]),
  );
  try {
    const request = () => viaRelay(solicit(), [remoteId("remote-user")]);
    for (let i = 0; i < 2; i++) {
      const { response } = await ask(handler, request());
      assert.equal(summary(response).na1[0], "2001:db8:1::10 1800/3600");
    }
    const first = handler.statistics.servers.get(silentKey)!;
    assert.equal(first.requests, 1, "the second request went to the second server at once");
    assert.equal(first.retransmissions, 1);
    assert.equal(first.timeouts, 1);
    assert.equal(handler.statistics.servers.get(radius.serverKey)!.accepts, 2);
    assert.equal(handler.statistics.radiusTimeouts, 0);
  } finally {
    handler.close();
    silent.close();
  }
});

test("FreeRADIUS: a wrong secret gets no answer (FreeRADIUS drops it), counted, no crash", async () => {
  await using radius = await FreeRadius.start({ users: USERS, secret: SECRET });
  const handler = await radiusHandler(
    radiusSection([radius.serverKey], ["secret not-the-secret"]),
  );
  try {
    await assert.rejects(
      ask(handler, viaRelay(solicit(), [remoteId("remote-user")])),
      RadiusNoAnswerError,
    );
    assert.equal(handler.statistics.radiusTimeouts, 1);
    assert.match(radius.output, /Message-Authenticator|shared secret/i);
  } finally {
    handler.close();
  }
});
