/** Re-exports for server_test.ts. */
export * from "../../src/protocol/mod.ts";
export { encodeOptions as encodeOptionsForTest } from "../../src/handlers/leasequery/store.ts";
