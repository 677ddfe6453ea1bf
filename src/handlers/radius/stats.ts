/**
 * What the RADIUS handler counts: per server every exchange (request, retransmission, accept,
 * reject, timeout, dropped answers by reason) with a latency histogram, and overall the requests
 * dropped because no server answered (`radius_timeouts`) and the answers served from the cache.
 * @module
 */

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

/** The counters of one RADIUS handler (in one worker). */
export class RadiusStatistics implements RadiusClientEvents {
  /** Counters by server label. */
  readonly servers: Map<string, ServerCounters> = new Map();
  /** Requests dropped because no server answered. */
  radiusTimeouts = 0;
  /** Requests answered from the cache. */
  cacheHits = 0;
  /** Requests that joined an exchange already in flight. */
  sharedExchanges = 0;

  #of(server: RadiusServer): ServerCounters {
    let c = this.servers.get(server.label);
    if (!c) this.servers.set(server.label, c = newCounters());
    return c;
  }

  /** An Access-Request was sent. */
  request(server: RadiusServer): void {
    this.#of(server).requests++;
  }

  /** An Access-Request was sent again. */
  retransmit(server: RadiusServer): void {
    this.#of(server).retransmissions++;
  }

  /** An answer was taken. */
  answer(server: RadiusServer, code: number, seconds: number): void {
    const c = this.#of(server);
    if (code === RadiusCode.AccessAccept) c.accepts++;
    else c.rejects++;
    c.latency.buckets[bucketOf(seconds)]++;
    c.latency.sum += seconds;
    c.latency.count++;
  }

  /** The server left an exchange unanswered. */
  timeout(server: RadiusServer): void {
    this.#of(server).timeouts++;
  }

  /** A packet from the server was dropped. */
  badAnswer(server: RadiusServer, reason: BadAnswerReason): void {
    this.#of(server).badAnswers[reason]++;
  }
}
