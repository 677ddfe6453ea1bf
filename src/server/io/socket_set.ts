/**
 * The sockets a backend owns, by key (see `SocketPlan.key`), with the hand-over across reloads:
 * a new backend takes over the sockets of the old one that it would open again, the old one then
 * leaves them open when it stops, and a new backend that never started gives them back.
 * @module
 */

/** A backend's sockets of type `S` (see the module documentation). */
export class SocketSet<S> {
  readonly #own = new Map<string, S>();
  /** Keys whose sockets another set took over: not closed here. */
  readonly #lent = new Set<string>();
  /** Sockets taken over from another set, which gets them back from {@link giveBack}. */
  readonly #borrowed = new Map<string, SocketSet<S>>();

  /** Take over `previous`'s socket with `key`, when it has one not already taken. */
  adopt(key: string, previous: SocketSet<S> | undefined): S | undefined {
    if (!previous) return undefined;
    const socket = previous.#own.get(key);
    if (socket === undefined || previous.#lent.has(key) || this.#own.has(key)) return undefined;
    previous.#lent.add(key);
    this.#borrowed.set(key, previous);
    this.#own.set(key, socket);
    return socket;
  }

  /** Record a socket this set opened. */
  add(key: string, socket: S): void {
    this.#own.set(key, socket);
  }

  /** The socket with `key`, when this set has it. */
  get(key: string): S | undefined {
    return this.#own.get(key);
  }

  /** Whether `key`'s socket was taken over by another set. */
  lent(key: string): boolean {
    return this.#lent.has(key);
  }

  /** Give the sockets taken over back to their sets (this set never started using them). */
  giveBack(): void {
    for (const [key, previous] of this.#borrowed) {
      previous.#lent.delete(key);
      this.#own.delete(key);
    }
    this.#borrowed.clear();
  }

  /** Close (with `close`) every socket of this set that no other set took over, once. */
  closeAll(close: (socket: S) => void): void {
    for (const [key, socket] of this.#own) {
      if (this.#lent.has(key)) continue;
      try {
        close(socket);
      } catch {
        // closed already
      }
    }
    this.#own.clear();
  }
}
