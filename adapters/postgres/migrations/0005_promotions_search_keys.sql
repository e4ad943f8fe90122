-- Promotions and pricing settings, the full-text product search index, and the store's
-- own secrets.
--
-- Promotions
-- * The promotion is stored as its serde JSON (`body`) plus what queries and rules need.
--   Coupon codes are unique among promotions (`promotions_coupon_key`; codes are upper-cased
--   by the domain, so equality is the rule).
-- * Usage: `promotion_redemptions` holds one row per (promotion, order), so redeeming
--   again for an order is a no-op; `redeemed` counts them and is raised with
--   `UPDATE ... SET redeemed = redeemed + 1 WHERE used_before + redeemed < usage_limit`,
--   which PostgreSQL re-evaluates on the latest row under its row lock: with a limit of n,
--   exactly n concurrent redemptions succeed. `used_before` is the `times_used` a
--   promotion was created with (uses counted elsewhere), kept across edits.
-- * Pricing settings are one row of JSON (`id` is always true).
--
-- Search
-- * The index is its own table, fed with `SearchDocument`s by the catalog's search sync
--   subscriber (the port's contract: `index` takes a document, not a product).
-- * Full-text search: a generated `tsvector` with weights (title A, description B,
--   SKUs C) over the `simple` configuration (lower-cased words, no stemming, no stop
--   words: every word of a query must match a word of the document, in any language the
--   catalog is written in), a GIN index, and `websearch_to_tsquery` for the query text.
-- * An exact SKU matches its product (`sku_keys`, lower-cased SKUs, GIN).
-- * Attribute filters use normalised terms (`colour=red`, `size_eu#42`) computed by the
--   adapter with the in-memory adapter's rules (case-insensitive text, numbers by value),
--   answered by GIN; facets count the raw values kept in `attributes`.
-- * Lowest price per currency is JSON (`{"USD": "19.99"}`), compared as numeric.
-- * Only active documents are ever searched: the indexes are partial on `status`.
--
-- Store keys
-- * The HMAC key that signs pagination cursors lives in the database, so every instance
--   of a shop (and every restart) accepts the cursors any other handed out. It is drawn
--   from PostgreSQL's CSPRNG (`gen_random_uuid`, two v4 UUIDs: 244 random bits).

CREATE TABLE promotions (
    id           uuid    NOT NULL CONSTRAINT promotions_pkey PRIMARY KEY,
    coupon       text    CONSTRAINT promotions_coupon_key UNIQUE,
    priority     integer NOT NULL,
    usage_limit  bigint  CHECK (usage_limit >= 0),
    used_before  bigint  NOT NULL CHECK (used_before >= 0),
    redeemed     bigint  NOT NULL CHECK (redeemed >= 0),
    body         jsonb   NOT NULL
);

-- `all`: by priority (highest first) then id.
CREATE INDEX promotions_by_priority ON promotions (priority DESC, id);

CREATE TABLE promotion_redemptions (
    promotion_id  uuid NOT NULL
                  CONSTRAINT promotion_redemptions_promotion_fkey REFERENCES promotions (id) ON DELETE CASCADE,
    order_id      uuid NOT NULL,
    CONSTRAINT promotion_redemptions_pkey PRIMARY KEY (promotion_id, order_id)
);

CREATE TABLE pricing_settings (
    id    boolean NOT NULL DEFAULT true CONSTRAINT pricing_settings_pkey PRIMARY KEY CHECK (id),
    body  jsonb   NOT NULL
);

CREATE TABLE search_documents (
    product_id       uuid    NOT NULL CONSTRAINT search_documents_pkey PRIMARY KEY,
    status           text    NOT NULL,
    title            text    NOT NULL,
    -- The title lower-cased by the adapter: the title sort, in code point order.
    title_key        text    NOT NULL,
    description      text    NOT NULL,
    categories       text[]  NOT NULL,
    -- {"colour": ["red", "blue"]}: the values facets count.
    attributes       jsonb   NOT NULL,
    attribute_terms  text[]  NOT NULL,
    -- The SKUs separated by spaces (array_to_string is not immutable, a generated column
    -- needs an immutable expression).
    sku_text         text    NOT NULL,
    sku_keys         text[]  NOT NULL,
    prices           jsonb   NOT NULL,
    tsv              tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple'::regconfig, title), 'A')
        || setweight(to_tsvector('simple'::regconfig, description), 'B')
        || setweight(to_tsvector('simple'::regconfig, sku_text), 'C')
    ) STORED
);

CREATE INDEX search_documents_tsv ON search_documents USING gin (tsv) WHERE status = 'active';
CREATE INDEX search_documents_skus ON search_documents USING gin (sku_keys) WHERE status = 'active';
CREATE INDEX search_documents_categories ON search_documents USING gin (categories) WHERE status = 'active';
CREATE INDEX search_documents_attribute_terms ON search_documents USING gin (attribute_terms) WHERE status = 'active';

CREATE TABLE store_keys (
    name    text  NOT NULL CONSTRAINT store_keys_pkey PRIMARY KEY,
    secret  bytea NOT NULL CHECK (length(secret) >= 32)
);

INSERT INTO store_keys (name, secret)
VALUES ('cursor', decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'));
