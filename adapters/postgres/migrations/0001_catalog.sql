-- The catalog: categories, products and their variants.
--
-- Why this shape
-- * Aggregates are stored as their serde JSON (`body`) next to the columns that queries
--   and constraints need. `body` is the truth the adapter reads back, so a product comes
--   back exactly as it was written (nanosecond timestamps included; timestamptz keeps only
--   microseconds) and the port mapping stays honest: no hand-written column <-> field
--   mapping to drift. The columns are derived from the aggregate on every write, in the
--   same statement or transaction, and never read as the aggregate.
-- * A variant is a row (`variants`), one per SKU: the primary key on `sku` is the
--   catalog-wide SKU uniqueness rule, and `by_skus` is one indexed lookup. The product
--   row's `body` holds the product without its variants; the adapter reassembles them with
--   a lateral `jsonb_agg`, so one product, a page of products or the products of a list of
--   SKUs each take ONE query (no N+1).
-- * Open attributes are JSONB (`attributes`, the domain's own typed map), so a new
--   attribute or category needs no migration. Filters do not dig through that JSON: the
--   adapter writes one normalised term per attribute value into `attribute_terms`
--   (`t:material=cotton`, `n:weight_kg=1.2`, `b:waterproof=true`), computed in Rust with
--   exactly the rules of `AttributeValue::matches`, and a filter is an overlap with the
--   terms the wanted value can match (`attribute_terms && ARRAY[...]`), answered by a GIN
--   index. Doing the lower-casing and number normalisation in Rust keeps the semantics
--   identical to the in-memory adapter whatever the database collation.
-- * Unique rules are named constraints; the adapter maps a unique violation to
--   `StoreError::AlreadyExists` by constraint name (`products_pkey`, `products_slug_key`,
--   `variants_pkey`), never by message text.
-- * Listing is by product id (uuid order is byte order, as in Rust), keyset-paged.

CREATE TABLE categories (
    id        text    NOT NULL CONSTRAINT categories_pkey PRIMARY KEY,
    name      text    NOT NULL,
    parent    text,
    position  bigint  NOT NULL CHECK (position >= 0)
);

CREATE TABLE products (
    id              uuid        NOT NULL CONSTRAINT products_pkey PRIMARY KEY,
    slug            text        NOT NULL CONSTRAINT products_slug_key UNIQUE,
    status          text        NOT NULL CHECK (status IN ('draft', 'active', 'archived')),
    categories      text[]      NOT NULL,
    attributes      jsonb       NOT NULL,
    attribute_terms text[]      NOT NULL,
    version         bigint      NOT NULL CHECK (version >= 1),
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    -- The product without its variants (they are rows of `variants`).
    body            jsonb       NOT NULL
);

-- Storefront listings filter by status and page by id.
CREATE INDEX products_status_id ON products (status, id);
-- `categories @> ARRAY[...]` and `attribute_terms && ARRAY[...]`.
CREATE INDEX products_categories ON products USING gin (categories);
CREATE INDEX products_attribute_terms ON products USING gin (attribute_terms);

CREATE TABLE variants (
    -- A SKU is unique across the catalog: this key is that rule.
    sku         text    NOT NULL CONSTRAINT variants_pkey PRIMARY KEY,
    product_id  uuid    NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    -- The variant's place in the product (display order).
    position    integer NOT NULL,
    -- The variant as the domain serializes it (options, prices per currency, weight).
    body        jsonb   NOT NULL
);

CREATE INDEX variants_product ON variants (product_id, position);
