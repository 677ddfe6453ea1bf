/**
 * A bounded queue of text lines with an asynchronous writer: pushing never waits, and when the
 * consumer falls behind the queue fills up and further lines are dropped and counted.
 * @module
 */

import { getLogger } from "@logtape/logtape";

const log = getLogger(["dhcpkit", "event-sink"]);

/** Something lines can be written to: a file, a socket connection, standard output. */
export interface Target {
  /** Write some of `data`, resolving with the number of bytes written. */
  write(data: Uint8Array): Promise<number>;
  /** Release the target. */
  close(): void;
}

/** Counters of a {@link LineQueue}. */
export interface QueueStats {
  /** Lines waiting to be written. */
  readonly queued: number;
  /** Lines written so far. */
  readonly written: number;
  /** Lines dropped because the queue was full (or the target could not be opened). */
  readonly dropped: number;
}

/** How long to wait before reopening a target that failed. */
const RETRY_MS = 1000;
/** Most lines written in one go. */
const BATCH = 512;

/**
 * Lines pushed by the server, written in order by one asynchronous loop. Memory is bounded by
 * `capacity` waiting lines plus the batch being written.
 */
export class LineQueue {
  #lines: string[] = [];
  #written = 0;
  #dropped = 0;
  /** Drops not yet reported in the stream. */
  #unreported = 0;
  /** Wakes the writer when a line arrives or the queue closes. */
  #wake?: () => void;
  /** Ends a retry pause early when the queue closes. */
  #interrupt?: () => void;
  #closing = false;
  /** Whether the destination is failing (logged once per failure streak). */
  #failing = false;
  #target?: Target;
  #loop?: Promise<void>;
  readonly #encoder = new TextEncoder();

  /** Create a queue holding at most `capacity` lines, writing to targets made by `open`. */
  constructor(
    readonly open: () => Promise<Target>,
    readonly capacity: number,
    /** Builds the line reporting `count` dropped lines. */
    readonly droppedLine: (count: number) => string = (count) =>
      JSON.stringify({ event: "dropped", time: new Date().toISOString(), count }) + "\n",
  ) {}

  /** Whether a push now would drop the line. */
  get full(): boolean {
    return this.#lines.length >= this.capacity;
  }

  /** The counters. */
  get stats(): QueueStats {
    return { queued: this.#lines.length, written: this.#written, dropped: this.#dropped };
  }

  /** Start the writer loop (once). */
  start(): void {
    this.#loop ??= this.#run();
  }

  /** Queue a line (ending in a newline); returns false when it was dropped. Never waits. */
  push(line: string): boolean {
    if (this.#closing || this.full) {
      this.drop();
      return false;
    }
    this.#lines.push(line);
    this.#wake?.();
    return true;
  }

  /** Count a line that was not even built because the queue is full. */
  drop(): void {
    this.#dropped++;
    this.#unreported++;
  }

  /** Stop: write what is queued for at most `timeoutMs`, then close the target. */
  async close(timeoutMs = 1000): Promise<void> {
    this.#closing = true;
    this.#wake?.();
    this.#interrupt?.();
    if (!this.#loop) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#loop,
      new Promise<void>((resolve) => timer = setTimeout(resolve, timeoutMs)),
    ]);
    clearTimeout(timer);
    // A write stuck on a consumer that does not read is abandoned here.
    this.#closeTarget();
    await this.#loop;
  }

  #closeTarget(): void {
    try {
      this.#target?.close();
    } catch {
      // already closed
    }
    this.#target = undefined;
  }

  async #run(): Promise<void> {
    while (!this.#closing || this.#lines.length > 0) {
      if (!this.#target) {
        try {
          this.#target = await this.open();
          if (this.#failing) log.info("Event destination usable again");
          this.#failing = false;
        } catch (e) {
          if (!this.#failing) {
            log.warning("Cannot open the event destination: {error}", { error: e });
          }
          this.#failing = true;
          this.#dropAll();
          if (!await this.#sleep(RETRY_MS)) return;
          continue;
        }
      }
      if (this.#lines.length === 0 && this.#unreported === 0) {
        await new Promise<void>((resolve) => this.#wake = resolve);
        this.#wake = undefined;
        continue;
      }
      const batch = this.#lines.splice(0, BATCH);
      let text = batch.join("");
      if (this.#unreported > 0) {
        text = this.droppedLine(this.#unreported) + text;
        this.#unreported = 0;
      }
      try {
        await this.#writeAll(this.#encoder.encode(text));
        this.#written += batch.length;
      } catch (e) {
        if (this.#closing && !this.#target) return;
        if (!this.#failing) log.warning("Writing events failed, reopening: {error}", { error: e });
        this.#failing = true;
        this.#dropped += batch.length;
        this.#unreported += batch.length;
        this.#closeTarget();
        if (!await this.#sleep(RETRY_MS)) return;
      }
    }
    this.#closeTarget();
  }

  async #writeAll(data: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < data.length) {
      const target = this.#target;
      if (!target) throw new Error("destination closed");
      offset += await target.write(data.subarray(offset));
    }
  }

  /** Count everything queued as dropped (the destination is unusable). */
  #dropAll(): void {
    this.#dropped += this.#lines.length;
    this.#unreported += this.#lines.length;
    this.#lines = [];
  }

  /** Wait `ms` unless closing; resolves false when the queue is closing. */
  async #sleep(ms: number): Promise<boolean> {
    if (this.#closing) return false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((resolve) => {
      this.#interrupt = resolve;
      timer = setTimeout(resolve, ms);
    });
    clearTimeout(timer);
    this.#interrupt = undefined;
    return !this.#closing;
  }
}
