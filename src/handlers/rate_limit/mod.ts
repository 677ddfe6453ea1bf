/**
 * The rate limiting extension: `<rate-limit>`, with its buckets in memory shared by all workers.
 * @module
 */

import { defineExtension, handlerFor } from "../extension.ts";
import { tableBytes } from "./bucket_table.ts";
import { RATE_LIMIT_BUFFER, RATE_LIMIT_SLOTS, RateLimitHandler } from "./handler.ts";
import { rateLimitSection } from "./section.ts";

/** The rate limit handler and its shared bucket table. */
export const rateLimitExtension = defineExtension({
  name: "rate-limit",
  sharedBuffers: { [RATE_LIMIT_BUFFER]: tableBytes(RATE_LIMIT_SLOTS) },
  handlers: [
    handlerFor(rateLimitSection, (v, _ctx, section) => {
      const rate = v.rate ?? 5;
      const per = v.per ?? 30;
      const burst = v.burst ?? rate;
      const key = v.key ?? "duid";
      const id = `${section.file}:${section.line}:${key}:${rate}/${per}/${burst}`;
      return new RateLimitHandler(key, rate, per, burst, id);
    }),
  ],
});
