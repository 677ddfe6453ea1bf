/**
 * Deadlines shared by the requests that start waiting at about the same time: one timer per
 * group instead of a `setTimeout` and `clearTimeout` per request (a few microseconds each, a
 * noticeable part of a request that waits for a database lookup). A deadline falls due at the
 * requested time rounded up to the group's granularity, so it is never early and at most
 * `granularityMs` late; its timer is cleared as soon as nobody waits for it any more.
 * @module
 */

/** What {@link Deadline.expired} resolves with (to tell it apart in a `Promise.race`). */
export const EXPIRED: unique symbol = Symbol("expired");

/** One group's deadline: {@link Deadline.expired} resolves when it falls due. */
export interface Deadline {
  /** Resolves with {@link EXPIRED} when the deadline falls due; never rejects. */
  readonly expired: Promise<typeof EXPIRED>;
}

interface Group extends Deadline {
  users: number;
  timer: ReturnType<typeof setTimeout>;
  due: number;
}

/** Hands out shared deadlines (see the module documentation). */
export class SharedDeadlines {
  readonly #groups = new Map<number, Group>();

  /** Group deadlines falling due within `granularityMs` of each other. */
  constructor(readonly granularityMs = 5) {}

  /** Deadlines with a timer now (for tests). */
  get pending(): number {
    return this.#groups.size;
  }

  /**
   * A deadline at least `ms` from now, shared with others that fall due in the same interval;
   * give it back with {@link SharedDeadlines.release} once done waiting.
   */
  acquire(ms: number): Deadline {
    const g = this.granularityMs;
    const due = Math.ceil((performance.now() + ms) / g) * g;
    let group = this.#groups.get(due);
    if (!group) {
      const { promise, resolve } = Promise.withResolvers<typeof EXPIRED>();
      const created: Group = {
        expired: promise,
        users: 0,
        due,
        timer: setTimeout(() => {
          this.#groups.delete(due);
          resolve(EXPIRED);
        }, Math.max(0, due - performance.now())),
      };
      this.#groups.set(due, created);
      group = created;
    }
    group.users++;
    return group;
  }

  /** Stop waiting for `deadline`; its timer is cleared when nobody else waits for it. */
  release(deadline: Deadline): void {
    const group = deadline as Group;
    if (--group.users > 0 || this.#groups.get(group.due) !== group) return;
    clearTimeout(group.timer);
    this.#groups.delete(group.due);
  }
}
