/**
 * Reuse of RADIUS answers: a cache that keeps each answer for `cache-ttl` seconds (a Solicit
 * and the Request that follows it, retransmissions and renewals within that time cost one
 * exchange), and the sharing of exchanges still in flight, so that requests asking the same
 * question at the same time wait for one answer.
 * @module
 */

/** Answers by key for a fixed time, at most `maxEntries` of them (the oldest go first). */
export class AnswerCache<T> {
  readonly #entries = new Map<string, { value: T; expires: number }>();
  readonly #pending = new Map<string, Promise<T>>();

  /**
   * Create the cache: `ttl` in seconds (0 keeps nothing), `now` gives milliseconds (by default
   * `performance.now`).
   */
  constructor(
    readonly ttl: number,
    readonly maxEntries: number,
    readonly now: () => number = () => performance.now(),
  ) {}

  /** Answers kept now (some may have expired without being looked at). */
  get size(): number {
    return this.#entries.size;
  }

  /** Questions waiting for their exchange now. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** True when an exchange for `key` is in flight. */
  isPending(key: string): boolean {
    return this.#pending.has(key);
  }

  /** The answer kept for `key`, if it has not expired. */
  get(key: string): T | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expires > this.now()) return entry.value;
    this.#entries.delete(key);
    return undefined;
  }

  /** Keep an answer (replacing an older one for the key). */
  set(key: string, value: T): void {
    if (this.ttl <= 0 || this.maxEntries <= 0) return;
    const now = this.now();
    this.#entries.delete(key); // re-inserted at the end: entries stay in expiry order
    this.#entries.set(key, { value, expires: now + this.ttl * 1000 });
    // Entries are in insertion order, which is expiry order: drop expired ones from the front,
    // then the oldest while over the bound.
    for (const [k, e] of this.#entries) {
      if (e.expires > now && this.#entries.size <= this.maxEntries) break;
      this.#entries.delete(k);
    }
  }

  /**
   * The answer for `key`: a request already waiting for it is joined, otherwise `fetch` starts
   * an exchange whose answer is kept when it arrives. A failure is shared by every waiting
   * request and not kept.
   */
  fetch(key: string, fetch: () => Promise<T>): Promise<T> {
    const waiting = this.#pending.get(key);
    if (waiting) return waiting;
    const promise = fetch().then(
      (value) => {
        this.#pending.delete(key);
        this.set(key, value);
        return value;
      },
      (error) => {
        this.#pending.delete(key);
        throw error;
      },
    );
    this.#pending.set(key, promise);
    return promise;
  }

  /** Forget everything kept (waiting exchanges go on). */
  clear(): void {
    this.#entries.clear();
  }
}
