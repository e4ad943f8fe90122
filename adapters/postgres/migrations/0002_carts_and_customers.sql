-- Carts and customers.
--
-- * Both are stored as their serde JSON (`body`, the truth read back) plus the columns
--   their lookups and rules need. `version` is the optimistic-concurrency counter: every
--   write is `UPDATE ... WHERE id = $1 AND version = $2`, so of two writers from one
--   version exactly one wins and the other gets `VersionConflict` (no lost update).
-- * Cart expiry is a column so every read filters on `expires_at` in SQL; the adapter
--   re-checks with `Cart::is_expired` (timestamptz has microseconds, the domain
--   nanoseconds).
-- * The guest cart token is unique (`carts_token_key`). It is a bearer secret kept in
--   clear because `get` by id must return it; protect the database accordingly.
-- * Customer emails are unique ignoring letter case. The key (`email_key`) is the address
--   lower-cased by the adapter (Rust's `to_lowercase`, as the in-memory adapter does), so
--   the rule does not depend on the database collation; `customers_email_key` is the
--   constraint the adapter maps to `AlreadyExists`.

CREATE TABLE carts (
    id           uuid        NOT NULL CONSTRAINT carts_pkey PRIMARY KEY,
    token        text        NOT NULL CONSTRAINT carts_token_key UNIQUE,
    customer_id  uuid,
    status       text        NOT NULL CHECK (status IN ('open', 'checked_out', 'merged')),
    updated_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    version      bigint      NOT NULL CHECK (version >= 1),
    body         jsonb       NOT NULL
);

-- `open_cart_of`: the customer's most recently updated open cart.
CREATE INDEX carts_open_by_customer ON carts (customer_id, updated_at DESC) WHERE status = 'open';
-- The abandoned-cart sweep: open carts untouched since a cutoff.
CREATE INDEX carts_open_by_update ON carts (updated_at) WHERE status = 'open';

CREATE TABLE customers (
    id          uuid        NOT NULL CONSTRAINT customers_pkey PRIMARY KEY,
    email_key   text        NOT NULL CONSTRAINT customers_email_key UNIQUE,
    version     bigint      NOT NULL CHECK (version >= 1),
    created_at  timestamptz NOT NULL,
    body        jsonb       NOT NULL
);
