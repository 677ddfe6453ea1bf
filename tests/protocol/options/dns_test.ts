/** Tests for the RFC 3646 DNS options (23, 24). */

import assert from "node:assert/strict";
import {
  checkDomainName,
  DomainSearchListOption,
  optionToBytes,
  RecursiveNameServersOption,
  ValidationError,
} from "../../../src/protocol/mod.ts";
import { b, bad, decode, invalid, relayForward, reply, valid } from "./helpers.ts";

// RFC 3646 §3: option-code 23, option-len 16*N, addresses.
const DNS_SERVERS = "0017 0020 20010db8000000000000000000000001 20010db8000000000000000000000053";
// RFC 3646 §4: option-code 24, searchlist in RFC 1035 §3.1 encoding.
const SEARCH_LIST = "0018 001f 076578616d706c6503636f6d00 04636f727007657861" +
  "6d706c65036e657400";

Deno.test("recursive-name-servers: parse and serialise", () => {
  const o = decode(DNS_SERVERS) as RecursiveNameServersOption;
  assert.ok(o instanceof RecursiveNameServersOption);
  assert.deepEqual(o.addresses, ["2001:db8::1", "2001:db8::53"]);
  assert.deepEqual(
    optionToBytes(new RecursiveNameServersOption(["2001:db8::1", "2001:db8::53"])),
    b(DNS_SERVERS),
  );
  o.validate();
  assert.deepEqual((decode("0017 0000") as RecursiveNameServersOption).addresses, []);
});

Deno.test("recursive-name-servers: malformed input", () => {
  bad("0017 000f 20010db800000000000000000000");
  bad("0017 0011 20010db8000000000000000000000001 00");
  bad("0017 0020 20010db8000000000000000000000001"); // length lies
  bad("0017");
});

Deno.test("recursive-name-servers: validate", () => {
  assert.throws(() => new RecursiveNameServersOption(["ff02::1"]).validate(), ValidationError);
  assert.throws(() => new RecursiveNameServersOption(["::1"]).validate(), ValidationError);
  new RecursiveNameServersOption(["2001:db8::1"]).validate();
});

Deno.test("domain-search-list: parse and serialise", () => {
  const o = decode(SEARCH_LIST) as DomainSearchListOption;
  assert.ok(o instanceof DomainSearchListOption);
  assert.deepEqual(o.domainNames, ["example.com", "corp.example.net"]);
  assert.deepEqual(
    optionToBytes(new DomainSearchListOption(["example.com", "corp.example.net"])),
    b(SEARCH_LIST),
  );
  o.validate();
});

Deno.test("domain-search-list: relative, compressed and truncated names are parse errors", () => {
  bad("0018 000c 076578616d706c6503636f6d"); // no root label: relative
  bad("0018 0002 c00c"); // compression pointer
  bad("0018 0005 0765786100"); // label runs past the end
  bad("0018 0010 076578616d706c6503636f6d00"); // length lies
  bad("0018 0002 4000"); // label length 64
});

Deno.test("domain-search-list: validate", () => {
  assert.throws(() => new DomainSearchListOption([""]).validate(), ValidationError);
  assert.throws(() => new DomainSearchListOption(["a..b"]).validate(), ValidationError);
  assert.throws(() => new DomainSearchListOption(["exämple.com"]).validate(), ValidationError);
  assert.throws(
    () => new DomainSearchListOption(["x".repeat(64) + ".com"]).validate(),
    ValidationError,
  );
  assert.throws(
    () => new DomainSearchListOption([Array(60).fill("abcd").join(".") + ".com"]).validate(),
    ValidationError,
  );
  new DomainSearchListOption(["example.com", "xn--exmple-cua.com"]).validate();
});

Deno.test("checkDomainName: root only when allowed", () => {
  assert.throws(() => checkDomainName("", "name"), ValidationError);
  checkDomainName("", "name", true);
  checkDomainName("example.com.", "name");
});

Deno.test("dns options: placement", () => {
  const servers = new RecursiveNameServersOption(["2001:db8::1"]);
  const search = new DomainSearchListOption(["example.com"]);
  valid(reply(servers, search));
  invalid(relayForward(servers));
  invalid(relayForward(search));
});
