//! The demo catalog: a deterministic shop with enough products, stock, promotions, taxes
//! and shipping rates to browse, search, facet and check out against.
//!
//! [`seed_demo`] writes everything through the services (catalog, inventory) and the
//! promotion repository, so every product is validated and indexed for search exactly as
//! a back-office edit would be.
//!
//! # What it creates
//! - **Categories**: ten top-level ones (apparel, shoes, electronics, home, kitchen, books,
//!   toys, sports, beauty, garden) and `socks` under apparel.
//! - **Products**: the number asked for, all active, dealt over the categories in turn so
//!   every category has products. Each has 1 to 4 variants (size / colour / format /
//!   volume options) with SKUs like `APP-0001-M-RED`, a USD price ending in .49 or .99 and
//!   an EUR price of about 0.92 × that, also ending in .49 or .99 (integer minor units,
//!   no floats), a weight, and typed attributes (brand, material, colours list, booleans
//!   such as `waterproof`, numbers such as `battery_hours`) for facets. Titles and
//!   descriptions are composed from word lists so search has words to find.
//! - **Stock** at location `main`: about 8 % of SKUs at 0, 12 % low (1 to 5), the rest 10
//!   to 250; the first electronics SKU is a pre-order: 0 on hand, backorders allowed up to
//!   100 units ([`SeedReport::backorder_sku`]).
//! - **Promotions**: 10 % off kitchen (automatic), buy 2 socks get 1 free (automatic),
//!   coupon `WELCOME10` (10 % off, 1000 uses) and coupon `FREESHIP` (free shipping).
//! - **Tax**: prices are **exclusive** of tax (US style), because the shop's main currency
//!   is USD and the engine has one `prices_include_tax` flag for the whole shop: US state
//!   sales taxes (US-CA 7.25 %, US-NY 4 %, ...) and EU VAT (DE 19 %, FR 20 %, ...) are added
//!   at checkout, shipping is not taxed, rounding is half-up. A real EU storefront would
//!   want inclusive prices; that needs a per-currency tax mode in the engine.
//! - **Shipping**: `standard` 4.99 USD to the US / 4.49 EUR to the EU, free from 50 of the
//!   currency; `express` by weight (up to 1, 5 and 20 kg). USD rates serve the US and EUR
//!   rates the EU, so a USD cart ships to the US and an EUR cart to the EU.
//!
//! Determinism: the same `products` and `rng_seed` give the same titles, SKUs, prices,
//! attributes and stock (ids come from the shop's id generator and differ). Promotion ids
//! are fixed (UUID v5 of their name), so seeding again replaces them.

use std::collections::BTreeMap;
use std::sync::Arc;

use rand::seq::index;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;
use shopkit_core::catalog::{
    AttributeName, AttributeValue, Attributes, Category, ProductStatus, ShippingRequirement,
};
use shopkit_core::ids::{
    CategoryId, CouponCode, LocationId, PromotionId, RegionCode, ShippingMethodId, Sku, Slug,
};
use shopkit_core::inventory::BackorderPolicy;
use shopkit_core::money::{Currency, Money, RoundingPolicy};
use shopkit_core::ports::{PricingSettings, PromotionRepository};
use shopkit_core::pricing::{
    Promotion, PromotionKind, PromotionTarget, ShippingPrice, ShippingRate, ShippingTable, TaxRate,
    TaxTable, WeightBand,
};
use shopkit_core::services::{ProductDraft, Shop, ShopError, VariantDraft, Visibility};
use uuid::Uuid;

/// What [`seed_demo`] created.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SeedReport {
    /// The catalog already held the demo products: nothing was written (seeding is safe
    /// to repeat at every start).
    pub already_seeded: bool,
    /// Categories created or replaced.
    pub categories: usize,
    /// Active products created.
    pub products: usize,
    /// Variants (SKUs) created, each with stock at `main`.
    pub variants: usize,
    /// SKUs with nothing on hand and no backorder.
    pub out_of_stock: usize,
    /// SKUs with 1 to 5 on hand.
    pub low_stock: usize,
    /// The SKU that takes backorders (0 on hand, up to 100 more), if one was seeded.
    pub backorder_sku: Option<Sku>,
    /// Promotions created or replaced.
    pub promotions: usize,
    /// The coupon codes customers can enter.
    pub coupons: Vec<CouponCode>,
}

/// Seeds the demo catalog into `shop`: categories, `products` active products with their
/// variants and stock at `main`, promotions, and tax and shipping settings (see the
/// module docs). Deterministic for a given `products` and `rng_seed`.
///
/// When the catalog already holds the first demo product (a restart over kept data), it
/// writes nothing and returns a report with `already_seeded` set.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use shopkit_core::ports::PromotionRepository;
///
/// let backend = shopkit_memory::InMemory::new();
/// let shop = backend.shop()?;
/// let promotions: Arc<dyn PromotionRepository> = backend.promotions.clone();
/// let report = shop::seed_demo(&shop, &promotions, 50, 42).await?;
/// assert_eq!(report.products, 50);
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// The first [`ShopError`] of a write (a storage outage; a slug or SKU already taken by a
/// product that is not from the demo).
pub async fn seed_demo(
    shop: &Shop,
    promotions: &Arc<dyn PromotionRepository>,
    products: usize,
    rng_seed: u64,
) -> Result<SeedReport, ShopError> {
    let catalog = demo_products(products, rng_seed)?;
    if let Some(first) = catalog.first()
        && let Some(slug) = &first.draft.slug
    {
        match shop.catalog().product_by_slug(slug, Visibility::BackOffice).await {
            Ok(_) => return Ok(SeedReport { already_seeded: true, ..SeedReport::default() }),
            Err(ShopError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }

    let mut report = SeedReport::default();
    for category in categories()? {
        shop.catalog().upsert_category(category).await?;
        report.categories += 1;
    }
    let main = LocationId::main();
    for product in catalog {
        shop.catalog().create_product(product.draft).await?;
        report.products += 1;
        for stock in product.stock {
            shop.inventory().set_stock(&stock.sku, &main, stock.on_hand, stock.backorder).await?;
            report.variants += 1;
            match (stock.on_hand, stock.backorder) {
                (0, BackorderPolicy::Deny) => report.out_of_stock += 1,
                (0, BackorderPolicy::Allow { .. }) => report.backorder_sku = Some(stock.sku),
                (1..=5, _) => report.low_stock += 1,
                _ => {}
            }
        }
    }
    for promotion in demo_promotions()? {
        promotions.upsert(&promotion).await?;
        report.promotions += 1;
        report.coupons.extend(promotion.coupon().cloned());
    }
    promotions.save_settings(&demo_pricing_settings()?).await?;
    Ok(report)
}

// ---------------------------------------------------------------------------------------
// Categories and the word lists of their products.

/// How a kind of product varies.
enum Options {
    /// Size × colour (`APP-0001-M-RED`).
    SizeColour { sizes: &'static [&'static str], colours: &'static [&'static str] },
    /// Colour only (`ELE-0003-BLACK`).
    Colour(&'static [&'static str]),
    /// One named option whose values change the price (`BOO-0006-HC`, `BEA-0009-150ML`).
    Priced { name: &'static str, values: &'static [PricedValue] },
}

/// An option value that changes the price and weight: `percent` of the base.
struct PricedValue {
    label: &'static str,
    code: &'static str,
    percent: u32,
}

/// A boolean attribute, true for `percent` % of products, with the sentence that says so.
struct Flag {
    name: &'static str,
    percent: u32,
    phrase: &'static str,
}

/// A whole-number attribute drawn from `min..=max` in steps of `step`.
struct Number {
    name: &'static str,
    min: u32,
    max: u32,
    step: u32,
}

/// A text attribute drawn from `values`.
struct Text {
    name: &'static str,
    values: &'static [&'static str],
}

/// How product titles read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum TitleStyle {
    /// "Northwind Classic Merino Wool Sweater".
    BrandAdjectiveMaterialNoun,
    /// "The Silent Orchard".
    Book,
}

/// One category and everything needed to make up its products.
struct Kind {
    category: &'static str,
    name: &'static str,
    parent: Option<&'static str>,
    code: &'static str,
    title: TitleStyle,
    nouns: &'static [&'static str],
    adjectives: &'static [&'static str],
    /// The attribute the material list fills (`material`, `ingredient`), if any.
    material_attribute: &'static str,
    materials: &'static [&'static str],
    /// The attribute the brand list fills (`brand`, `publisher`).
    brand_attribute: &'static str,
    brands: &'static [&'static str],
    options: Options,
    /// Whole-dollar price range of the base variant.
    dollars: (u32, u32),
    /// Weight range of the base variant.
    grams: (u32, u32),
    blurbs: &'static [&'static str],
    flags: &'static [Flag],
    numbers: &'static [Number],
    texts: &'static [Text],
}

const APPAREL_SIZES: &[&str] = &["XS", "S", "M", "L", "XL"];
const SHOE_SIZES: &[&str] = &["38", "39", "40", "41", "42", "43", "44", "45"];
const SOCK_SIZES: &[&str] = &["S", "M", "L"];
const CLOTH_COLOURS: &[&str] =
    &["black", "white", "navy", "grey", "red", "green", "olive", "beige", "blue", "pink"];

const KINDS: &[Kind] = &[
    Kind {
        category: "apparel",
        name: "Apparel",
        parent: None,
        code: "APP",
        title: TitleStyle::BrandAdjectiveMaterialNoun,
        nouns: &[
            "T-Shirt", "Hoodie", "Sweater", "Jacket", "Shirt", "Dress", "Cardigan", "Chinos",
            "Jeans", "Polo", "Parka", "Vest",
        ],
        adjectives: &[
            "Classic",
            "Everyday",
            "Relaxed",
            "Slim",
            "Vintage",
            "Essential",
            "Heritage",
            "Urban",
            "Weekend",
            "Coastal",
        ],
        material_attribute: "material",
        materials: &[
            "Organic Cotton",
            "Merino Wool",
            "Linen",
            "Recycled Polyester",
            "Cotton",
            "Hemp",
            "Cashmere",
            "Denim",
        ],
        brand_attribute: "brand",
        brands: &["Northwind", "Fjellstad", "Alder & Co", "Blue Harbor", "Kestrel"],
        options: Options::SizeColour { sizes: APPAREL_SIZES, colours: CLOTH_COLOURS },
        dollars: (15, 180),
        grams: (150, 1200),
        blurbs: &[
            "Cut for all-day comfort.",
            "Pre-washed for a soft feel from the first wear.",
            "Breathable and easy to care for.",
            "A wardrobe staple that layers well.",
            "Machine washable at 30 degrees.",
            "Tailored in small batches.",
        ],
        flags: &[
            Flag { name: "organic", percent: 25, phrase: "Made with certified organic fibres." },
            Flag { name: "waterproof", percent: 10, phrase: "Waterproof finish for wet days." },
        ],
        numbers: &[],
        texts: &[Text { name: "fit", values: &["regular", "slim", "relaxed", "oversized"] }],
    },
    Kind {
        category: "shoes",
        name: "Shoes",
        parent: None,
        code: "SHO",
        title: TitleStyle::BrandAdjectiveMaterialNoun,
        nouns: &[
            "Sneaker",
            "Running Shoe",
            "Trail Shoe",
            "Boot",
            "Loafer",
            "Sandal",
            "Hiking Boot",
            "Slip-On",
            "Chelsea Boot",
        ],
        adjectives: &[
            "Lightweight",
            "Cushioned",
            "All-Terrain",
            "Classic",
            "Everyday",
            "Court",
            "Trail",
        ],
        material_attribute: "material",
        materials: &["Leather", "Suede", "Canvas", "Mesh", "Recycled Knit"],
        brand_attribute: "brand",
        brands: &["Stridewell", "Peak & Pine", "Urbano", "Kestrel"],
        options: Options::SizeColour {
            sizes: SHOE_SIZES,
            colours: &["black", "white", "brown", "grey", "navy", "red"],
        },
        dollars: (35, 220),
        grams: (400, 1400),
        blurbs: &[
            "A grippy rubber outsole for city and trail.",
            "Cushioned footbed for long days on your feet.",
            "Breaks in quickly and keeps its shape.",
            "Removable insole, easy to clean.",
        ],
        flags: &[
            Flag { name: "waterproof", percent: 35, phrase: "Waterproof membrane keeps feet dry." },
            Flag { name: "vegan", percent: 30, phrase: "Vegan: no animal materials." },
        ],
        numbers: &[],
        texts: &[Text { name: "sole", values: &["rubber", "eva", "cork", "vibram"] }],
    },
    Kind {
        category: "electronics",
        name: "Electronics",
        parent: None,
        code: "ELE",
        title: TitleStyle::BrandAdjectiveMaterialNoun,
        nouns: &[
            "Headphones",
            "Earbuds",
            "Bluetooth Speaker",
            "Smartwatch",
            "Power Bank",
            "Keyboard",
            "Mouse",
            "Webcam",
            "E-Reader",
            "Action Camera",
            "Charger",
            "Monitor",
        ],
        adjectives: &[
            "Wireless",
            "Noise-Cancelling",
            "Compact",
            "Pro",
            "Ultra",
            "Smart",
            "Portable",
            "Studio",
        ],
        material_attribute: "",
        materials: &[],
        brand_attribute: "brand",
        brands: &["Voltix", "Auralis", "Lumen", "Nordtek", "Pixelcraft"],
        options: Options::Colour(&["black", "white", "silver", "blue"]),
        dollars: (19, 499),
        grams: (50, 4500),
        blurbs: &[
            "Charges over USB-C.",
            "Pairs in seconds with phones and laptops.",
            "Firmware updates add features over time.",
            "Tuned for clear, balanced sound.",
            "Low-latency mode for gaming and video.",
        ],
        flags: &[
            Flag { name: "wireless", percent: 60, phrase: "Connects over Bluetooth 5.3." },
            Flag { name: "waterproof", percent: 20, phrase: "Rated IP67 against dust and water." },
        ],
        numbers: &[
            Number { name: "battery_hours", min: 4, max: 60, step: 2 },
            Number { name: "warranty_years", min: 1, max: 3, step: 1 },
        ],
        texts: &[Text { name: "connectivity", values: &["bluetooth", "usb-c", "wi-fi"] }],
    },
    Kind {
        category: "home",
        name: "Home",
        parent: None,
        code: "HOM",
        title: TitleStyle::BrandAdjectiveMaterialNoun,
        nouns: &[
            "Throw Blanket",
            "Cushion Cover",
            "Table Lamp",
            "Vase",
            "Wall Clock",
            "Rug",
            "Candle",
            "Picture Frame",
            "Storage Basket",
            "Mirror",
            "Duvet Cover",
        ],
        adjectives: &["Nordic", "Rustic", "Minimal", "Cosy", "Modern", "Handwoven", "Boho"],
        material_attribute: "material",
        materials: &["Wool", "Cotton", "Ceramic", "Oak", "Rattan", "Glass", "Linen", "Jute"],
        brand_attribute: "brand",
        brands: &["Hearth & Home", "Lysa", "Oakhaven", "Casa Nova"],
        options: Options::Colour(&["white", "grey", "beige", "green", "blue"]),
        dollars: (9, 260),
        grams: (150, 9000),
        blurbs: &[
            "Brings warmth to any room.",
            "Designed in Copenhagen.",
            "Pairs well with natural textures.",
            "Each piece varies slightly in tone.",
        ],
        flags: &[Flag { name: "handmade", percent: 30, phrase: "Handmade by small workshops." }],
        numbers: &[],
        texts: &[Text {
            name: "room",
            values: &["living room", "bedroom", "hallway", "office", "bathroom"],
        }],
    },
    Kind {
        category: "kitchen",
        name: "Kitchen",
        parent: None,
        code: "KIT",
        title: TitleStyle::BrandAdjectiveMaterialNoun,
        nouns: &[
            "Chef's Knife",
            "Frying Pan",
            "Saucepan",
            "Cutting Board",
            "French Press",
            "Mixing Bowl Set",
            "Dutch Oven",
            "Kettle",
            "Grater",
            "Spatula Set",
            "Teapot",
            "Espresso Maker",
        ],
        adjectives: &["Professional", "Classic", "Non-Stick", "Everyday", "Artisan", "Compact"],
        material_attribute: "material",
        materials: &[
            "Stainless Steel",
            "Cast Iron",
            "Bamboo",
            "Ceramic",
            "Carbon Steel",
            "Borosilicate Glass",
        ],
        brand_attribute: "brand",
        brands: &["Culina", "Forge & Fire", "Kitchenly", "Maison Blanc"],
        options: Options::Colour(&["black", "red", "white", "silver"]),
        dollars: (8, 280),
        grams: (100, 6500),
        blurbs: &[
            "Heats evenly and holds temperature.",
            "Balanced in the hand.",
            "Built to last a lifetime of cooking.",
            "Easy to clean after a busy evening.",
        ],
        flags: &[
            Flag { name: "dishwasher_safe", percent: 55, phrase: "Dishwasher safe." },
            Flag { name: "induction_ready", percent: 40, phrase: "Works on induction hobs." },
        ],
        numbers: &[Number { name: "warranty_years", min: 1, max: 10, step: 1 }],
        texts: &[],
    },
    Kind {
        category: "books",
        name: "Books",
        parent: None,
        code: "BOO",
        title: TitleStyle::Book,
        nouns: &[
            "Orchard",
            "Harbour",
            "Lighthouse",
            "Winter",
            "River",
            "Garden",
            "Mountain",
            "Letters",
            "Kingdom",
            "Cartographer",
            "Library",
            "Tide",
        ],
        adjectives: &[
            "Silent",
            "Last",
            "Hidden",
            "Long",
            "Golden",
            "Forgotten",
            "Northern",
            "Quiet",
            "Secret",
            "Distant",
        ],
        material_attribute: "",
        materials: &[],
        brand_attribute: "publisher",
        brands: &["Penwright Press", "Harbour Books", "Greyfield", "Lantern House"],
        options: Options::Priced {
            name: "format",
            values: &[
                PricedValue { label: "Hardcover", code: "HC", percent: 100 },
                PricedValue { label: "Paperback", code: "PB", percent: 60 },
                PricedValue { label: "Large Print", code: "LP", percent: 110 },
                PricedValue { label: "Audio CD", code: "CD", percent: 85 },
            ],
        },
        dollars: (12, 45),
        grams: (250, 900),
        blurbs: &[
            "A page-turner you will not put down.",
            "Shortlisted for a national book prize.",
            "Told in alternating voices across three generations.",
            "A new edition with an afterword by the author.",
        ],
        flags: &[Flag { name: "bestseller", percent: 15, phrase: "A bestseller." }],
        numbers: &[Number { name: "pages", min: 120, max: 900, step: 10 }],
        texts: &[
            Text {
                name: "genre",
                values: &[
                    "mystery",
                    "fantasy",
                    "history",
                    "science",
                    "cookbook",
                    "biography",
                    "thriller",
                    "poetry",
                ],
            },
            Text {
                name: "author",
                values: &[
                    "Ada Lindqvist",
                    "Tomas Reyes",
                    "Mira Okafor",
                    "Jonah Whitfield",
                    "Elena Marchetti",
                    "Kenji Aoki",
                    "Sofia Brandt",
                    "Samuel Adeyemi",
                    "Clara Dubois",
                    "Rohan Mehta",
                ],
            },
            Text { name: "language", values: &["english", "german", "french"] },
        ],
    },
    Kind {
        category: "toys",
        name: "Toys",
        parent: None,
        code: "TOY",
        title: TitleStyle::BrandAdjectiveMaterialNoun,
        nouns: &[
            "Building Blocks",
            "Puzzle",
            "Plush Bear",
            "Wooden Train",
            "Board Game",
            "Kite",
            "Doll House",
            "Race Car",
            "Robot Kit",
            "Marble Run",
        ],
        adjectives: &["Classic", "Deluxe", "Junior", "Rainbow", "Adventure", "Mini"],
        material_attribute: "material",
        materials: &["Wood", "Recycled Plastic", "Cotton", "Cardboard"],
        brand_attribute: "brand",
        brands: &["Tumble & Twig", "Brightbox", "Little Lark"],
        options: Options::Colour(&["red", "blue", "yellow", "green"]),
        dollars: (7, 120),
        grams: (100, 3000),
        blurbs: &[
            "Hours of imaginative play.",
            "Safety tested to EN 71.",
            "Encourages problem solving and fine motor skills.",
            "Stores neatly in its own box.",
        ],
        flags: &[Flag { name: "battery_powered", percent: 25, phrase: "Batteries included." }],
        numbers: &[
            Number { name: "age_min", min: 1, max: 12, step: 1 },
            Number { name: "pieces", min: 10, max: 1000, step: 10 },
        ],
        texts: &[],
    },
    Kind {
        category: "sports",
        name: "Sports & Outdoors",
        parent: None,
        code: "SPO",
        title: TitleStyle::BrandAdjectiveMaterialNoun,
        nouns: &[
            "Yoga Mat",
            "Water Bottle",
            "Tent",
            "Backpack",
            "Cycling Helmet",
            "Dumbbell Set",
            "Resistance Bands",
            "Sleeping Bag",
            "Trekking Poles",
            "Tennis Racket",
            "Football",
        ],
        adjectives: &[
            "Ultralight",
            "Trail",
            "Pro",
            "Expedition",
            "Everyday",
            "Alpine",
            "Performance",
        ],
        material_attribute: "material",
        materials: &["Recycled Nylon", "Aluminium", "Natural Rubber", "Polyester", "Carbon Fibre"],
        brand_attribute: "brand",
        brands: &["Peak & Pine", "Summit Line", "Velo", "Kestrel"],
        options: Options::Colour(&["black", "blue", "green", "orange", "grey"]),
        dollars: (10, 350),
        grams: (200, 4800),
        blurbs: &[
            "Packs small, weighs little.",
            "Tested on alpine routes.",
            "Reinforced where it wears first.",
            "Ready for training and race day.",
        ],
        flags: &[Flag {
            name: "waterproof",
            percent: 40,
            phrase: "Waterproof: ready for rain and river crossings.",
        }],
        numbers: &[],
        texts: &[Text {
            name: "sport",
            values: &["hiking", "running", "cycling", "yoga", "camping", "tennis", "football"],
        }],
    },
    Kind {
        category: "beauty",
        name: "Beauty",
        parent: None,
        code: "BEA",
        title: TitleStyle::BrandAdjectiveMaterialNoun,
        nouns: &[
            "Face Cream",
            "Shampoo",
            "Conditioner",
            "Body Lotion",
            "Lip Balm",
            "Serum",
            "Hand Soap",
            "Sunscreen",
            "Face Mask",
            "Shower Gel",
        ],
        adjectives: &[
            "Hydrating",
            "Gentle",
            "Nourishing",
            "Fresh",
            "Daily",
            "Repairing",
            "Calming",
        ],
        material_attribute: "ingredient",
        materials: &["Aloe Vera", "Shea Butter", "Argan Oil", "Green Tea", "Vitamin C", "Oat"],
        brand_attribute: "brand",
        brands: &["Lumi", "Verdant", "Pure Ritual"],
        options: Options::Priced {
            name: "volume",
            values: &[
                PricedValue { label: "50 ml", code: "50ML", percent: 100 },
                PricedValue { label: "150 ml", code: "150ML", percent: 220 },
                PricedValue { label: "300 ml", code: "300ML", percent: 380 },
            ],
        },
        dollars: (5, 60),
        grams: (60, 400),
        blurbs: &[
            "Dermatologically tested.",
            "Absorbs quickly without a greasy feel.",
            "Lightly scented with essential oils.",
            "In a recyclable bottle.",
        ],
        flags: &[Flag { name: "vegan", percent: 50, phrase: "Vegan and cruelty-free." }],
        numbers: &[],
        texts: &[Text { name: "skin_type", values: &["all", "dry", "oily", "sensitive"] }],
    },
    Kind {
        category: "garden",
        name: "Garden",
        parent: None,
        code: "GAR",
        title: TitleStyle::BrandAdjectiveMaterialNoun,
        nouns: &[
            "Watering Can",
            "Planter",
            "Garden Hose",
            "Pruning Shears",
            "Bird Feeder",
            "Raised Bed",
            "Garden Gloves",
            "Solar Lantern",
            "Seed Kit",
            "Compost Bin",
        ],
        adjectives: &["Heavy-Duty", "Classic", "Compact", "Weatherproof", "Expandable"],
        material_attribute: "material",
        materials: &["Galvanised Steel", "Terracotta", "Recycled Plastic", "Cedar", "Rubber"],
        brand_attribute: "brand",
        brands: &["Greenleaf", "Thornbury", "Sprout & Co"],
        options: Options::Colour(&["green", "grey", "black", "terracotta"]),
        dollars: (6, 240),
        grams: (100, 12000),
        blurbs: &[
            "Made for years of outdoor use.",
            "Frost resistant.",
            "Assembles without tools.",
            "Helps a small balcony grow big harvests.",
        ],
        flags: &[Flag {
            name: "weatherproof",
            percent: 60,
            phrase: "Weatherproof all year round.",
        }],
        numbers: &[],
        texts: &[],
    },
    Kind {
        category: "socks",
        name: "Socks",
        parent: Some("apparel"),
        code: "SOC",
        title: TitleStyle::BrandAdjectiveMaterialNoun,
        nouns: &[
            "Crew Socks",
            "Ankle Socks",
            "Hiking Socks",
            "Running Socks",
            "Wool Socks",
            "Dress Socks",
            "No-Show Socks",
        ],
        adjectives: &["Everyday", "Cushioned", "Striped", "Thermal", "Seamless", "Breathable"],
        material_attribute: "material",
        materials: &["Merino Wool", "Organic Cotton", "Bamboo Viscose", "Recycled Nylon"],
        brand_attribute: "brand",
        brands: &["Northwind", "Toe Tally", "Kestrel"],
        options: Options::SizeColour { sizes: SOCK_SIZES, colours: CLOTH_COLOURS },
        dollars: (5, 24),
        grams: (40, 150),
        blurbs: &[
            "Reinforced heel and toe.",
            "Stays up all day without pinching.",
            "Blister-free on long walks.",
            "Buy two pairs, get a third free.",
        ],
        flags: &[Flag { name: "organic", percent: 30, phrase: "Made with organic cotton." }],
        numbers: &[Number { name: "pack_size", min: 1, max: 5, step: 1 }],
        texts: &[],
    },
];

/// The demo categories, top-level ones first.
fn categories() -> Result<Vec<Category>, ShopError> {
    let mut out = Vec::with_capacity(KINDS.len());
    for (position, kind) in (0u32..).zip(KINDS) {
        out.push(Category {
            id: CategoryId::new(kind.category)?,
            name: kind.name.to_owned(),
            parent: kind.parent.map(CategoryId::new).transpose()?,
            position,
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Products.

/// The stock of one seeded SKU at `main`.
struct SeedStock {
    sku: Sku,
    on_hand: i64,
    backorder: BackorderPolicy,
}

/// A product to create and the stock of its SKUs.
struct DemoProduct {
    draft: ProductDraft,
    stock: Vec<SeedStock>,
}

/// A variant before its SKU and prices are written out.
struct VariantPlan {
    /// The SKU suffix (`M-RED`, `HC`).
    codes: Vec<String>,
    title: String,
    options: BTreeMap<String, String>,
    /// Price and weight as a percentage of the base.
    percent: u32,
    /// Weight added for a bigger size, in grams.
    extra_grams: u32,
    colour: Option<&'static str>,
}

/// The demo products, generated without I/O: the same arguments give the same products.
fn demo_products(count: usize, rng_seed: u64) -> Result<Vec<DemoProduct>, ShopError> {
    let mut rng = ChaCha8Rng::seed_from_u64(rng_seed);
    let mut backorder_taken = false;
    let mut products = Vec::with_capacity(count);
    for (index, kind) in KINDS.iter().cycle().take(count).enumerate() {
        let number = index + 1;
        let mut product = demo_product(&mut rng, kind, number)?;
        if kind.category == "electronics" && !backorder_taken {
            if let Some(first) = product.stock.first_mut() {
                first.on_hand = 0;
                first.backorder = BackorderPolicy::Allow { limit: Some(100) };
            }
            backorder_taken = true;
        }
        products.push(product);
    }
    Ok(products)
}

fn demo_product(
    rng: &mut ChaCha8Rng,
    kind: &Kind,
    number: usize,
) -> Result<DemoProduct, ShopError> {
    let brand = pick(rng, kind.brands);
    let adjective = pick(rng, kind.adjectives);
    let noun = pick(rng, kind.nouns);
    let material = (!kind.materials.is_empty()).then(|| pick(rng, kind.materials));
    let title = match (kind.title, material) {
        (TitleStyle::Book, _) => format!("The {adjective} {noun}"),
        (TitleStyle::BrandAdjectiveMaterialNoun, Some(material)) if rng.random_bool(0.6) => {
            format!("{brand} {adjective} {material} {noun}")
        }
        (TitleStyle::BrandAdjectiveMaterialNoun, _) => format!("{brand} {adjective} {noun}"),
    };

    let mut attributes = Attributes::new();
    let mut sentences: Vec<String> = Vec::new();
    let blurbs = index::sample(rng, kind.blurbs.len(), 2.min(kind.blurbs.len()));
    sentences.extend(blurbs.iter().map(|i| kind.blurbs[i].to_owned()));
    attributes.insert(attribute(kind.brand_attribute)?, AttributeValue::Text(brand.to_owned()));
    if let Some(material) = material {
        attributes.insert(
            attribute(kind.material_attribute)?,
            AttributeValue::Text(material.to_lowercase()),
        );
        sentences.push(format!("{}: {}.", label(kind.material_attribute), material.to_lowercase()));
    }
    for flag in kind.flags {
        let yes = rng.random_ratio(flag.percent, 100);
        attributes.insert(attribute(flag.name)?, AttributeValue::Bool(yes));
        if yes {
            sentences.push(flag.phrase.to_owned());
        }
    }
    for number in kind.numbers {
        let steps = (number.max - number.min) / number.step;
        let value = number.min + rng.random_range(0..=steps) * number.step;
        attributes.insert(attribute(number.name)?, AttributeValue::Number(Decimal::from(value)));
        sentences.push(format!("{}: {value}.", label(number.name)));
    }
    for text in kind.texts {
        let value = pick(rng, text.values);
        attributes.insert(attribute(text.name)?, AttributeValue::Text(value.to_owned()));
        sentences.push(format!("{}: {value}.", label(text.name)));
    }
    sentences.push(format!("From {brand}."));

    let plans = variant_plans(rng, &kind.options);
    let colours = distinct_colours(&plans);
    if !colours.is_empty() {
        attributes.insert(attribute("colours")?, AttributeValue::List(colours));
    }

    let base_cents = rng.random_range(kind.dollars.0..=kind.dollars.1) * 100
        - if rng.random_bool(0.5) { 1 } else { 51 };
    let base_grams = rng.random_range(kind.grams.0..=kind.grams.1) / 10 * 10;
    let mut variants = Vec::with_capacity(plans.len());
    let mut stock = Vec::with_capacity(plans.len());
    for plan in plans {
        let mut code = format!("{}-{number:04}", kind.code);
        for part in &plan.codes {
            code.push('-');
            code.push_str(part);
        }
        let sku = Sku::new(&code)?;
        let usd = charm_price(base_cents * plan.percent / 100);
        let eur = charm_price(usd * 92 / 100);
        let weight = base_grams * plan.percent / 100 + plan.extra_grams;
        variants.push(VariantDraft {
            sku: sku.clone(),
            title: plan.title,
            options: plan.options,
            prices: vec![
                Money::from_minor(i64::from(usd), Currency::USD),
                Money::from_minor(i64::from(eur), Currency::EUR),
            ],
            weight_grams: weight,
            shipping: ShippingRequirement::Required,
        });
        let on_hand = match rng.random_range(0..100) {
            0..8 => 0,
            8..20 => rng.random_range(1..=5),
            _ => rng.random_range(10..=250),
        };
        stock.push(SeedStock { sku, on_hand, backorder: BackorderPolicy::Deny });
    }

    let mut categories = Vec::with_capacity(2);
    if let Some(parent) = kind.parent {
        categories.push(CategoryId::new(parent)?);
    }
    categories.push(CategoryId::new(kind.category)?);
    let slug = Slug::from_title(&format!("{title} {} {number:04}", kind.code))?;
    let draft = ProductDraft {
        slug: Some(slug),
        description: format!("{title}. {}", sentences.join(" ")),
        title,
        status: ProductStatus::Active,
        categories,
        attributes,
        media: Vec::new(),
        variants,
    };
    Ok(DemoProduct { draft, stock })
}

/// 1 to 4 variants of a product, in a stable order.
fn variant_plans(rng: &mut ChaCha8Rng, options: &Options) -> Vec<VariantPlan> {
    match options {
        Options::SizeColour { sizes, colours } => {
            let colour_count = rng.random_range(1..=2);
            let mut chosen = index::sample(rng, colours.len(), colour_count).into_vec();
            chosen.sort_unstable();
            let combos: Vec<(usize, usize)> =
                chosen.iter().flat_map(|&c| (0..sizes.len()).map(move |s| (c, s))).collect();
            let wanted = rng.random_range(1..=4).min(combos.len());
            let mut picked = index::sample(rng, combos.len(), wanted).into_vec();
            picked.sort_unstable();
            picked
                .into_iter()
                .map(|i| {
                    let (c, s) = combos[i];
                    let (colour, size) = (colours[c], sizes[s]);
                    VariantPlan {
                        codes: vec![size.to_owned(), colour.to_ascii_uppercase()],
                        title: format!("{} / {size}", capitalised(colour)),
                        options: BTreeMap::from([
                            ("colour".to_owned(), colour.to_owned()),
                            ("size".to_owned(), size.to_owned()),
                        ]),
                        percent: 100,
                        extra_grams: u32::try_from(s).unwrap_or(0) * 20,
                        colour: Some(colour),
                    }
                })
                .collect()
        }
        Options::Colour(colours) => {
            let wanted = rng.random_range(1..=4).min(colours.len());
            let mut picked = index::sample(rng, colours.len(), wanted).into_vec();
            picked.sort_unstable();
            picked
                .into_iter()
                .map(|i| VariantPlan {
                    codes: vec![colours[i].to_ascii_uppercase()],
                    title: capitalised(colours[i]),
                    options: BTreeMap::from([("colour".to_owned(), colours[i].to_owned())]),
                    percent: 100,
                    extra_grams: 0,
                    colour: Some(colours[i]),
                })
                .collect()
        }
        Options::Priced { name, values } => {
            let wanted = rng.random_range(1..=4).min(values.len());
            let mut picked = index::sample(rng, values.len(), wanted).into_vec();
            picked.sort_unstable();
            picked
                .into_iter()
                .map(|i| VariantPlan {
                    codes: vec![values[i].code.to_owned()],
                    title: values[i].label.to_owned(),
                    options: BTreeMap::from([((*name).to_owned(), values[i].label.to_owned())]),
                    percent: values[i].percent,
                    extra_grams: 0,
                    colour: None,
                })
                .collect()
        }
    }
}

fn distinct_colours(plans: &[VariantPlan]) -> Vec<String> {
    let mut colours: Vec<String> = Vec::new();
    for colour in plans.iter().filter_map(|p| p.colour) {
        if !colours.iter().any(|c| c == colour) {
            colours.push(colour.to_owned());
        }
    }
    colours
}

/// The nearest price (in minor units) ending in .49 or .99, at least 0.49: these are
/// exactly the amounts `50 × n − 1`.
fn charm_price(cents: u32) -> u32 {
    let n = (cents + 1 + 25) / 50;
    n.max(1) * 50 - 1
}

fn pick<T: Copy>(rng: &mut ChaCha8Rng, items: &[T]) -> T {
    items[rng.random_range(0..items.len())]
}

fn attribute(name: &str) -> Result<AttributeName, ShopError> {
    Ok(AttributeName::new(name)?)
}

/// `"battery_hours"` as `"Battery hours"`.
fn label(name: &str) -> String {
    capitalised(&name.replace('_', " "))
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

// ---------------------------------------------------------------------------------------
// Promotions, taxes and shipping.

/// A promotion id that is the same on every run, so seeding again replaces the promotion.
fn promotion_id(name: &str) -> PromotionId {
    PromotionId::from_uuid(Uuid::new_v5(
        &Uuid::NAMESPACE_URL,
        format!("urn:shopkit:demo:promotion:{name}").as_bytes(),
    ))
}

fn invalid(field: &'static str, error: impl std::fmt::Display) -> ShopError {
    ShopError::Invalid { field, reason: format!("demo data: {error}") }
}

/// The demo promotions: two automatic, two behind coupons.
fn demo_promotions() -> Result<Vec<Promotion>, ShopError> {
    let ten = Decimal::TEN;
    let category = |id: &str| CategoryId::new(id).map(|c| PromotionTarget::Categories(vec![c]));
    let promotions = vec![
        Promotion::builder(
            promotion_id("kitchen-week"),
            "Kitchen week: 10% off kitchen",
            PromotionKind::Percentage(ten),
        )
        .target(category("kitchen")?)
        .priority(5),
        Promotion::builder(
            promotion_id("socks-3-for-2"),
            "Socks: buy 2, get 1 free",
            PromotionKind::BuyXGetY { buy: 2, get: 1, percent_off: Decimal::ONE_HUNDRED },
        )
        .target(category("socks")?)
        .priority(10),
        Promotion::builder(
            promotion_id("welcome10"),
            "Welcome: 10% off your first order",
            PromotionKind::Percentage(ten),
        )
        .coupon(CouponCode::new("WELCOME10")?)
        .usage_limit(1000),
        Promotion::builder(promotion_id("freeship"), "Free shipping", PromotionKind::FreeShipping)
            .coupon(CouponCode::new("FREESHIP")?),
    ];
    promotions.into_iter().map(|p| p.build().map_err(|e| invalid("promotion", e))).collect()
}

const US_SALES_TAX: &[(&str, i64, u32, &str)] = &[
    ("US-CA", 725, 4, "California sales tax"),
    ("US-NY", 4, 2, "New York sales tax"),
    ("US-TX", 625, 4, "Texas sales tax"),
    ("US-WA", 65, 3, "Washington sales tax"),
    ("US-FL", 6, 2, "Florida sales tax"),
    ("US-IL", 625, 4, "Illinois sales tax"),
];

const EU_VAT: &[(&str, i64)] = &[
    ("DE", 19),
    ("FR", 20),
    ("NL", 21),
    ("AT", 20),
    ("BE", 21),
    ("IT", 22),
    ("ES", 21),
    ("IE", 23),
];

/// Tax (exclusive, US style; see the module docs) and shipping rates.
fn demo_pricing_settings() -> Result<PricingSettings, ShopError> {
    let mut rates = Vec::new();
    for (region, mantissa, scale, name) in US_SALES_TAX {
        let rate = Decimal::new(*mantissa, *scale);
        rates.push(
            TaxRate::new(RegionCode::new(region)?, rate, *name).map_err(|e| invalid("tax", e))?,
        );
    }
    for (region, percent) in EU_VAT {
        let rate = Decimal::new(*percent, 2);
        rates.push(
            TaxRate::new(RegionCode::new(region)?, rate, "VAT").map_err(|e| invalid("tax", e))?,
        );
    }
    let taxes = TaxTable { rates, prices_include_tax: false, tax_shipping: false };

    let us = vec![RegionCode::new("US")?];
    let eu = EU_VAT.iter().map(|(r, _)| RegionCode::new(r)).collect::<Result<Vec<_>, _>>()?;
    let standard = ShippingMethodId::new("standard")?;
    let express = ShippingMethodId::new("express")?;
    let bands = |currency, prices: [i64; 3]| {
        ShippingPrice::WeightBands(
            [1_000, 5_000, 20_000]
                .into_iter()
                .zip(prices)
                .map(|(up_to_grams, minor)| WeightBand {
                    up_to_grams,
                    price: Money::from_minor(minor, currency),
                })
                .collect(),
        )
    };
    let usd = |minor| Money::from_minor(minor, Currency::USD);
    let eur = |minor| Money::from_minor(minor, Currency::EUR);
    let rates = vec![
        ShippingRate::new(standard.clone(), "Standard (3-5 days)", ShippingPrice::Flat(usd(499)))
            .and_then(|r| r.serving(us.clone()).free_over(usd(5000))),
        ShippingRate::new(standard, "Standard (3-5 days)", ShippingPrice::Flat(eur(449)))
            .and_then(|r| r.serving(eu.clone()).free_over(eur(5000))),
        ShippingRate::new(
            express.clone(),
            "Express (1-2 days)",
            bands(Currency::USD, [999, 1499, 2999]),
        )
        .map(|r| r.serving(us)),
        ShippingRate::new(express, "Express (1-2 days)", bands(Currency::EUR, [899, 1399, 2799]))
            .map(|r| r.serving(eu)),
    ];
    let shipping = ShippingTable {
        rates: rates.into_iter().collect::<Result<_, _>>().map_err(|e| invalid("shipping", e))?,
    };
    Ok(PricingSettings { taxes, shipping, rounding: RoundingPolicy::HalfUp })
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::time::Instant;

    use shopkit_core::catalog::Product;
    use shopkit_core::customers::Address;
    use shopkit_core::ports::SearchQuery;
    use shopkit_core::quantity::Quantity;
    use shopkit_core::services::{CartAccess, Delivery, ProductListing};
    use shopkit_memory::InMemory;

    use super::*;

    async fn seeded(products: usize, rng_seed: u64) -> (InMemory, Shop, SeedReport) {
        let backend = InMemory::new();
        let shop = backend.shop().unwrap();
        let promotions: Arc<dyn PromotionRepository> = backend.promotions.clone();
        let report = seed_demo(&shop, &promotions, products, rng_seed).await.unwrap();
        (backend, shop, report)
    }

    async fn storefront(shop: &Shop, category: Option<CategoryId>) -> Vec<Product> {
        let mut all = Vec::new();
        let mut cursor = None;
        loop {
            let listing = ProductListing {
                category: category.clone(),
                cursor,
                limit: 100,
                ..ProductListing::default()
            };
            let page = shop.catalog().list(listing, Visibility::Storefront).await.unwrap();
            all.extend(page.items);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return all,
            }
        }
    }

    fn sku_of(products: &[Product], code: &str, in_stock: &HashSet<Sku>) -> Sku {
        products
            .iter()
            .flat_map(|p| &p.variants)
            .map(|v| v.sku.clone())
            .find(|s| s.as_str().starts_with(code) && in_stock.contains(s))
            .unwrap()
    }

    fn address(region: &str) -> Address {
        Address {
            id: None,
            name: "Ann Example".into(),
            line1: "1 Main St".into(),
            line2: None,
            city: "Springfield".into(),
            postal_code: "90001".into(),
            region: RegionCode::new(region).unwrap(),
            phone: None,
        }
    }

    #[tokio::test]
    async fn a_thousand_products_seed_quickly_and_are_all_listed_on_the_storefront() {
        let backend = InMemory::new();
        let shop = backend.shop().unwrap();
        let promotions: Arc<dyn PromotionRepository> = backend.promotions.clone();

        let started = Instant::now();
        let report = seed_demo(&shop, &promotions, 1000, 42).await.unwrap();
        let elapsed = started.elapsed();
        eprintln!("seeded {} products, {} SKUs in {elapsed:?}", report.products, report.variants);

        let listed = storefront(&shop, None).await;
        assert_eq!(report.products, 1000);
        assert_eq!(listed.len(), 1000);
        assert!(listed.iter().all(Product::is_active));
        assert!(listed.iter().all(|p| (1..=4).contains(&p.variants.len())));
        assert_eq!(report.variants, listed.iter().map(|p| p.variants.len()).sum::<usize>());
        assert!(report.out_of_stock > 0 && report.low_stock > 0, "{report:?}");
        assert!(report.backorder_sku.is_some());
    }

    #[tokio::test]
    async fn every_category_has_products_and_a_name() {
        let (_, shop, report) = seeded(200, 7).await;

        let categories = shop.catalog().categories().await.unwrap();

        assert_eq!(categories.len(), report.categories);
        assert!(categories.len() >= 8);
        for category in categories {
            assert!(!category.name.is_empty());
            let products = storefront(&shop, Some(category.id.clone())).await;
            assert!(!products.is_empty(), "{} is empty", category.id);
        }
    }

    #[tokio::test]
    async fn the_same_seed_gives_the_same_catalog_and_another_seed_another() {
        let catalog = |shop: Shop| async move {
            storefront(&shop, None)
                .await
                .into_iter()
                .flat_map(|p| {
                    let (title, attributes) = (p.title.clone(), p.attributes.clone());
                    p.variants.into_iter().map(move |v| {
                        (v.sku, (title.clone(), attributes.clone(), v.prices, v.weight_grams))
                    })
                })
                .collect::<BTreeMap<_, _>>()
        };
        let (_, first, _) = seeded(120, 1).await;
        let (_, second, _) = seeded(120, 1).await;
        let (_, other, _) = seeded(120, 2).await;

        let first = catalog(first).await;

        assert_eq!(first, catalog(second).await);
        assert_ne!(first, catalog(other).await);
    }

    #[tokio::test]
    async fn skus_follow_the_category_number_and_option_pattern() {
        let (_, shop, _) = seeded(30, 3).await;

        let products = storefront(&shop, None).await;
        let skus: Vec<&str> =
            products.iter().flat_map(|p| &p.variants).map(|v| v.sku.as_str()).collect();

        let apparel = skus.iter().find(|s| s.starts_with("APP-0001-")).unwrap();
        let parts: Vec<&str> = apparel.split('-').collect();
        assert_eq!(parts.len(), 4, "{apparel}");
        assert!(APPAREL_SIZES.contains(&parts[2]), "{apparel}");
        assert!(CLOTH_COLOURS.iter().any(|c| c.to_ascii_uppercase() == parts[3]), "{apparel}");
        assert_eq!(skus.iter().collect::<HashSet<_>>().len(), skus.len(), "SKUs are unique");
    }

    #[tokio::test]
    async fn prices_end_in_49_or_99_and_eur_is_about_092_of_usd() {
        let (_, shop, _) = seeded(100, 5).await;

        for variant in storefront(&shop, None).await.iter().flat_map(|p| &p.variants) {
            let usd = variant.prices[0].to_minor().unwrap();
            let eur = variant.prices[1].to_minor().unwrap();
            assert_eq!(variant.prices[0].currency(), Currency::USD);
            assert_eq!(variant.prices[1].currency(), Currency::EUR);
            for cents in [usd, eur] {
                assert!(matches!(cents % 100, 49 | 99), "{} {cents}", variant.sku);
            }
            let target = usd * 92 / 100;
            assert!((eur - target).abs() <= 25, "{}: {usd} USD, {eur} EUR", variant.sku);
            assert!(variant.weight_grams > 0);
        }
    }

    #[tokio::test]
    async fn attributes_make_facets_and_descriptions_make_search_results() {
        let (_, shop, _) = seeded(300, 11).await;
        let query = SearchQuery {
            text: "waterproof".into(),
            facets: vec!["waterproof".into(), "brand".into(), "colours".into()],
            limit: 10,
            ..SearchQuery::default()
        };

        let results = shop.catalog().search(&query).await.unwrap();

        assert!(results.total > 10, "{results:?}");
        let facet = |name: &str| results.facets.iter().find(|f| f.name == name).unwrap();
        assert!(facet("waterproof").counts.iter().any(|c| c.value == "true"));
        assert!(facet("brand").counts.len() > 3);
        assert!(facet("colours").counts.len() > 3);
    }

    #[tokio::test]
    async fn welcome10_takes_ten_percent_off_and_california_tax_is_added_on_top() {
        let (_, shop, report) = seeded(60, 9).await;
        let products = storefront(&shop, None).await;
        let levels = backend_stock(&shop, &products).await;
        let sku = sku_of(&products, "ELE-", &levels);
        let cart = shop.carts().create_guest_cart(Currency::USD).await.unwrap();
        let access = CartAccess::Token(cart.token().clone());
        shop.carts().add_line(cart.id(), &access, sku, Quantity::new(1).unwrap()).await.unwrap();
        let delivery = Delivery {
            address: Some(address("US-CA")),
            method: Some(ShippingMethodId::new("standard").unwrap()),
        };
        shop.carts().set_delivery(cart.id(), &access, delivery).await.unwrap();

        shop.carts()
            .apply_coupon(cart.id(), &access, CouponCode::new("welcome10").unwrap())
            .await
            .unwrap();
        let quote = shop.carts().quote(cart.id(), &access).await.unwrap();

        assert!(report.coupons.contains(&CouponCode::new("WELCOME10").unwrap()));
        let applied = quote.applied_promotions();
        let welcome = applied
            .iter()
            .find(|p| p.coupon.as_ref().is_some_and(|c| c.as_str() == "WELCOME10"))
            .unwrap();
        let subtotal = quote.subtotal().amount();
        assert_eq!(welcome.amount.amount(), (subtotal / Decimal::TEN).round_dp(2));
        assert!(quote.unapplied_coupons().is_empty());
        let line = &quote.lines()[0];
        let taxable = line.subtotal.amount() - line.discount.amount();
        let tax = (taxable * Decimal::new(725, 4))
            .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
        assert_eq!(line.tax.amount(), tax);
        assert!(!quote.prices_include_tax());
        assert!(quote.reconciles());
    }

    #[tokio::test]
    async fn freeship_waives_standard_shipping_below_the_free_threshold() {
        let (_, shop, _) = seeded(60, 9).await;
        let products = storefront(&shop, None).await;
        let levels = backend_stock(&shop, &products).await;
        let cheap = products
            .iter()
            .flat_map(|p| &p.variants)
            .find(|v| {
                levels.contains(&v.sku)
                    && v.price_in(Currency::USD).is_some_and(|p| p.amount() < Decimal::from(40))
            })
            .unwrap();
        let cart = shop.carts().create_guest_cart(Currency::USD).await.unwrap();
        let access = CartAccess::Token(cart.token().clone());
        shop.carts().add_line(cart.id(), &access, cheap.sku.clone(), Quantity::ONE).await.unwrap();
        let delivery = Delivery {
            address: Some(address("US-NY")),
            method: Some(ShippingMethodId::new("standard").unwrap()),
        };
        shop.carts().set_delivery(cart.id(), &access, delivery).await.unwrap();
        let before = shop.carts().quote(cart.id(), &access).await.unwrap();

        shop.carts()
            .apply_coupon(cart.id(), &access, CouponCode::new("FREESHIP").unwrap())
            .await
            .unwrap();
        let after = shop.carts().quote(cart.id(), &access).await.unwrap();

        let shipping = before.shipping().unwrap();
        assert_eq!(shipping.price, Money::from_minor(499, Currency::USD));
        assert_eq!(shipping.total, shipping.price);
        let waived = after.shipping().unwrap();
        assert_eq!(waived.discount, waived.price);
        assert!(waived.total.is_zero());
    }

    #[tokio::test]
    async fn three_socks_cost_the_price_of_two() {
        let (_, shop, _) = seeded(60, 9).await;
        let products = storefront(&shop, None).await;
        let socks =
            products.iter().find(|p| p.categories.iter().any(|c| c.as_str() == "socks")).unwrap();
        let sku = socks.variants[0].sku.clone();
        let cart = shop.carts().create_guest_cart(Currency::USD).await.unwrap();
        let access = CartAccess::Token(cart.token().clone());
        shop.carts().add_line(cart.id(), &access, sku, Quantity::new(3).unwrap()).await.unwrap();

        let quote = shop.carts().quote(cart.id(), &access).await.unwrap();

        let unit = quote.lines()[0].unit_price;
        assert_eq!(quote.lines()[0].discount, unit);
        assert!(quote.applied_promotions().iter().any(|p| p.name.contains("Socks")));
    }

    #[tokio::test]
    async fn seeding_again_writes_nothing() {
        let (backend, shop, _) = seeded(20, 4).await;
        let promotions: Arc<dyn PromotionRepository> = backend.promotions.clone();

        let again = seed_demo(&shop, &promotions, 20, 4).await.unwrap();

        assert!(again.already_seeded);
        assert_eq!(again.products, 0);
        assert_eq!(storefront(&shop, None).await.len(), 20);
    }

    #[tokio::test]
    async fn one_sku_takes_backorders_and_some_are_out_of_stock() {
        let (_, shop, report) = seeded(100, 8).await;
        let sku = report.backorder_sku.clone().unwrap();

        let levels = shop.inventory().levels(std::slice::from_ref(&sku)).await.unwrap();

        assert!(sku.as_str().starts_with("ELE-0003-"), "{sku}");
        assert_eq!(levels[0].on_hand, 0);
        assert_eq!(levels[0].backorder, BackorderPolicy::Allow { limit: Some(100) });
        assert!(report.out_of_stock > 0 && report.low_stock > 0, "{report:?}");
    }

    #[test]
    fn charm_prices_end_in_49_or_99_and_are_the_nearest_such() {
        assert_eq!(charm_price(0), 49);
        assert_eq!(charm_price(1839), 1849);
        assert_eq!(charm_price(1823), 1799);
        assert_eq!(charm_price(1999), 1999);
        assert_eq!(charm_price(2023), 1999);
        assert_eq!(charm_price(2024), 2049, "a tie goes up");
        assert_eq!(charm_price(2025), 2049);
    }

    /// SKUs with stock available to sell (on hand above 0).
    async fn backend_stock(shop: &Shop, products: &[Product]) -> HashSet<Sku> {
        let skus: Vec<Sku> =
            products.iter().flat_map(|p| &p.variants).map(|v| v.sku.clone()).collect();
        let levels = shop.inventory().levels(&skus).await.unwrap();
        levels.into_iter().filter(|l| l.available() > 0).map(|l| l.sku).collect()
    }
}
