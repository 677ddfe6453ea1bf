// dhcpkit with the captive portal extension built in.
import { main, useExtensions } from "@dhcpkit/dhcpkit";
import "./captive_portal/mod.ts"; // static: lets deno compile embed it

// Install its extension here, and have the worker threads (which start from dhcpkit's own worker
// module) import and install it too.
await useExtensions(import.meta.resolve("./captive_portal/mod.ts"));

if (import.meta.main) Deno.exitCode = await main(Deno.args);
