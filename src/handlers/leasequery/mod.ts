/**
 * The leasequery extension (RFC 5007, RFC 5460): the `<leasequery>` handler with its store
 * (`<lq-sqlite>` or `<lq-postgresql>`, sections of the `leasequery-store` kind), the setup and
 * cleanup handlers that
 * enforce the bulk leasequery transport rules for every request, and the stream responder that
 * sends bulk answers over `<listen-tcp>`.
 * @module
 */

import { buildComponent } from "../registry.ts";
import { componentFor, defineExtension, handlerFor } from "../extension.ts";
import {
  AsyncLeasequeryHandler,
  leasequeryCleanupHandlers,
  LeasequeryHandler,
  leasequerySetupHandlers,
} from "./handler.ts";
import { leasequerySection, lqPostgresqlSection, lqSqliteSection } from "./section.ts";
import { LeasequerySqliteStore } from "./sqlite.ts";
import { LeasequeryPostgresStore } from "./postgresql/store.ts";
import { LEASEQUERY_STATISTICS } from "./postgresql/writer.ts";
import { isAsyncLeaseStore, isLeaseStore } from "./store.ts";
import { openSectionPool } from "../postgresql.ts";
import { leasequeryStreamResponder } from "./stream.ts";

/** Leasequery and bulk leasequery. */
export const leasequeryExtension = defineExtension({
  name: "leasequery",
  kinds: {
    "leasequery-store": {
      title: "Leasequery stores",
      description: "Where the `<leasequery>` handler records leases and looks them up; each " +
        "`<leasequery>` needs exactly one.",
    },
  },
  handlers: [
    handlerFor(leasequerySection, (v, ctx, section) => {
      const storeSection = section.children.find((c) => c.kind === "leasequery-store");
      if (!storeSection) {
        throw new Error(`${section.file}:${section.line}: <leasequery> needs a store`);
      }
      const store = buildComponent(storeSection, ctx);
      if (!isLeaseStore(store)) {
        throw new Error(
          `${storeSection.file}:${storeSection.line}: <${storeSection.type}> is not a lease store`,
        );
      }
      return isAsyncLeaseStore(store)
        ? new AsyncLeasequeryHandler(store, v.allowFrom ?? [], v.sensitiveOptions ?? [])
        : new LeasequeryHandler(store, v.allowFrom ?? [], v.sensitiveOptions ?? []);
    }),
  ],
  components: [
    componentFor(lqSqliteSection, (v) => new LeasequerySqliteStore(v.path)),
    componentFor(
      lqPostgresqlSection,
      (v) => new LeasequeryPostgresStore(() => openSectionPool(v), { queueSize: v.queueSize }),
    ),
  ],
  statistics: LEASEQUERY_STATISTICS,
  setupHandlers: leasequerySetupHandlers,
  cleanupHandlers: leasequeryCleanupHandlers,
  streamResponder: leasequeryStreamResponder,
});
