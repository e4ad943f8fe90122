#!/usr/bin/env bash
# The storage ceiling of checkout on PostgreSQL (issue 4).
#
# pgbench replays, as ONE pgbench transaction, the statements one checkout of
# `CheckoutService` issues through the PostgreSQL adapters (adapters/postgres/src), with
# the same tables, indexes and triggers, the same parameters (JSON bodies and arrays taken
# from an order a real checkout placed), the same hot stock rows, in prepared mode (like
# sqlx's statement cache), on loopback. What pgbench reaches is what the database can do
# for that work: the checkout's ceiling at the same client count.
#
# One checkout, in saga order (23 statements, 3 transactions):
#   1. idempotency begin       INSERT ... ON CONFLICT (scope, key) DO UPDATE ... WHERE <lapsed>
#   2. cart                    SELECT body, version FROM carts WHERE id AND expires_at >= now
#   3. pricing                 products with their variants by SKU (one statement),
#                              every promotion, the pricing settings
#   4. reserve (transaction)   BEGIN; claim the reservation id; lock the stock rows in SKU
#                              order; hold every line + record the lines (one statement); COMMIT
#   5. commit the reservation  BEGIN; lock the reservation (+ its lines); lock its stock rows;
#      (transaction)           take the units off the shelf + close it (one statement); COMMIT
#   6. order (transaction)     BEGIN; order row (JSON body); projections (lines, history,
#                              payment, refunds: one statement); outbox event; COMMIT
#   7. close the cart          SELECT the cart again; UPDATE carts ... body (checked out)
#   8. idempotency complete    UPDATE idempotency_keys SET state = 'completed' ...
# Left out: the fake payment gateway (in memory, no SQL), the pool's ping before each
# checkout of a connection (a client-side choice, `PgConfig::ping_before_use`), and the
# cart update's `AND version = $2` (a check on the row the primary key already found).
#
#   PG_URL=postgres://postgres@127.0.0.1:5432/test SCHEMA=bench_x CLIENTS=32 \
#     TRANSACTIONS=3000 benches/pg_ceiling.sh
#
# Settings (environment):
#   PG_URL        the database (default postgres://postgres@127.0.0.1:5432/test)
#   SCHEMA        required: a schema migrated by `PgStore::migrate` that holds at least one
#                 order placed by a real checkout (benches/postgres_redis.rs prepares one
#                 and calls this script). Its rows are the samples; the script WRITES into
#                 it (carts, reservations, orders, outbox and idempotency keys, ids derived
#                 from `pgb-...`): use a throwaway schema.
#   CLIENTS       pgbench clients = connections (default 1)
#   TRANSACTIONS  checkouts in all, split evenly over the clients (default 1000)
#   JOBS          pgbench threads (default: CLIENTS, at most 2)
#   TIMEOUT       seconds pgbench may run at most (default 300)
#
# Prints pgbench's report, then, as its last line:
#   pg_ceiling clients=C transactions=N tps=X latency_ms=Y
# Exits 1 when a sample is missing, pgbench is not installed or a transaction failed.

set -euo pipefail

PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}
SCHEMA=${SCHEMA:?set SCHEMA to a migrated schema holding an order placed by a checkout}
CLIENTS=${CLIENTS:-1}
TRANSACTIONS=${TRANSACTIONS:-1000}
JOBS=${JOBS:-$((CLIENTS < 2 ? CLIENTS : 2))}
TIMEOUT=${TIMEOUT:-300}
PER_CLIENT=$(((TRANSACTIONS + CLIENTS - 1) / CLIENTS))
RUN=$(date +%s%N)-$$

die() {
  printf 'pg_ceiling: %s\n' "$*" >&2
  exit 1
}

command -v pgbench >/dev/null || die "pgbench is missing: apt-get install -y postgresql-contrib"
command -v psql >/dev/null || die "psql is missing: apt-get install -y postgresql-client"
[[ $SCHEMA =~ ^[a-z_][a-z0-9_]{0,62}$ ]] || die "SCHEMA must be a plain lowercase identifier"

export PGOPTIONS="-c search_path=$SCHEMA -c client_min_messages=warning"

# One value from the schema (psql: unaligned, tuples only, stop on error).
q() {
  psql "$PG_URL" -XtAq -v ON_ERROR_STOP=1 -c "$1"
}

# --- The samples: the newest order a real checkout placed, its cart and its event. -----
ORDER_ID=$(q "SELECT id FROM orders ORDER BY placed_at DESC, id LIMIT 1")
[ -n "$ORDER_ID" ] || die "schema $SCHEMA holds no order: run one real checkout first"
where="WHERE order_id = '$ORDER_ID'"
lines() { q "SELECT COALESCE(array_agg($1 ORDER BY position), '{}')::text FROM order_lines $where"; }
history() { q "SELECT COALESCE(array_agg($1 ORDER BY seq), '{}')::text FROM order_status_history $where"; }
payment() { q "SELECT $1 FROM payments $where"; }

DEFINES=(
  -D "run=$RUN"
  -D "carts=$TRANSACTIONS"
  -D "location=$(q "SELECT location FROM reservations ORDER BY expires_at DESC LIMIT 1")"
  -D "fingerprint=$(q "SELECT fingerprint FROM idempotency_keys WHERE scope = 'checkout' LIMIT 1")"
  -D "status=$(q "SELECT status FROM orders WHERE id = '$ORDER_ID'")"
  -D "order_body=$(q "SELECT body::text FROM orders WHERE id = '$ORDER_ID'")"
  -D "cart_body=$(q "SELECT body::text FROM carts WHERE status = 'checked_out' ORDER BY updated_at DESC LIMIT 1")"
  -D "result=order:$ORDER_ID"
  -D "closed=committed"
  -D "skus=$(lines sku)"
  -D "quantities=$(lines quantity)"
  -D "positions=$(lines position)"
  -D "line_ids=$(lines line_id)"
  -D "product_ids=$(lines product_id)"
  -D "titles=$(lines title)"
  -D "currency=$(q "SELECT currency FROM order_lines $where LIMIT 1")"
  -D "unit_prices=$(lines unit_price)"
  -D "subtotals=$(lines subtotal)"
  -D "discounts=$(lines discount)"
  -D "taxes=$(lines tax)"
  -D "totals=$(lines total)"
  -D "fulfilled=$(lines fulfilled)"
  -D "refunded=$(lines refunded)"
  -D "history_seq=$(history seq)"
  -D "history_from=$(history from_status)"
  -D "history_to=$(history to_status)"
  -D "history_at=$(history at)"
  -D "history_note=$(history note)"
  -D "pay_reference=$(payment reference)"
  -D "pay_authorized=$(payment authorized)"
  -D "pay_captured=$(payment captured)"
  -D "pay_refunded=$(payment refunded)"
  -D "pay_voided=$(payment voided)"
  -D "event_kinds=$(q "SELECT ARRAY[kind]::text FROM outbox ORDER BY occurred_at DESC, seq DESC LIMIT 1")"
  -D "event_payloads=$(q "SELECT ARRAY[payload]::text FROM outbox ORDER BY occurred_at DESC, seq DESC LIMIT 1")"
)
for define in "${DEFINES[@]}"; do
  [ "$define" = -D ] && continue
  [ -n "${define#*=}" ] || die "sample ${define%%=*} is empty in schema $SCHEMA"
done

# One open cart per checkout, copies of the sample's (distinct rows, like real carts).
q "INSERT INTO carts (id, token, customer_id, status, updated_at, expires_at, version, body)
   SELECT md5('pgb-cart-$RUN-' || n)::uuid, 'pgb-token-$RUN-' || n, NULL, 'open', now(),
          now() + interval '1 day', 1, s.body
   FROM generate_series(1, $TRANSACTIONS) AS n,
        (SELECT body FROM carts WHERE status = 'checked_out' ORDER BY updated_at DESC LIMIT 1) AS s"

SCRIPT=$(mktemp "${TMPDIR:-/tmp}/pg_ceiling.XXXXXX.sql")
trap 'rm -f "$SCRIPT"' EXIT
# The statements, as adapters/postgres/src writes them ($n parameters become :variables).
cat >"$SCRIPT" <<'SQL'
\set k random(1, 9223372036854775806)
\set cart random(1, :carts)
-- 1. idempotency.rs `begin`
INSERT INTO idempotency_keys AS k (scope, key, fingerprint, state, lease_until, result, expires_at)
VALUES ('checkout', 'pgb-' || :k, :fingerprint, 'started', now() + interval '30 seconds', NULL, NULL)
ON CONFLICT (scope, key) DO UPDATE
SET fingerprint = EXCLUDED.fingerprint, state = 'started',
    lease_until = EXCLUDED.lease_until, result = NULL, expires_at = NULL
WHERE (k.state = 'completed' AND k.expires_at <= now())
   OR (k.state = 'started' AND k.lease_until <= now() AND k.fingerprint = EXCLUDED.fingerprint);
-- 2. carts.rs `get`
SELECT body, version FROM carts
WHERE id = md5('pgb-cart-' || :run || '-' || :cart)::uuid AND expires_at >= now();
-- 3. catalog.rs `by_skus`, promotions.rs `all` and `settings`
SELECT p.id, p.body || jsonb_build_object('version', p.version, 'variants', COALESCE(v.variants, '[]'::jsonb)) AS product
FROM products p
LEFT JOIN LATERAL (
    SELECT jsonb_agg(x.body ORDER BY x.position) AS variants FROM variants x WHERE x.product_id = p.id
) v ON true
WHERE p.id IN (SELECT product_id FROM variants WHERE sku = ANY(CAST(:skus AS text[]))) ORDER BY p.id;
SELECT body, used_before + redeemed AS used FROM promotions ORDER BY priority DESC, id;
SELECT body FROM pricing_settings WHERE id;
-- 4. inventory.rs `reserve`
BEGIN;
INSERT INTO reservations (id, location, status, expires_at)
VALUES (md5('pgb-r-' || :k)::uuid, :location, 'active', now() + interval '15 minutes')
ON CONFLICT (id) DO NOTHING;
SELECT sku, location, on_hand, reserved, backorder, backorder_allowance
FROM inventory_levels
WHERE location = :location AND sku = ANY(CAST(:skus AS text[]))
ORDER BY sku COLLATE "C", location COLLATE "C"
FOR UPDATE;
WITH held AS (
    UPDATE inventory_levels i SET reserved = i.reserved + r.quantity
    FROM unnest(CAST(:skus AS text[]), CAST(:quantities AS int8[])) AS r(sku, quantity)
    WHERE i.location = :location AND i.sku = r.sku
    RETURNING i.sku
),
lines AS (
    INSERT INTO reservation_lines (reservation_id, position, sku, quantity)
    SELECT md5('pgb-r-' || :k)::uuid, r.position, r.sku, r.quantity
    FROM unnest(CAST(:skus AS text[]), CAST(:quantities AS int8[]), CAST(:positions AS int4[]))
         AS r(sku, quantity, position)
)
SELECT count(*) FROM held;
COMMIT;
-- 5. inventory.rs `commit` (finish_once + close)
BEGIN;
SELECT r.id, r.location, r.status, r.expires_at,
       ARRAY(SELECT l.sku FROM reservation_lines l WHERE l.reservation_id = r.id ORDER BY l.position) AS skus,
       ARRAY(SELECT l.quantity FROM reservation_lines l WHERE l.reservation_id = r.id ORDER BY l.position) AS quantities
FROM reservations r WHERE r.id = md5('pgb-r-' || :k)::uuid FOR UPDATE OF r;
SELECT 1 FROM inventory_levels i
WHERE (i.sku, i.location) IN (
    SELECT l.sku, r.location FROM reservation_lines l JOIN reservations r ON r.id = l.reservation_id
    WHERE r.id = ANY(ARRAY[md5('pgb-r-' || :k)::uuid]))
ORDER BY i.sku COLLATE "C", i.location COLLATE "C"
FOR UPDATE OF i;
WITH held AS (
    SELECT l.sku, r.location, sum(l.quantity) AS quantity
    FROM reservation_lines l JOIN reservations r ON r.id = l.reservation_id
    WHERE r.id = ANY(ARRAY[md5('pgb-r-' || :k)::uuid])
    GROUP BY l.sku, r.location
),
stock AS (
    UPDATE inventory_levels i
    SET reserved = i.reserved - held.quantity,
        on_hand = i.on_hand - CASE WHEN :closed = 'committed' THEN held.quantity ELSE 0 END
    FROM held
    WHERE i.sku = held.sku AND i.location = held.location
)
UPDATE reservations SET status = :closed WHERE id = ANY(ARRAY[md5('pgb-r-' || :k)::uuid]);
COMMIT;
-- 6. orders.rs `insert` (insert_once + write_projections + outbox.rs append_in)
BEGIN;
INSERT INTO orders (id, customer_id, status, placed_at, version, body)
VALUES (md5('pgb-o-' || :k)::uuid, NULL, :status, now(), 1, CAST(:order_body AS jsonb));
WITH lines AS (
    INSERT INTO order_lines (order_id, line_id, position, product_id, sku, title, quantity, currency,
                             unit_price, subtotal, discount, tax, total, fulfilled, refunded)
    SELECT md5('pgb-o-' || :k)::uuid, l.line_id, l.position, l.product_id, l.sku, l.title, l.quantity, :currency,
           l.unit_price, l.subtotal, l.discount, l.tax, l.total, l.fulfilled, l.refunded
    FROM unnest(CAST(:line_ids AS uuid[]), CAST(:positions AS int4[]), CAST(:product_ids AS uuid[]),
                CAST(:skus AS text[]), CAST(:titles AS text[]), CAST(:quantities AS int8[]),
                CAST(:unit_prices AS numeric[]), CAST(:subtotals AS numeric[]), CAST(:discounts AS numeric[]),
                CAST(:taxes AS numeric[]), CAST(:totals AS numeric[]),
                CAST(:fulfilled AS int8[]), CAST(:refunded AS int8[]))
         AS l(line_id, position, product_id, sku, title, quantity, unit_price, subtotal,
              discount, tax, total, fulfilled, refunded)
    ON CONFLICT (order_id, line_id) DO UPDATE
    SET fulfilled = EXCLUDED.fulfilled, refunded = EXCLUDED.refunded
),
history AS (
    INSERT INTO order_status_history (order_id, seq, from_status, to_status, at, note)
    SELECT md5('pgb-o-' || :k)::uuid, h.seq, h.from_status, h.to_status, h.at, h.note
    FROM unnest(CAST(:history_seq AS int4[]), CAST(:history_from AS text[]), CAST(:history_to AS text[]),
                CAST(:history_at AS timestamptz[]), CAST(:history_note AS text[]))
         AS h(seq, from_status, to_status, at, note)
    ON CONFLICT (order_id, seq) DO NOTHING
),
payment AS (
    INSERT INTO payments (order_id, reference, currency, authorized, captured, refunded, voided)
    VALUES (md5('pgb-o-' || :k)::uuid, :pay_reference, :currency, CAST(:pay_authorized AS numeric),
            CAST(:pay_captured AS numeric), CAST(:pay_refunded AS numeric), CAST(:pay_voided AS bool))
    ON CONFLICT (order_id) DO UPDATE
    SET reference = EXCLUDED.reference, authorized = EXCLUDED.authorized,
        captured = EXCLUDED.captured, refunded = EXCLUDED.refunded, voided = EXCLUDED.voided
),
refunds AS (
    INSERT INTO refunds (id, order_id, status, currency, amount, restock, gateway_reference,
                         requested_at, updated_at)
    SELECT r.id, md5('pgb-o-' || :k)::uuid, r.status, :currency, r.amount, r.restock, r.gateway_reference,
           r.requested_at, r.updated_at
    FROM unnest(CAST('{}' AS uuid[]), CAST('{}' AS text[]), CAST('{}' AS numeric[]), CAST('{}' AS bool[]),
                CAST('{}' AS text[]), CAST('{}' AS timestamptz[]), CAST('{}' AS timestamptz[]))
         AS r(id, status, amount, restock, gateway_reference, requested_at, updated_at)
    ON CONFLICT (id) DO UPDATE
    SET status = EXCLUDED.status, amount = EXCLUDED.amount, restock = EXCLUDED.restock,
        gateway_reference = EXCLUDED.gateway_reference, updated_at = EXCLUDED.updated_at
    WHERE refunds.order_id = EXCLUDED.order_id
    RETURNING id
)
SELECT count(*) FROM refunds;
INSERT INTO outbox (id, kind, occurred_at, status, attempts, next_attempt_at, delivered_to, last_error, payload)
SELECT e.id, e.kind, e.occurred_at, 'pending', 0, e.occurred_at, '{}', NULL, e.payload
FROM unnest(ARRAY[md5('pgb-e-' || :k)::uuid], CAST(:event_kinds AS text[]), ARRAY[now()],
            CAST(:event_payloads AS jsonb[])) WITH ORDINALITY
     AS e(id, kind, occurred_at, payload, n)
ORDER BY e.n
ON CONFLICT (id) DO NOTHING;
COMMIT;
-- 7. carts.rs `get` + `save` (close the cart)
SELECT body, version FROM carts
WHERE id = md5('pgb-cart-' || :run || '-' || :cart)::uuid AND expires_at >= now();
UPDATE carts
SET token = token, customer_id = NULL, status = 'checked_out', updated_at = now(),
    expires_at = now() + interval '1 day', version = version + 1, body = CAST(:cart_body AS jsonb)
WHERE id = md5('pgb-cart-' || :run || '-' || :cart)::uuid
RETURNING version;
-- 8. idempotency.rs `complete`
UPDATE idempotency_keys
SET state = 'completed', result = :result, expires_at = now() + interval '24 hours', lease_until = NULL
WHERE scope = 'checkout' AND key = 'pgb-' || :k AND state = 'started';
SQL

# What one checkout writes, counted before and after: every replayed checkout must have
# written it all (an order, its outbox event, a committed reservation, a completed key).
written() {
  q "SELECT (SELECT count(*) FROM orders) || ' ' || (SELECT count(*) FROM outbox) || ' '
         || (SELECT count(*) FROM reservations WHERE status = 'committed') || ' '
         || (SELECT count(*) FROM idempotency_keys WHERE key LIKE 'pgb-%' AND state = 'completed')"
}
read -r ORDERS0 EVENTS0 COMMITTED0 KEYS0 <<<"$(written)"

status=0
OUT=$(timeout "$TIMEOUT" pgbench -n -M prepared -c "$CLIENTS" -j "$JOBS" -t "$PER_CLIENT" \
  -f "$SCRIPT" "${DEFINES[@]}" "$PG_URL" 2>&1) || status=$?
printf '%s\n' "$OUT"
[ "$status" = 0 ] || die "pgbench failed (exit $status)"
DONE=$(sed -n 's/^number of transactions actually processed: \([0-9]*\)\/.*/\1/p' <<<"$OUT")
TPS=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$OUT" | tail -n1)
LATENCY=$(sed -n 's/^latency average = \([0-9.]*\) ms.*/\1/p' <<<"$OUT")
[ "$DONE" = $((PER_CLIENT * CLIENTS)) ] || die "only ${DONE:-0} of $((PER_CLIENT * CLIENTS)) transactions ran"
[ -n "$TPS" ] || die "no tps in pgbench's report"
read -r ORDERS1 EVENTS1 COMMITTED1 KEYS1 <<<"$(written)"
for counted in "orders $ORDERS0 $ORDERS1" "outbox $EVENTS0 $EVENTS1" \
  "committed-reservations $COMMITTED0 $COMMITTED1" "completed-keys $KEYS0 $KEYS1"; do
  read -r what before after <<<"$counted"
  [ $((after - before)) = "$DONE" ] || die "$what grew by $((after - before)), not $DONE"
done
echo "pg_ceiling clients=$CLIENTS transactions=$DONE tps=$TPS latency_ms=${LATENCY:-?}"
