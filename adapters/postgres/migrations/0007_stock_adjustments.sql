-- Keyed stock adjustments (`InventoryStore::adjust_once`): stock given back by a cancelled
-- order or a restocking refund, applied by the restock subscriber, which may see its event
-- more than once (the outbox delivers at least once).
--
-- * One row per applied key, inserted in the SAME transaction as the `inventory_levels`
--   update it records: `INSERT ... ON CONFLICT (id) DO NOTHING` claims the key first (a
--   concurrent application of the same key waits on the primary key for the first one's
--   transaction, then finds the row and changes nothing), then the stock row is updated.
--   A refused update (unknown SKU, below the reservations of a `deny` SKU) rolls the
--   claim back with it, so the key stays free for a retry.
-- * The SKU, location and delta are kept to refuse a key reused for another adjustment.
-- * Rows are kept for good: a dead outbox entry may be redelivered by hand at any time.
--   A row is a few dozen bytes per restocked SKU per event.
-- * The lock order of stock changes (see `PgInventory`) is unchanged: an adjustment locks
--   its own key row, which no other transaction locks, then one stock row.
CREATE TABLE stock_adjustments (
    id          uuid        NOT NULL CONSTRAINT stock_adjustments_pkey PRIMARY KEY,
    sku         text        NOT NULL,
    location    text        NOT NULL,
    delta       bigint      NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
);
