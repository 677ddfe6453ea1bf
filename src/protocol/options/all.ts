/**
 * Every built-in option: the RFC 8415 core and each extension module. Importing this module
 * registers all of them (codes, names and placement rules).
 * @module
 */

export * from "./base.ts";
export * from "./core.ts";
export * from "./sip.ts";
export * from "./dns.ts";
export * from "./sntp.ts";
export * from "./remote_id.ts";
export * from "./subscriber_id.ts";
export * from "./fqdn.ts";
export * from "./timezone.ts";
export * from "./echo_request.ts";
export * from "./leasequery.ts";
export * from "./ntp.ts";
export * from "./aftr_name.ts";
export * from "./pd_exclude.ts";
export * from "./linklayer.ts";
export * from "./s46.ts";
export * from "./relay_source_port.ts";
