/**
 * `<static-postgresql URL>`: the static assignment handler over a PostgreSQL table, answering
 * through an asynchronous lookup. The lookup fetches the client's row before the request is
 * handled and stores it in the bundle; `handle()` then answers exactly as `<static-csv>` and
 * `<static-sqlite>` do, with the same ids in the same order.
 * @module
 */

import type { TransactionBundle } from "../../../pipeline/mod.ts";
import { IANAOption, IAPDOption } from "../../../protocol/mod.ts";
import {
  answersRequest,
  setLookedUpAssignment,
  type SourceOpener,
  StaticAssignmentHandler,
  type StaticLifetimes,
} from "../handler.ts";
import { candidateIds } from "../ids.ts";
import { type FetchedKey, isAsyncSource } from "../source.ts";

/** A static assignment handler whose source is asked asynchronously (PostgreSQL). */
export class AsyncStaticAssignmentHandler extends StaticAssignmentHandler {
  /** Answers every Information-request alike (see `treatsInformationRequestsAlike`). */
  static override readonly informationRequestsAlike = true;

  /** Create the handler; `open` is called in each worker and must give an asynchronous source. */
  constructor(lifetimes: StaticLifetimes, open: SourceOpener) {
    super(lifetimes, open);
  }

  /**
   * Fetch the client's assignment when the request is one the handler answers and carries an
   * IA_NA or IA_PD; undefined (nothing to wait for) otherwise. Rejects when the source cannot
   * say (the request is then not answered).
   */
  override lookup(bundle: TransactionBundle): Promise<void> | undefined {
    if (!answersRequest(bundle)) return undefined;
    const options = bundle.request.options;
    if (!options.some((o) => o instanceof IANAOption || o instanceof IAPDOption)) return undefined;
    const source = this.source;
    if (!source || !isAsyncSource(source)) {
      return Promise.reject(new Error("static assignments used before workerInit()"));
    }
    if (bundle.explain) {
      const found: FetchedKey = {};
      return source.fetch(candidateIds(bundle), found).then((assignment) => {
        setLookedUpAssignment(bundle, this, assignment);
        this.explainAnswer(bundle, source, assignment, found.key, found.cached);
      });
    }
    const ids = candidateIds(bundle);
    const known = source.peek?.(ids);
    if (known) {
      setLookedUpAssignment(bundle, this, known.assignment);
      return undefined;
    }
    return source.fetch(ids).then((assignment) => setLookedUpAssignment(bundle, this, assignment));
  }
}
