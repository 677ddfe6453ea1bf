/**
 * The request pipeline: bundles, handlers, filters, built-in handlers, signals and statistics.
 * @module
 */

export * from "./errors.ts";
export * from "./bundle.ts";
export * from "./handler.ts";
export * from "./filter.ts";
export * from "./builtin.ts";
export * from "./statistics.ts";
export * from "./extension_statistics.ts";
export * from "./categories.ts";
export * from "./message_handler.ts";
export * from "./explain.ts";
export * from "./deadlines.ts";
export * from "./log_gate.ts";
export * from "./reply_templates.ts";
