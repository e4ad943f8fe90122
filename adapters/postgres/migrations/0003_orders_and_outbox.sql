-- Orders (with their refunds and payment) and the outbox their events go to.
--
-- * The order aggregate, refunds included, is stored as its serde JSON (`orders.body`,
--   the truth read back) with the columns listings filter and sort on. `version` guards
--   every change (`UPDATE ... WHERE id = $1 AND version = $2`): refunds live inside the
--   order, so two concurrent refunds cannot both pass "never more than captured".
-- * `order_lines`, `order_status_history`, `refunds` and `payments` are relational
--   projections of the aggregate, written in the SAME transaction as the order row, for
--   the back office, accounting and ad-hoc SQL (what sold, who refunded what, which
--   gateway payment pays which order). The adapter never rebuilds an order from them.
--   `refunds_pkey` also makes a refund id unique across orders, and `by_refund` is an
--   index lookup instead of a JSON scan.
-- * The outbox row of every event is written in the same transaction as the change it
--   records (order insert/update, customer registration): both or neither, even if the
--   process or the connection dies mid-way.
-- * Outbox delivery state is the store's: `claim_due` takes due rows oldest first with
--   `FOR UPDATE SKIP LOCKED`, so several dispatchers never take the same row, and leases
--   them (`in_flight` until `next_attempt_at`). The partial index holds only undelivered
--   rows, so it stays small however long the delivered log grows.
-- * `seq` (an identity) orders events that occurred at the same instant, in append order.

CREATE TABLE orders (
    id           uuid        NOT NULL CONSTRAINT orders_pkey PRIMARY KEY,
    customer_id  uuid,
    status       text        NOT NULL,
    placed_at    timestamptz NOT NULL,
    version      bigint      NOT NULL CHECK (version >= 1),
    body         jsonb       NOT NULL
);

-- Listings: newest first (placed_at DESC, id), optionally one customer's or one status.
CREATE INDEX orders_newest ON orders (placed_at DESC, id);
CREATE INDEX orders_by_customer ON orders (customer_id, placed_at DESC, id) WHERE customer_id IS NOT NULL;
CREATE INDEX orders_by_status ON orders (status, placed_at DESC, id);

CREATE TABLE order_lines (
    order_id    uuid    NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    line_id     uuid    NOT NULL,
    position    integer NOT NULL,
    product_id  uuid    NOT NULL,
    sku         text    NOT NULL,
    title       text    NOT NULL,
    quantity    bigint  NOT NULL CHECK (quantity > 0),
    currency    text    NOT NULL,
    -- Money is exact: numeric, never float.
    unit_price  numeric NOT NULL,
    subtotal    numeric NOT NULL,
    discount    numeric NOT NULL,
    tax         numeric NOT NULL,
    total       numeric NOT NULL,
    fulfilled   bigint  NOT NULL,
    refunded    bigint  NOT NULL,
    CONSTRAINT order_lines_pkey PRIMARY KEY (order_id, line_id)
);

CREATE INDEX order_lines_sku ON order_lines (sku);

-- The status history shown to the customer; append-only (entry `seq` of an order never
-- changes once written).
CREATE TABLE order_status_history (
    order_id     uuid        NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    seq          integer     NOT NULL,
    from_status  text,
    to_status    text        NOT NULL,
    at           timestamptz NOT NULL,
    note         text,
    CONSTRAINT order_status_history_pkey PRIMARY KEY (order_id, seq)
);

CREATE TABLE refunds (
    id                 uuid        NOT NULL CONSTRAINT refunds_pkey PRIMARY KEY,
    order_id           uuid        NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    status             text        NOT NULL,
    currency           text        NOT NULL,
    amount             numeric     NOT NULL,
    restock            boolean     NOT NULL,
    gateway_reference  text,
    requested_at       timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL
);

CREATE INDEX refunds_by_order ON refunds (order_id);

CREATE TABLE payments (
    order_id    uuid    NOT NULL CONSTRAINT payments_pkey PRIMARY KEY REFERENCES orders (id) ON DELETE CASCADE,
    -- The gateway's reference (a PaymentIntent id): webhooks look payments up by it.
    reference   text    NOT NULL,
    currency    text    NOT NULL,
    authorized  numeric NOT NULL,
    captured    numeric NOT NULL,
    refunded    numeric NOT NULL,
    voided      boolean NOT NULL
);

CREATE INDEX payments_by_reference ON payments (reference);

CREATE TABLE outbox (
    id               uuid        NOT NULL CONSTRAINT outbox_pkey PRIMARY KEY,
    seq              bigint      NOT NULL GENERATED ALWAYS AS IDENTITY,
    kind             text        NOT NULL,
    occurred_at      timestamptz NOT NULL,
    status           text        NOT NULL CHECK (status IN ('pending', 'in_flight', 'delivered', 'dead')),
    attempts         integer     NOT NULL CHECK (attempts >= 0),
    -- Pending: when the next attempt is due. In flight: when the claim's lease ends.
    next_attempt_at  timestamptz NOT NULL,
    delivered_to     text[]      NOT NULL,
    last_error       text,
    -- The event envelope as the domain serializes it (id, occurred_at, event).
    payload          jsonb       NOT NULL
);

-- What `claim_due` scans: undelivered rows, oldest first.
CREATE INDEX outbox_undelivered ON outbox (occurred_at, seq) WHERE status IN ('pending', 'in_flight');
-- The event log, newest first.
CREATE INDEX outbox_log ON outbox (occurred_at DESC, seq DESC);
