-- Inventory (stock levels and reservations) and idempotency records.
--
-- Inventory
-- * One row per SKU and location. `backorder_allowance` is how many units may be reserved
--   beyond `on_hand`: 0 for `deny`, the limit for `allow` with a limit, NULL for unlimited.
-- * Never oversell: `reserve` locks the SKUs' rows in SKU order (`SELECT ... ORDER BY sku
--   FOR UPDATE`: one global lock order, so concurrent multi-SKU reservations cannot
--   deadlock), checks every line against the locked rows and only then raises `reserved`,
--   all in one transaction (all lines or none).
-- * The database enforces the rule itself as well: a trigger refuses any change that
--   RAISES `reserved` past `on_hand + backorder_allowance` (constraint name
--   `inventory_levels_no_oversell`). It is a trigger and not a CHECK because a stock count
--   (`set_stock`) may legitimately record fewer units than are already held (the units
--   were found broken): the holds stay, nothing more can be reserved until stock comes in.
--   A CHECK would refuse that count; the trigger refuses only the oversell.
-- * `reserved` never goes negative (CHECK).
-- * Reservations are rows with their lines; active ones are indexed by expiry for
--   `release_expired`, so a crash between reserve and order leaks no stock for longer
--   than the reservation's lifetime.
--
-- Idempotency
-- * One row per (scope, key). `begin` is a single `INSERT ... ON CONFLICT DO UPDATE ...
--   WHERE <the record may be taken over>`: of any number of concurrent callers exactly
--   one inserts (or takes over an expired lease / an expired result); the others read
--   the row and answer in progress, completed or mismatch.

CREATE TABLE inventory_levels (
    sku                  text   NOT NULL,
    location             text   NOT NULL,
    on_hand              bigint NOT NULL,
    reserved             bigint NOT NULL CONSTRAINT inventory_levels_reserved_check CHECK (reserved >= 0),
    backorder            text   NOT NULL CHECK (backorder IN ('deny', 'allow')),
    backorder_allowance  bigint CHECK (backorder_allowance >= 0),
    CONSTRAINT inventory_levels_pkey PRIMARY KEY (sku, location),
    CONSTRAINT inventory_levels_deny_allows_nothing CHECK (backorder = 'allow' OR backorder_allowance = 0)
);

CREATE FUNCTION inventory_levels_refuse_oversell() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'reserving % units of % at % would oversell it (% on hand, % may be backordered)',
        NEW.reserved - OLD.reserved, NEW.sku, NEW.location, NEW.on_hand, NEW.backorder_allowance
        USING ERRCODE = 'check_violation', CONSTRAINT = 'inventory_levels_no_oversell';
END
$$;

CREATE TRIGGER inventory_levels_no_oversell
    BEFORE UPDATE OF reserved ON inventory_levels
    FOR EACH ROW
    WHEN (NEW.reserved > OLD.reserved
          AND NEW.backorder_allowance IS NOT NULL
          AND NEW.reserved > NEW.on_hand + NEW.backorder_allowance)
    EXECUTE FUNCTION inventory_levels_refuse_oversell();

CREATE TABLE reservations (
    id          uuid        NOT NULL CONSTRAINT reservations_pkey PRIMARY KEY,
    location    text        NOT NULL,
    status      text        NOT NULL CHECK (status IN ('active', 'committed', 'released', 'expired')),
    expires_at  timestamptz NOT NULL
);

CREATE INDEX reservations_due ON reservations (expires_at) WHERE status = 'active';

CREATE TABLE reservation_lines (
    reservation_id  uuid    NOT NULL REFERENCES reservations (id) ON DELETE CASCADE,
    position        integer NOT NULL,
    sku             text    NOT NULL,
    quantity        bigint  NOT NULL CHECK (quantity > 0),
    CONSTRAINT reservation_lines_pkey PRIMARY KEY (reservation_id, sku)
);

-- `active_reservations(sku)` (back office).
CREATE INDEX reservation_lines_sku ON reservation_lines (sku);

CREATE TABLE idempotency_keys (
    scope        text        NOT NULL,
    key          text        NOT NULL,
    fingerprint  text        NOT NULL,
    state        text        NOT NULL CHECK (state IN ('started', 'completed')),
    -- Started: the owner's lease. Completed: NULL.
    lease_until  timestamptz,
    -- Completed: the result replayed until `expires_at`. Started: NULL.
    result       text,
    expires_at   timestamptz,
    CONSTRAINT idempotency_keys_pkey PRIMARY KEY (scope, key),
    CHECK ((state = 'started') = (lease_until IS NOT NULL)),
    CHECK ((state = 'completed') = (result IS NOT NULL AND expires_at IS NOT NULL))
);

-- `PgIdempotency::purge_expired`: completed records past their retention.
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at) WHERE state = 'completed';
