/**
 * What the RADIUS handler counts: per server every exchange (request, retransmission, accept,
 * reject, timeout, dropped answers by reason) with a latency histogram, and overall the requests
 * dropped because no server answered (`radius_timeouts`) and the answers served from the cache.
 * @module
 */

import {
  type ExtensionStatistics,
  extensionStatistics,
  type Recorder,
  type StatisticFamily,
} from "../../pipeline/mod.ts";
import type { BadAnswerReason, RadiusClientEvents, RadiusServer } from "./client.ts";
import { RadiusCode } from "./packet.ts";

/** Upper bounds (seconds) of the latency histogram buckets; a last bucket takes the rest. */
export const LATENCY_BUCKETS: readonly number[] = [
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
];

/** The counters of one server. */
export interface ServerCounters {
  /** Access-Requests sent (first tries). */
  requests: number;
  /** Access-Requests sent again after a timeout. */
  retransmissions: number;
  /** Access-Accepts taken. */
  accepts: number;
  /** Access-Rejects (and Access-Challenges) taken. */
  rejects: number;
  /** Exchanges the server left unanswered after every try. */
  timeouts: number;
  /** Packets from the server that were dropped, by reason. */
  badAnswers: Record<BadAnswerReason, number>;
  /** Answer latency: counts per bucket of {@link LATENCY_BUCKETS} plus one, sum, count. */
  latency: { buckets: number[]; sum: number; count: number };
}

function newCounters(): ServerCounters {
  return {
    requests: 0,
    retransmissions: 0,
    accepts: 0,
    rejects: 0,
    timeouts: 0,
    badAnswers: {
      unparsable: 0,
      authenticator: 0,
      "message-authenticator": 0,
      unusable: 0,
      unexpected: 0,
    },
    latency: { buckets: new Array(LATENCY_BUCKETS.length + 1).fill(0), sum: 0, count: 0 },
  };
}

/** Index of the histogram bucket for `seconds`. */
export function bucketOf(seconds: number): number {
  let i = 0;
  while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]) i++;
  return i;
}

/** Access-Requests per server (first tries). */
export const RADIUS_REQUESTS: StatisticFamily = {
  name: "radius_requests",
  help: "RADIUS Access-Requests sent, by server (first tries; retransmissions are counted apart)",
  type: "counter",
  labels: ["server"],
};
/** Retransmissions per server. */
export const RADIUS_RETRANSMISSIONS: StatisticFamily = {
  name: "radius_retransmissions",
  help: "RADIUS Access-Requests sent again after a timeout, by server",
  type: "counter",
  labels: ["server"],
};
/** Finished exchanges per server and result. */
export const RADIUS_EXCHANGES: StatisticFamily = {
  name: "radius_exchanges",
  help: "RADIUS exchanges finished, by server and result (accept, reject, or timeout: no " +
    "answer after every try)",
  type: "counter",
  labels: ["server", "result"],
};
/** Dropped answers per server and reason. */
export const RADIUS_BAD_ANSWERS: StatisticFamily = {
  name: "radius_bad_answers",
  help: "Packets from a RADIUS server that were dropped, by server and reason (authenticator, " +
    "message_authenticator, unparsable, unusable, unexpected)",
  type: "counter",
  labels: ["server", "reason"],
};
/** Answer latency per server. */
export const RADIUS_LATENCY: StatisticFamily = {
  name: "radius_latency_seconds",
  help: "Time from the first Access-Request to a server until its answer, by server",
  type: "histogram",
  labels: ["server"],
  buckets: LATENCY_BUCKETS,
};
/** Requests dropped because no server answered. */
export const RADIUS_TIMEOUTS: StatisticFamily = {
  name: "radius_timeouts",
  help: "Requests dropped because no RADIUS server answered within the tries",
  type: "counter",
  labels: [],
};
/** Requests answered from the cache. */
export const RADIUS_CACHE_HITS: StatisticFamily = {
  name: "radius_cache_hits",
  help: "Requests answered from the RADIUS answer cache, without an exchange",
  type: "counter",
  labels: [],
};
/** Requests that waited for an exchange already in flight. */
export const RADIUS_SHARED_EXCHANGES: StatisticFamily = {
  name: "radius_shared_exchanges",
  help: "Requests that waited for the RADIUS exchange of an identical request already in flight",
  type: "counter",
  labels: [],
};

/** Every statistics family of the RADIUS extension. */
export const RADIUS_STATISTICS: readonly StatisticFamily[] = [
  RADIUS_REQUESTS,
  RADIUS_RETRANSMISSIONS,
  RADIUS_EXCHANGES,
  RADIUS_BAD_ANSWERS,
  RADIUS_LATENCY,
  RADIUS_TIMEOUTS,
  RADIUS_CACHE_HITS,
  RADIUS_SHARED_EXCHANGES,
];

/** The label value of a bad-answer reason (`message-authenticator` → `message_authenticator`). */
function reasonLabel(reason: BadAnswerReason): string {
  return reason.replace("-", "_");
}

/** The recorders of one server's series. */
interface ServerRecorders {
  requests: Recorder;
  retransmissions: Recorder;
  accepts: Recorder;
  rejects: Recorder;
  timeouts: Recorder;
  latency: Recorder;
  bad: Map<BadAnswerReason, Recorder>;
}

/**
 * The counters of one RADIUS handler (in one worker), kept here for the handler's own use and
 * counted into the thread's extension statistics, from where the server shows them.
 */
export class RadiusStatistics implements RadiusClientEvents {
  /** Counters by server label. */
  readonly servers: Map<string, ServerCounters> = new Map();
  /** Requests dropped because no server answered. */
  radiusTimeouts = 0;
  /** Requests answered from the cache. */
  cacheHits = 0;
  /** Requests that joined an exchange already in flight. */
  sharedExchanges = 0;
  readonly #recorders = new Map<string, ServerRecorders>();
  readonly #timeouts: Recorder;
  readonly #cacheHits: Recorder;
  readonly #shared: Recorder;

  /** Count into `store` (the thread's store unless given). */
  constructor(readonly store: ExtensionStatistics = extensionStatistics) {
    this.#timeouts = store.series(RADIUS_TIMEOUTS);
    this.#cacheHits = store.series(RADIUS_CACHE_HITS);
    this.#shared = store.series(RADIUS_SHARED_EXCHANGES);
  }

  /** Make the series of a server (shown at zero from now on). */
  server(label: string): void {
    this.#of(label);
  }

  #of(label: string): ServerCounters {
    let c = this.servers.get(label);
    if (!c) {
      this.servers.set(label, c = newCounters());
      const s = this.store;
      this.#recorders.set(label, {
        requests: s.series(RADIUS_REQUESTS, label),
        retransmissions: s.series(RADIUS_RETRANSMISSIONS, label),
        accepts: s.series(RADIUS_EXCHANGES, label, "accept"),
        rejects: s.series(RADIUS_EXCHANGES, label, "reject"),
        timeouts: s.series(RADIUS_EXCHANGES, label, "timeout"),
        latency: s.series(RADIUS_LATENCY, label),
        bad: new Map(),
      });
    }
    return c;
  }

  /** An Access-Request was sent. */
  request(server: RadiusServer): void {
    this.#of(server.label).requests++;
    this.#recorders.get(server.label)!.requests.add();
  }

  /** An Access-Request was sent again. */
  retransmit(server: RadiusServer): void {
    this.#of(server.label).retransmissions++;
    this.#recorders.get(server.label)!.retransmissions.add();
  }

  /** An answer was taken. */
  answer(server: RadiusServer, code: number, seconds: number): void {
    const c = this.#of(server.label);
    const r = this.#recorders.get(server.label)!;
    if (code === RadiusCode.AccessAccept) {
      c.accepts++;
      r.accepts.add();
    } else {
      c.rejects++;
      r.rejects.add();
    }
    c.latency.buckets[bucketOf(seconds)]++;
    c.latency.sum += seconds;
    c.latency.count++;
    r.latency.observe(seconds);
  }

  /** The server left an exchange unanswered. */
  timeout(server: RadiusServer): void {
    this.#of(server.label).timeouts++;
    this.#recorders.get(server.label)!.timeouts.add();
  }

  /** A packet from the server was dropped. */
  badAnswer(server: RadiusServer, reason: BadAnswerReason): void {
    this.#of(server.label).badAnswers[reason]++;
    const bad = this.#recorders.get(server.label)!.bad;
    let r = bad.get(reason);
    if (!r) {
      bad.set(reason, r = this.store.series(RADIUS_BAD_ANSWERS, server.label, reasonLabel(reason)));
    }
    r.add();
  }

  /** A request was dropped because no server answered. */
  dropped(): void {
    this.radiusTimeouts++;
    this.#timeouts.add();
  }

  /** A request was answered from the cache. */
  cacheHit(): void {
    this.cacheHits++;
    this.#cacheHits.add();
  }

  /** A request joined an exchange in flight. */
  shared(): void {
    this.sharedExchanges++;
    this.#shared.add();
  }
}
