/**
 * A custom dhcpkit executable: dhcpkit's own `main` with extension modules composed in. This is
 * what `./compile.sh --extension MODULE` generates; copy it to compose your own set.
 *
 * Run it from source exactly like `cli/main.ts`:
 *
 * ```sh
 * deno run --unstable-net --allow-net --allow-read --allow-write --allow-env --allow-sys \
 *   examples/custom_entry.ts serve /etc/dhcpkit/dhcpkit.conf
 * ```
 *
 * or build a single executable from it (the worker module must be included explicitly):
 *
 * ```sh
 * deno compile --unstable-net --allow-net --allow-read --allow-write --allow-env --allow-sys \
 *   --include src/server/worker.ts --output dhcpkit-acme examples/custom_entry.ts
 * ```
 *
 * The configuration then uses `<sol-max-rt-technicolor>` and `<event-sink>` without any
 * `extension` key.
 * @module
 */

import { main, useExtensions } from "@dhcpkit/dhcpkit";
// 1. Static imports: they make `deno compile` embed the modules (importing registers nothing).
import "./extensions/technicolor/mod.ts";
import "./extensions/event_sink/mod.ts";

// 2. Install the extensions the modules export, here and in every worker thread (workers start
//    from dhcpkit's own worker module and know nothing of this file).
await useExtensions(
  import.meta.resolve("./extensions/technicolor/mod.ts"),
  import.meta.resolve("./extensions/event_sink/mod.ts"),
);

// 3. Run the program.
if (import.meta.main) Deno.exitCode = await main(Deno.args);
