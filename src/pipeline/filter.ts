/**
 * Filters: a condition on the request, with the filters and handlers that apply when it holds.
 * @module
 */

import type { TransactionBundle } from "./bundle.ts";
import type { Handler } from "./handler.ts";
import { declaresAlike } from "./alike.ts";

/** A node of the filter tree. Subclasses implement {@link Filter.match}. */
export abstract class Filter {
  /** Nested filters, in configuration order. */
  filters: Filter[] = [];
  /** Handlers of this scope, in configuration order. */
  handlers: Handler[] = [];

  /** True when the request matches this filter's condition. */
  abstract match(bundle: TransactionBundle): boolean;

  /** Human-readable description for logs. */
  abstract describe(): string;

  /**
   * What the condition looked at in `bundle`, for explain (e.g. `link address 2001:db8::1`).
   * Only called when a request is explained.
   */
  explainMatch?(bundle: TransactionBundle): string;

  /**
   * Append the handlers that apply to `bundle` to `out`: nested filters' handlers first (most
   * specific scope first), then this filter's own.
   */
  collect(bundle: TransactionBundle, out: Handler[]): void {
    if (!this.match(bundle)) return;
    for (const f of this.filters) f.collect(bundle, out);
    for (const h of this.handlers) out.push(h);
  }

  /** Every handler in this subtree (for per-worker initialisation). */
  allHandlers(out: Handler[] = []): Handler[] {
    for (const f of this.filters) f.allHandlers(out);
    out.push(...this.handlers);
    return out;
  }
}

/**
 * Whether `filter` and every filter nested in it decide alike for every Information-request: the
 * classes that define `match` (and `collect`, when overridden) declare a static
 * `informationRequestsAlike = true`, promising that for an Information-request the decision depends
 * only on the request's bytes other than the transaction id, the client's DUID and the client's
 * address, on the listener and its marks and on the configuration (see
 * `treatsInformationRequestsAlike` for handlers).
 */
export function filterTreatsInformationRequestsAlike(filter: Filter): boolean {
  return declaresAlike(filter, ["match", "collect"], Filter.prototype) &&
    filter.filters.every(filterTreatsInformationRequestsAlike);
}
