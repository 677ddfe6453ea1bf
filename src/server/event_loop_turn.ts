/**
 * A yield to Deno's event loop that lets every socket make progress, without sleeping.
 *
 * Long work on the main thread (a bulk leasequery answer written in chunks) yields between
 * chunks so that other connections, UDP requests and timers are served meanwhile. The usual
 * yields do not fit on Deno (measured, Deno 2.9):
 * - `setTimeout(0)` sleeps: its timers have millisecond resolution, a zero timeout comes back
 *   after 1-5 ms, even with nothing else to do;
 * - a `MessageChannel` message, a resolved promise or `setImmediate` come back at once, but
 *   Deno runs them without polling its sockets (the I/O driver is polled only when the event
 *   loop has nothing else ready, or after about 60 such turns), so sockets starve.
 *
 * A {@link SocketTurn} sends one byte to a loopback UDP socket of its own and waits for it: the
 * receive is already waiting when the byte is sent, so it can only complete through the event
 * loop's poll of its sockets, which also serves every other socket that is ready. That costs two
 * system calls and one poll (tens of microseconds), not milliseconds. Where no such socket can
 * be opened (no network permission, no loopback), it falls back to `setTimeout(0)`.
 * @module
 */

/** One byte to send to ourselves. */
const BYTE = new Uint8Array(1);

/** See the module documentation. */
export class SocketTurn {
  #socket?: Deno.DatagramConn;
  #address?: Deno.NetAddr;
  #buffer = new Uint8Array(16);
  /** The receive waiting for the next turn's byte. */
  #pending?: Promise<unknown>;
  /** The turn in progress, shared by everyone who asks for one meanwhile. */
  #turn?: Promise<void>;
  #closed = false;

  /** Open the loopback socket (or, where that fails, use timers). */
  constructor() {
    for (const hostname of ["127.0.0.1", "::1"]) {
      try {
        this.#socket = Deno.listenDatagram({ transport: "udp", hostname, port: 0 });
        this.#address = this.#socket.addr as Deno.NetAddr;
        this.#pending = this.#receive();
        return;
      } catch {
        // no permission, no such address family, or no unstable-net: try the next or use timers
      }
    }
  }

  /** Whether turns poll the sockets (false: the `setTimeout(0)` fallback). */
  get polling(): boolean {
    return this.#socket !== undefined && !this.#closed;
  }

  #receive(): Promise<unknown> {
    return this.#socket!.receive(this.#buffer).catch(() => undefined);
  }

  /** Resolve after one poll of the event loop's sockets (see the module documentation). */
  next(): Promise<void> {
    if (!this.polling) return new Promise((resolve) => setTimeout(resolve, 0));
    return this.#turn ??= this.#run();
  }

  async #run(): Promise<void> {
    try {
      await this.#socket!.send(BYTE, this.#address!);
      await this.#pending;
    } catch {
      // closed meanwhile, or the send failed: a turn of the timers instead
      await new Promise((resolve) => setTimeout(resolve, 0));
    } finally {
      if (this.polling) this.#pending = this.#receive();
      this.#turn = undefined;
    }
  }

  /** Close the socket (later turns use timers). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#socket?.close();
    } catch {
      // closed already
    }
  }
}
