/**
 * The PostgreSQL lease store's schema (component `pools` in `dhcpkit_schema`):
 *
 * - version 1: the `pool_leases` table (primary key (pool, idx), unique (type, resource)) and
 *   the counters;
 * - version 2: the server-side functions that run the lease operations of many requests in one
 *   statement, so a receive batch costs one round trip and one commit:
 *   `dhcpkit_pool_apply(json)` takes the operations as one JSON array (one object per IA) and
 *   returns one row per result; `dhcpkit_ipv6_text(numeric)` formats an address exactly as the
 *   server does (RFC 5952, as `formatIPv6`), so the function can insert the handed-out resource
 *   of a slot it chose itself.
 * - version 3: `dhcpkit_pool_apply` first takes a transaction's advisory lock per client (type,
 *   DUID, IAID) of its commits, in sorted order: before, two servers committing one new client
 *   at once (each naming the slot it had offered) could each bind a slot to it, and the second
 *   slot stayed taken until it expired.
 *
 * What `dhcpkit_pool_apply` does per operation is what the store did before in separate
 * statements (see `LeaseOp`): the client's own slot (extended), else the named slots, else a
 * never-used slot from the client's hashed start (`INSERT ... ON CONFLICT DO NOTHING`), else the
 * longest-expired slot (an `UPDATE` whose condition is checked again after a concurrent writer
 * committed). A lost race (nothing inserted or updated) starts the operation over with fresh
 * reads, at most 32 times; the unique constraints, not a lock in any process, keep a slot from
 * being bound twice; the call's advisory locks on its commits' clients (version 3) keep one
 * client's IA from being bound two slots by two servers at once. Each statement of the function
 * reads what other servers committed before it (READ COMMITTED), and the whole call is one
 * transaction: committed when the answer comes back.
 * A lock wait longer than `lock_timeout` (500 ms, set on the function) fails the call, which the
 * store then runs again request by request.
 * @module
 */

import type { SchemaSpec } from "../../storage/postgresql/mod.ts";

/** RFC 5952 text of an IPv6 address given as a 128-bit number (as `formatIPv6`). */
const IPV6_TEXT = `CREATE OR REPLACE FUNCTION dhcpkit_ipv6_text(v NUMERIC) RETURNS TEXT
LANGUAGE plpgsql IMMUTABLE STRICT AS $fn$
DECLARE
  g INT[] := array_fill(0, ARRAY[8]);
  x NUMERIC := v;
  i INT;
  best_start INT := 0;
  best_len INT := 0;
  cur_start INT := 0;
  cur_len INT := 0;
  out TEXT := '';
BEGIN
  FOR i IN REVERSE 8..1 LOOP
    g[i] := mod(x, 65536)::INT;
    x := div(x, 65536);
  END LOOP;
  FOR i IN 1..8 LOOP
    IF g[i] = 0 THEN
      IF cur_len = 0 THEN cur_start := i; END IF;
      cur_len := cur_len + 1;
      IF cur_len > best_len THEN best_start := cur_start; best_len := cur_len; END IF;
    ELSE
      cur_len := 0;
    END IF;
  END LOOP;
  IF best_len < 2 THEN best_start := 0; END IF;
  IF best_start = 1 AND best_len = 5 AND g[6] = 65535 THEN
    RETURN '::ffff:' || (g[7] >> 8) || '.' || (g[7] & 255) || '.' || (g[8] >> 8) || '.' ||
      (g[8] & 255);
  END IF;
  i := 1;
  WHILE i <= 8 LOOP
    IF i = best_start THEN
      out := out || CASE WHEN i = 1 THEN '::' ELSE ':' END;
      i := i + best_len;
      CONTINUE;
    END IF;
    out := out || to_hex(g[i]);
    IF i < 8 THEN out := out || ':'; END IF;
    i := i + 1;
  END LOOP;
  RETURN out;
END
$fn$`;

/**
 * The lease operations of many requests, as one JSON array (one parameter: the client library
 * spends more on each parameter than on a longer one), one object per operation: n (its number,
 * from 1), nw (now, Unix seconds), k (offer, commit, release, decline), pl (pool id), t (na, pd),
 * d (DUID), ia (IAID), nm (the named slots, comma-separated), yl (step aside for the IA's valid
 * lease in another pool of the type), st (where the search for a never-used slot starts), fs and
 * sz (the pool's slots), bs and sp (the pool's first address and the distance between slots, as
 * decimal strings), sx (`/LEN` for prefixes), v (valid-until of a commit; of a release or
 * decline: the new valid-until), pf (preferred-until), h (the slot this server last bound to the
 * client's IA in the pool, or -1).
 * Returns per offer/commit one row (o_idx null: exhausted; o_else: the lease is in another
 * pool), per release/decline one row per changed slot.
 */
const APPLY = `CREATE OR REPLACE FUNCTION dhcpkit_pool_apply(p_ops JSON)
RETURNS TABLE (o_op INT, o_idx BIGINT, o_else BOOLEAN)
LANGUAGE plpgsql VOLATILE SET lock_timeout = '500ms' AS $fn$
DECLARE
  o RECORD;
  k TEXT;
  pl TEXT;
  d TEXT;
  ia BIGINT;
  nw BIGINT;
  v BIGINT;
  pf BIGINT;
  named BIGINT[];
  x BIGINT;
  got BIGINT;
  slot_v BIGINT;
  r RECORD;
  best_idx BIGINT;
  best_v BIGINT;
  best_s TEXT;
  other BOOLEAN;
  attempt INT;
  range_no INT;
  lo BIGINT;
  hi BIGINT;
  fresh BIGINT;
  old BIGINT;
BEGIN
  -- One client's commits in two calls (two servers hearing one Rebind, say) take turns: each
  -- call first locks its commits' clients, one lock per type, DUID and IAID, in one order for
  -- every call (so two calls never wait for each other in a cycle). The later call then reads
  -- the slot the earlier one bound instead of binding a second slot to the same IA.
  FOR x IN SELECT DISTINCT hashtextextended('dhcpkit pool ' || u.t || ' ' || u.d || ' ' || u.ia, 0)
      FROM json_to_recordset(p_ops) AS u(k TEXT, t TEXT, d TEXT, ia BIGINT)
      WHERE u.k = 'commit' ORDER BY 1 LOOP
    PERFORM pg_advisory_xact_lock(x);
  END LOOP;
  FOR o IN SELECT * FROM json_to_recordset(p_ops) AS u(n INT, nw BIGINT, k TEXT, pl TEXT,
      t TEXT, d TEXT, ia BIGINT, nm TEXT, yl BOOLEAN, st BIGINT, fs BIGINT, sz BIGINT,
      bs NUMERIC, sp NUMERIC, sx TEXT, v BIGINT, pf BIGINT, h BIGINT) LOOP
    k := o.k; pl := o.pl; d := o.d; ia := o.ia; nw := o.nw; v := o.v; pf := o.pf;
    named := string_to_array(o.nm, ',')::BIGINT[];
    o_op := o.n;
    o_else := false;
    IF k = 'release' OR k = 'decline' THEN
      FOREACH x IN ARRAY named LOOP
        UPDATE pool_leases l SET state = CASE WHEN k = 'release' THEN 'released' ELSE 'declined' END,
            valid_until = v, preferred_until = nw, updated = nw
          WHERE l.pool = pl AND l.idx = x AND l.duid = d AND l.iaid = ia AND l.state = 'assigned';
        IF FOUND THEN o_idx := x; RETURN NEXT; END IF;
      END LOOP;
      CONTINUE;
    END IF;
    -- The slot this server last bound to the client in this pool, still the client's and
    -- valid: extended at once (what the database holds decides, not the hint).
    IF k = 'commit' AND o.h >= 0 THEN
      UPDATE pool_leases l SET valid_until = v, preferred_until = pf, updated = nw
        WHERE l.pool = pl AND l.idx = o.h AND l.duid = d AND l.iaid = ia AND l.state = 'assigned'
          AND l.valid_until > nw;
      IF FOUND THEN o_idx := o.h; RETURN NEXT; CONTINUE; END IF;
    END IF;
    got := NULL;
    attempt := 0;
    <<search>>
    LOOP
      attempt := attempt + 1;
      EXIT search WHEN attempt > 32;
      -- The client's rows for the IA in every pool of this type.
      best_idx := NULL; best_v := NULL; best_s := NULL; other := false;
      FOR r IN SELECT l.pool AS p, l.idx AS ix, l.valid_until AS vu, l.state AS s FROM pool_leases l
          WHERE l.duid = d AND l.iaid = ia AND l.type = o.t AND l.state <> 'declined' LOOP
        IF r.p = pl THEN
          IF best_idx IS NULL OR r.vu > best_v THEN
            best_idx := r.ix; best_v := r.vu; best_s := r.s;
          END IF;
        ELSIF r.s = 'assigned' AND r.vu > nw THEN
          other := true;
        END IF;
      END LOOP;
      IF other AND o.yl AND NOT (best_idx IS NOT NULL AND best_s = 'assigned' AND best_v > nw)
      THEN
        o_else := true;
        EXIT search;
      END IF;
      IF best_idx IS NOT NULL THEN
        IF k = 'offer' THEN got := best_idx; EXIT search; END IF;
        UPDATE pool_leases l SET state = 'assigned', valid_until = v, preferred_until = pf, updated = nw
          WHERE l.pool = pl AND l.idx = best_idx AND l.duid = d AND l.iaid = ia
            AND l.state <> 'declined';
        IF FOUND THEN got := best_idx; EXIT search; END IF;
      END IF;
      -- The slots the client named, when free.
      FOREACH x IN ARRAY named LOOP
        SELECT l.valid_until INTO slot_v FROM pool_leases l WHERE l.pool = pl AND l.idx = x;
        IF NOT FOUND THEN
          IF k = 'offer' THEN got := x; EXIT search; END IF;
          INSERT INTO pool_leases (pool, idx, type, resource, duid, iaid, state, valid_until,
              preferred_until, updated)
            VALUES (pl, x, o.t, dhcpkit_ipv6_text(o.bs + x * o.sp) || o.sx,
              d, ia, 'assigned', v, pf, nw)
            ON CONFLICT DO NOTHING;
          IF FOUND THEN got := x; EXIT search; END IF;
        ELSIF slot_v <= nw THEN
          IF k = 'offer' THEN got := x; EXIT search; END IF;
          UPDATE pool_leases l SET duid = d, iaid = ia, state = 'assigned', valid_until = v,
              preferred_until = pf, updated = nw
            WHERE l.pool = pl AND l.idx = x AND l.valid_until <= nw;
          IF FOUND THEN got := x; EXIT search; END IF;
        END IF;
      END LOOP;
      -- A never-used slot: from the client's start to the end, then from the first slot.
      fresh := NULL;
      FOR range_no IN 1..2 LOOP
        IF range_no = 1 THEN lo := o.st; hi := o.sz;
        ELSE lo := o.fs; hi := o.st;
        END IF;
        CONTINUE WHEN lo >= hi;
        PERFORM 1 FROM pool_leases l WHERE l.pool = pl AND l.idx = lo;
        IF NOT FOUND THEN fresh := lo; EXIT; END IF;
        SELECT l.idx + 1 INTO fresh FROM pool_leases l
          WHERE l.pool = pl AND l.idx >= lo AND l.idx + 1 < hi
            AND NOT EXISTS (SELECT 1 FROM pool_leases m WHERE m.pool = pl AND m.idx = l.idx + 1)
          ORDER BY l.idx LIMIT 1;
        EXIT WHEN fresh IS NOT NULL;
      END LOOP;
      IF fresh IS NOT NULL THEN
        IF k = 'offer' THEN got := fresh; EXIT search; END IF;
        INSERT INTO pool_leases (pool, idx, type, resource, duid, iaid, state, valid_until,
            preferred_until, updated)
          VALUES (pl, fresh, o.t,
            dhcpkit_ipv6_text(o.bs + fresh * o.sp) || o.sx,
            d, ia, 'assigned', v, pf, nw)
          ON CONFLICT DO NOTHING;
        IF FOUND THEN got := fresh; EXIT search; END IF;
        CONTINUE search;
      END IF;
      -- The slot expired longest ago.
      SELECT l.idx INTO old FROM pool_leases l WHERE l.pool = pl AND l.valid_until <= nw
        ORDER BY l.valid_until, l.idx LIMIT 1;
      EXIT search WHEN old IS NULL;
      IF k = 'offer' THEN got := old; EXIT search; END IF;
      UPDATE pool_leases l SET duid = d, iaid = ia, state = 'assigned', valid_until = v,
          preferred_until = pf, updated = nw
        WHERE l.pool = pl AND l.idx = old AND l.valid_until <= nw;
      IF FOUND THEN got := old; EXIT search; END IF;
    END LOOP;
    o_idx := got;
    RETURN NEXT;
  END LOOP;
END
$fn$`;

/** The tables and functions, schema component `pools`. */
export const POOLS_SCHEMA: SchemaSpec = {
  component: "pools",
  migrations: [{
    version: 1,
    description: "pool leases and counters",
    statements: [
      `CREATE TABLE pool_leases (
  pool TEXT NOT NULL,
  idx BIGINT NOT NULL,
  type TEXT NOT NULL,
  resource TEXT NOT NULL,
  duid TEXT NOT NULL,
  iaid BIGINT NOT NULL,
  state TEXT NOT NULL,
  valid_until BIGINT NOT NULL,
  preferred_until BIGINT NOT NULL,
  updated BIGINT NOT NULL,
  PRIMARY KEY (pool, idx)
)`,
      "CREATE UNIQUE INDEX pool_leases_resource ON pool_leases (type, resource)",
      "CREATE INDEX pool_leases_client ON pool_leases (duid, iaid)",
      "CREATE INDEX pool_leases_expiry ON pool_leases (pool, valid_until)",
      "CREATE TABLE pool_counters (pool TEXT PRIMARY KEY, reclaimed BIGINT NOT NULL DEFAULT 0)",
      "CREATE TABLE pool_meta (key TEXT PRIMARY KEY, value BIGINT NOT NULL)",
    ],
  }, {
    version: 2,
    description: "lease operations of many requests in one statement",
    statements: [IPV6_TEXT, APPLY],
  }, {
    version: 3,
    description: "one client's commits in concurrent calls take turns",
    statements: [APPLY],
  }],
};
