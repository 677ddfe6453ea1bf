/** What the tests of the FFI socket layer share (ffi_socket_test.ts, ffi_segmentation_test.ts). */

import { ffiUnavailable } from "../../../src/server/io/ffi_backend.ts";

/** Why FFI sockets cannot be used here, or undefined when they can. */
export const unavailable = ffiUnavailable();

/** `::1` as 16 bytes. */
export const LOOPBACK = new Uint8Array(16);
LOOPBACK[15] = 1;

/** A test of the FFI socket layer: skipped, with a note saying why, where it cannot be used. */
export function ffiSocketTest(name: string, fn: () => void | Promise<void>): void {
  if (unavailable) console.log(`note: skipping "${name}": ${unavailable}`);
  Deno.test({ name, ignore: unavailable !== undefined, fn });
}
