-- Where running checkouts got to (`CheckoutJournal`): one row per checkout, saved after each
-- step that takes something, deleted when the checkout ends. Rows left behind by a crash are
-- found by age and settled by `CheckoutService::recover`.
CREATE TABLE checkout_journal (
    order_id    uuid        PRIMARY KEY,
    updated_at  timestamptz NOT NULL,
    -- The whole `CheckoutProgress`: read and written as one document, never queried inside.
    progress    jsonb       NOT NULL
);

-- `stale`: the oldest rows first.
CREATE INDEX checkout_journal_by_age ON checkout_journal (updated_at);
