/**
 * Shared memory for handlers whose state must be common to every worker (rate limiting).
 *
 * An extension declares its named buffers and their sizes in its `sharedBuffers`; installing it
 * declares them here. The main thread creates the buffers ({@link exportSharedBuffers}) and sends
 * them to each worker in its init message; the worker installs them ({@link installSharedBuffers})
 * before building its pipeline. Handlers then get the same `SharedArrayBuffer` everywhere through
 * {@link sharedBuffer}. The buffers live as long as the main thread, so their contents survive
 * reloads.
 * @module
 */

const declared = new Map<string, number>();
const buffers = new Map<string, SharedArrayBuffer>();

/** Declare a shared buffer of `bytes` bytes named `name` (idempotent; the largest size wins). */
export function declareSharedBuffer(name: string, bytes: number): void {
  declared.set(name, Math.max(bytes, declared.get(name) ?? 0));
}

/** The buffer named `name`: the installed one, or a new one of the declared size. */
export function sharedBuffer(name: string): SharedArrayBuffer {
  let buffer = buffers.get(name);
  if (!buffer) {
    const bytes = declared.get(name);
    if (bytes === undefined) throw new Error(`no shared buffer named ${name} was declared`);
    buffer = new SharedArrayBuffer(bytes);
    buffers.set(name, buffer);
  }
  return buffer;
}

/** Create every declared buffer (main thread) and return them for the workers' init message. */
export function exportSharedBuffers(): Record<string, SharedArrayBuffer> {
  const out: Record<string, SharedArrayBuffer> = {};
  for (const name of declared.keys()) out[name] = sharedBuffer(name);
  return out;
}

/** Use the buffers the main thread created (worker side); missing names are created locally. */
export function installSharedBuffers(map: Record<string, SharedArrayBuffer> | undefined): void {
  if (!map) return;
  for (const [name, buffer] of Object.entries(map)) {
    if (buffer instanceof SharedArrayBuffer) buffers.set(name, buffer);
  }
}

/**
 * Read-only data built once in the main thread and handed to every worker with its engine
 * (e.g. the `<static-csv>` table in a `SharedArrayBuffer`): see `sharedDataFor` in
 * extension.ts. Values are structured-cloneable; `SharedArrayBuffer`s in them are shared, not
 * copied. Each new configuration (start, reload) brings a new set, which replaces the old one;
 * engines built earlier keep what they took.
 */
let data = new Map<string, unknown>();

/** The shared data named `key`, when the main thread built it for this configuration. */
export function sharedData(key: string): unknown {
  return data.get(key);
}

/** Use `map` as the shared data from now on (replacing the previous set). */
export function installSharedData(map: Record<string, unknown> | undefined): void {
  data = new Map(Object.entries(map ?? {}));
}
