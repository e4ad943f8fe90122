//! The shop's typed configuration: built-in defaults, an optional TOML file, `SHOPKIT_*`
//! environment variables and command-line flags, merged in that order (a later layer wins)
//! and validated once into a [`ShopConfig`].
//!
//! # Layers
//! | layer | example | notes |
//! | --- | --- | --- |
//! | defaults | `listen = 127.0.0.1:8080` | see [`ShopConfig`] for each default |
//! | file | `--config shop.toml` (or `SHOPKIT_CONFIG=shop.toml`) | an unknown key is an error, so a typo never goes unnoticed |
//! | environment | `SHOPKIT_LISTEN=127.0.0.1:9000` | `__` separates nested sections (`SHOPKIT_A__B` is `a.b`); an empty variable counts as unset; `SHOPKIT_*` variables that name no setting (test settings such as `SHOPKIT_TEST_POSTGRES_URL`) are ignored |
//! | flags | `--listen 127.0.0.1:9000` | every setting but the secrets |
//!
//! # Secrets
//! `admin_password`, `jwt_signing_key`, `database_url` and `redis_url` are [`Secret`]s:
//! their `Debug` output is redacted, so a [`ShopConfig`] can be logged with `{:?}`. They
//! have no flag, because a process's arguments are visible to every user of the machine
//! (`ps`); set them in the environment or in the file. Secrets from the environment are
//! taken verbatim (`SHOPKIT_ADMIN_PASSWORD=0012` stays the text `0012`, not the number 12).
//!
//! # Errors
//! Loading fails with a [`ConfigError`] that names the setting, where its value came from
//! (`environment variable SHOPKIT_BODY_LIMIT_BYTES`, `flag --listen`, the file) and what
//! to do about it.

use std::ffi::OsString;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::{NonZeroU32, NonZeroU64};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use figment::providers::{Format, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Provider, Source};
use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use shopkit_core::ids::Email;

/// The prefix of every environment variable the shop reads.
pub const ENV_PREFIX: &str = "SHOPKIT_";

/// The environment variable that names the config file when `--config` is not given.
pub const CONFIG_FILE_VAR: &str = "SHOPKIT_CONFIG";

/// The admin password of the embedded profile when none is configured. Printed at start
/// (see [`ShopConfig::demo_admin_notice`]): it protects nothing, it only lets a first-time
/// user sign in to the back office of a demo shop.
pub const DEMO_ADMIN_PASSWORD: &str = "shopkit-demo";

/// The shortest configured admin password accepted.
pub const MIN_ADMIN_PASSWORD_CHARS: usize = 8;

/// The shortest configured JWT signing key accepted: 32 characters, 256 bits for HS256.
pub const MIN_JWT_KEY_CHARS: usize = 32;

/// The most demo products one start may seed.
pub const MAX_SEED_PRODUCTS: usize = 100_000;

const ENV_LAYER: &str = "environment variable";
const FLAG_LAYER: &str = "command-line flag";

/// Which set of adapters the shop runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// Every port in memory; needs no service. The default.
    Embedded,
    /// PostgreSQL for every persistent port (optionally Redis for the catalog cache and the
    /// shared rate limiter); needs `database_url`.
    Postgres,
    /// The AWS reference architecture: products, carts and inventory in DynamoDB,
    /// customers, orders and the outbox in PostgreSQL (RDS), media in S3, the catalog cache
    /// in Redis (ElastiCache) when `redis_url` is set. Endpoints follow the AWS SDK's
    /// settings (`AWS_REGION`, `AWS_ENDPOINT_URL` to run against an emulator).
    Aws,
}

impl Profile {
    /// The name used in the file, the environment and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Embedded => "embedded",
            Profile::Postgres => "postgres",
            Profile::Aws => "aws",
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize, ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable, for a terminal.
    #[default]
    Pretty,
    /// One JSON object per line, for a log collector.
    Json,
}

impl LogFormat {
    /// The name used in the file, the environment and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Pretty => "pretty",
            LogFormat::Json => "json",
        }
    }
}

/// A secret setting (password, signing key, connection URL with credentials). Its
/// `Debug` output is `Secret("[redacted]")` and it has no `Display`, so it cannot end up in
/// a log line by accident; [`Secret::expose`] is the one, greppable way to read it.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself: pass it to the component that needs it, never to a logger.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(\"[redacted]\")")
    }
}

/// Why the configuration could not be loaded. Each message names the setting, where its
/// value came from, and what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// `--config` (or `SHOPKIT_CONFIG`) names a file that does not exist.
    #[error(
        "config file {} does not exist: check the --config path (or {CONFIG_FILE_VAR}), or leave it out to use defaults and SHOPKIT_* variables",
        path.display()
    )]
    FileMissing {
        /// The path as given.
        path: PathBuf,
    },
    /// A layer could not be read or a value has the wrong type (the file is not TOML, a
    /// port is not a number, a key is unknown...).
    #[error(
        "invalid configuration: {}; correct that value (`shop --help` gives each setting's format)",
        describe_figment_error(.0)
    )]
    Unreadable(#[source] Box<figment::Error>),
    /// A setting has a value of the right type that is still not acceptable.
    #[error("invalid setting `{setting}` (from {origin}): {reason}")]
    Invalid {
        /// The setting, as named in the file.
        setting: &'static str,
        /// Where its value came from.
        origin: String,
        /// What is wrong and what a valid value looks like.
        reason: String,
    },
    /// The operating system's random number generator failed (for a JWT signing key).
    #[error(
        "could not generate a random JWT signing key ({message}): set SHOPKIT_JWT_SIGNING_KEY to a random string of at least {MIN_JWT_KEY_CHARS} characters"
    )]
    NoRandomness {
        /// The generator's error.
        message: String,
    },
}

fn describe_figment_error(error: &figment::Error) -> String {
    error.clone().into_iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; ")
}

// ---------------------------------------------------------------------------------------
// The command line.

/// The `shop` command line. Every setting flag is global, so it can be given before or
/// after the subcommand (`shop --listen ... serve` and `shop serve --listen ...`).
#[derive(Clone, Debug, Parser)]
#[command(
    name = "shop",
    version,
    about = "The shopkit reference shop: a storefront and back-office API over shopkit's adapters.",
    after_help = "Settings come from, lowest to highest precedence: built-in defaults, the --config \
TOML file (key = value, e.g. listen = \"0.0.0.0:8080\"), SHOPKIT_<SETTING> environment variables \
(e.g. SHOPKIT_LISTEN, SHOPKIT_DATABASE_URL; `__` separates nested sections), then flags.\n\
Secrets (admin_password, jwt_signing_key, database_url, redis_url) have no flag: set them in \
the environment or the file."
)]
pub struct Cli {
    /// TOML file with settings (overridden by SHOPKIT_* variables and flags) [env: SHOPKIT_CONFIG]
    #[arg(short, long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,

    /// Settings given as flags.
    #[command(flatten)]
    pub settings: SettingFlags,

    /// What to do; `serve` when none is given.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What the `shop` binary does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Serve the storefront and back-office APIs (the default)
    Serve,
    /// Create what the profile stores data in (database schema and migrations; in the aws
    /// profile also the DynamoDB table and the S3 bucket), then exit. Safe to repeat.
    CreateTables,
}

impl Cli {
    /// The command to run: the one given, or [`Command::Serve`].
    pub fn action(&self) -> Command {
        self.command.unwrap_or(Command::Serve)
    }

    /// The `--help` text.
    pub fn help_text() -> String {
        Cli::command().render_long_help().to_string()
    }

    /// Prints the `--help` text to standard output.
    ///
    /// # Errors
    /// When standard output cannot be written.
    pub fn print_help() -> std::io::Result<()> {
        Cli::command().print_long_help()
    }
}

/// The settings that can be given as flags (every setting but the secrets). A flag left
/// out leaves the setting to the lower layers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Args)]
pub struct SettingFlags {
    /// Which adapters to run: `embedded` keeps everything in memory, `postgres` stores
    /// everything in PostgreSQL, `aws` follows the AWS reference architecture
    /// [env: SHOPKIT_PROFILE] [default: embedded]
    #[arg(long, value_enum, global = true)]
    pub profile: Option<Profile>,

    /// Address and port to listen on [env: SHOPKIT_LISTEN] [default: 127.0.0.1:8080]
    #[arg(long, value_name = "ADDR:PORT", global = true)]
    pub listen: Option<SocketAddr>,

    /// URL clients reach the shop at, for links in emails and API documents
    /// [env: SHOPKIT_PUBLIC_BASE_URL] [default: http:// and the listen address]
    #[arg(long, value_name = "URL", global = true)]
    pub public_base_url: Option<String>,

    /// Load the demo catalog at start [env: SHOPKIT_SEED=true] [default: on in the embedded profile]
    #[arg(long, global = true, overrides_with = "no_seed")]
    pub seed: bool,

    /// Start with an empty catalog [env: SHOPKIT_SEED=false]
    #[arg(long, global = true, overrides_with = "seed")]
    pub no_seed: bool,

    /// How many demo products to seed [env: SHOPKIT_SEED_PRODUCTS] [default: 1000]
    #[arg(long, value_name = "N", global = true)]
    pub seed_products: Option<usize>,

    /// The PostgreSQL schema holding shopkit's tables [env: SHOPKIT_DATABASE_SCHEMA]
    /// [default: the server's search_path, usually `public`]
    #[arg(long, value_name = "SCHEMA", global = true)]
    pub database_schema: Option<String>,

    /// DynamoDB table for products, carts and inventory (aws profile)
    /// [env: SHOPKIT_DYNAMODB_TABLE] [default: shopkit]
    #[arg(long, value_name = "TABLE", global = true)]
    pub dynamodb_table: Option<String>,

    /// S3 bucket for product media (aws profile) [env: SHOPKIT_S3_BUCKET] [default: shopkit-media]
    #[arg(long, value_name = "BUCKET", global = true)]
    pub s3_bucket: Option<String>,

    /// CDN (CloudFront) base URL for public media links (aws profile)
    /// [env: SHOPKIT_CDN_BASE_URL] [default: none: presigned S3 URLs]
    #[arg(long, value_name = "URL", global = true)]
    pub cdn_base_url: Option<String>,

    /// Apply the database migrations at start (postgres profile) [env: SHOPKIT_MIGRATE=true]
    /// [default: off: migrate deliberately, e.g. from one instance of a rollout]
    #[arg(long, global = true)]
    pub migrate: bool,

    /// Email of the back-office administrator (default `admin@shopkit.local`).
    // The help is spelt out because rustdoc reads `x@y` in brackets as a link.
    #[arg(
        long,
        value_name = "EMAIL",
        global = true,
        help = "Email of the back-office administrator [env: SHOPKIT_ADMIN_EMAIL] [default: admin@shopkit.local]"
    )]
    pub admin_email: Option<String>,

    /// Browser origins allowed to call the API, comma-separated or repeated, `*` for any
    /// [env: SHOPKIT_CORS_ALLOWED_ORIGINS] [default: none, same origin only]
    #[arg(long, value_name = "ORIGIN", value_delimiter = ',', global = true)]
    pub cors_allowed_origins: Vec<String>,

    /// Largest request body accepted, in bytes [env: SHOPKIT_BODY_LIMIT_BYTES]
    /// [default: 1048576]
    #[arg(long, value_name = "BYTES", global = true)]
    pub body_limit_bytes: Option<u64>,

    /// Seconds a request may take before it is answered with 503
    /// [env: SHOPKIT_REQUEST_TIMEOUT] [default: 10]
    #[arg(long, value_name = "SECONDS", global = true)]
    pub request_timeout: Option<u64>,

    /// Seconds a checkout request waits for its order before answering 202 (the checkout
    /// then finishes on its own; retry with the same key for the result), below the request
    /// timeout [env: SHOPKIT_CHECKOUT_WAIT] [default: 3/4 of the request timeout]
    #[arg(long, value_name = "SECONDS", global = true)]
    pub checkout_wait: Option<u64>,

    /// Requests per second allowed per client [env: SHOPKIT_RATE_LIMIT_PER_SECOND] [default: 50]
    #[arg(long, value_name = "N", global = true)]
    pub rate_limit_per_second: Option<u32>,

    /// Requests a client may send in a burst above the rate [env: SHOPKIT_RATE_LIMIT_BURST]
    /// [default: 100]
    #[arg(long, value_name = "N", global = true)]
    pub rate_limit_burst: Option<u32>,

    /// Log line format [env: SHOPKIT_LOG_FORMAT] [default: pretty]
    #[arg(long, value_enum, global = true)]
    pub log_format: Option<LogFormat>,

    /// Seconds to let in-flight requests finish at shutdown [env: SHOPKIT_SHUTDOWN_GRACE]
    /// [default: 30]
    #[arg(long, value_name = "SECONDS", global = true)]
    pub shutdown_grace: Option<u64>,
}

impl SettingFlags {
    /// `--seed` / `--no-seed`, whichever came last; `None` when neither was given.
    fn seed_choice(&self) -> Option<bool> {
        match (self.seed, self.no_seed) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        }
    }

    /// The flags that were given, keyed by setting.
    fn to_dict(&self) -> Dict {
        let mut dict = Dict::new();
        let mut put = |key: &str, value: Option<Value>| {
            if let Some(value) = value {
                dict.insert(key.to_owned(), value);
            }
        };
        put("profile", self.profile.map(|p| Value::from(p.as_str())));
        put("listen", self.listen.map(|a| Value::from(a.to_string())));
        put("public_base_url", self.public_base_url.clone().map(Value::from));
        put("seed", self.seed_choice().map(Value::from));
        put("seed_products", self.seed_products.map(Value::from));
        put("migrate", self.migrate.then_some(Value::from(true)));
        put("database_schema", self.database_schema.clone().map(Value::from));
        put("dynamodb_table", self.dynamodb_table.clone().map(Value::from));
        put("s3_bucket", self.s3_bucket.clone().map(Value::from));
        put("cdn_base_url", self.cdn_base_url.clone().map(Value::from));
        put("admin_email", self.admin_email.clone().map(Value::from));
        put(
            "cors_allowed_origins",
            (!self.cors_allowed_origins.is_empty())
                .then(|| Value::from(self.cors_allowed_origins.clone())),
        );
        put("body_limit_bytes", self.body_limit_bytes.map(Value::from));
        put("request_timeout", self.request_timeout.map(Value::from));
        put("checkout_wait", self.checkout_wait.map(Value::from));
        put("rate_limit_per_second", self.rate_limit_per_second.map(Value::from));
        put("rate_limit_burst", self.rate_limit_burst.map(Value::from));
        put("log_format", self.log_format.map(|f| Value::from(f.as_str())));
        put("shutdown_grace", self.shutdown_grace.map(Value::from));
        dict
    }
}

// ---------------------------------------------------------------------------------------
// The layers.

/// How an environment variable's text becomes a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EnvValue {
    /// Kept verbatim (text settings and secrets: `0012` stays `0012`).
    Text,
    /// Parsed as a number, a boolean or a `[list]` where it looks like one.
    Parsed,
}

/// Every setting the environment may set, by key.
const ENV_SETTINGS: &[(&str, EnvValue)] = &[
    ("profile", EnvValue::Text),
    ("listen", EnvValue::Text),
    ("public_base_url", EnvValue::Text),
    ("seed", EnvValue::Parsed),
    ("seed_products", EnvValue::Parsed),
    ("migrate", EnvValue::Parsed),
    ("database_schema", EnvValue::Text),
    ("dynamodb_table", EnvValue::Text),
    ("s3_bucket", EnvValue::Text),
    ("cdn_base_url", EnvValue::Text),
    ("admin_email", EnvValue::Text),
    ("admin_password", EnvValue::Text),
    ("jwt_signing_key", EnvValue::Text),
    ("cors_allowed_origins", EnvValue::Parsed),
    ("body_limit_bytes", EnvValue::Parsed),
    ("request_timeout", EnvValue::Parsed),
    ("checkout_wait", EnvValue::Parsed),
    ("rate_limit_per_second", EnvValue::Parsed),
    ("rate_limit_burst", EnvValue::Parsed),
    ("log_format", EnvValue::Text),
    ("shutdown_grace", EnvValue::Parsed),
    ("database_url", EnvValue::Text),
    ("redis_url", EnvValue::Text),
];

/// The setting key of an environment variable: `SHOPKIT_RATE_LIMIT_BURST` is
/// `rate_limit_burst`, `SHOPKIT_A__B` is `a.b`; `None` without the prefix.
fn env_key(var: &str) -> Option<String> {
    let prefix = var.get(..ENV_PREFIX.len())?;
    if !prefix.eq_ignore_ascii_case(ENV_PREFIX) {
        return None;
    }
    let rest = &var[ENV_PREFIX.len()..];
    let parts: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
    if parts.iter().any(String::is_empty) {
        return None;
    }
    Some(parts.join("."))
}

/// Puts `value` at the dotted `key` of `dict`, creating the sections on the way.
fn insert_nested(dict: &mut Dict, key: &str, value: Value) {
    match key.split_once('.') {
        None => {
            dict.insert(key.to_owned(), value);
        }
        Some((section, rest)) => {
            let entry = dict.entry(section.to_owned()).or_insert_with(|| Value::from(Dict::new()));
            if entry.as_dict().is_none() {
                *entry = Value::from(Dict::new());
            }
            if let Value::Dict(_, inner) = entry {
                insert_nested(inner, rest, value);
            }
        }
    }
}

/// The `SHOPKIT_*` variables that name a setting, as a figment layer.
struct EnvLayer {
    dict: Dict,
}

impl EnvLayer {
    fn new(vars: &[(String, String)]) -> Self {
        let mut dict = Dict::new();
        for (var, text) in vars {
            let Some(key) = env_key(var) else { continue };
            let Some((_, kind)) = ENV_SETTINGS.iter().find(|(k, _)| *k == key) else { continue };
            if text.trim().is_empty() {
                continue;
            }
            let value = match kind {
                EnvValue::Text => Value::from(text.clone()),
                EnvValue::Parsed => text.parse::<Value>().unwrap_or_else(|never| match never {}),
            };
            insert_nested(&mut dict, &key, value);
        }
        EnvLayer { dict }
    }
}

impl Provider for EnvLayer {
    fn metadata(&self) -> Metadata {
        Metadata::named(ENV_LAYER).interpolater(|_: &figment::Profile, keys: &[&str]| {
            let upper: Vec<String> = keys.iter().map(|k| k.to_ascii_uppercase()).collect();
            format!("{ENV_PREFIX}{}", upper.join("__"))
        })
    }

    fn data(&self) -> Result<Map<figment::Profile, Dict>, figment::Error> {
        Ok(figment::Profile::Default.collect(self.dict.clone()))
    }
}

/// The flags given, as the highest figment layer (figment's global profile wins over the
/// default profile the file and the environment write to).
struct FlagLayer {
    dict: Dict,
}

impl Provider for FlagLayer {
    fn metadata(&self) -> Metadata {
        Metadata::named(FLAG_LAYER).interpolater(|_: &figment::Profile, keys: &[&str]| {
            format!("--{}", keys.join(".").replace('_', "-"))
        })
    }

    fn data(&self) -> Result<Map<figment::Profile, Dict>, figment::Error> {
        Ok(figment::Profile::Global.collect(self.dict.clone()))
    }
}

/// Where the value of `key` came from, for error messages.
fn origin(figment: &Figment, key: &str) -> String {
    let Some(metadata) = figment.find_metadata(key) else {
        return "the built-in default".to_owned();
    };
    let name = metadata.interpolate(&figment::Profile::Default, &[key]);
    if metadata.name == ENV_LAYER {
        return format!("environment variable {name}");
    }
    if metadata.name == FLAG_LAYER {
        return format!("flag {name}");
    }
    match &metadata.source {
        Some(Source::File(path)) => format!("`{key}` in {}", path.display()),
        _ => format!("`{key}` in {}", metadata.name),
    }
}

// ---------------------------------------------------------------------------------------
// The raw, merged settings.

/// The merged layers before validation: plain types, serde defaults.
#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RawConfig {
    profile: Profile,
    listen: SocketAddr,
    public_base_url: Option<String>,
    seed: Option<bool>,
    seed_products: usize,
    migrate: bool,
    database_schema: Option<String>,
    dynamodb_table: String,
    s3_bucket: String,
    cdn_base_url: Option<String>,
    admin_email: String,
    admin_password: Option<Secret>,
    jwt_signing_key: Option<Secret>,
    #[serde(deserialize_with = "list_or_comma_separated")]
    cors_allowed_origins: Vec<String>,
    body_limit_bytes: u64,
    request_timeout: u64,
    checkout_wait: Option<u64>,
    rate_limit_per_second: u32,
    rate_limit_burst: u32,
    log_format: LogFormat,
    shutdown_grace: u64,
    database_url: Option<Secret>,
    redis_url: Option<Secret>,
}

impl Default for RawConfig {
    fn default() -> Self {
        RawConfig {
            profile: Profile::Embedded,
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080),
            public_base_url: None,
            seed: None,
            seed_products: 1000,
            migrate: false,
            database_schema: None,
            dynamodb_table: "shopkit".to_owned(),
            s3_bucket: "shopkit-media".to_owned(),
            cdn_base_url: None,
            admin_email: "admin@shopkit.local".to_owned(),
            admin_password: None,
            jwt_signing_key: None,
            cors_allowed_origins: Vec::new(),
            body_limit_bytes: 1024 * 1024,
            request_timeout: 10,
            checkout_wait: None,
            rate_limit_per_second: 50,
            rate_limit_burst: 100,
            log_format: LogFormat::Pretty,
            shutdown_grace: 30,
            database_url: None,
            redis_url: None,
        }
    }
}

/// A list of strings given as a list (`["a", "b"]`) or as one comma-separated string
/// (`"a, b"`, the easy form in an environment variable).
fn list_or_comma_separated<'de, D: Deserializer<'de>>(de: D) -> Result<Vec<String>, D::Error> {
    struct ListVisitor;

    impl<'de> Visitor<'de> for ListVisitor {
        type Value = Vec<String>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of strings, or one comma-separated string")
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
            Ok(text
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect())
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut items = Vec::new();
            while let Some(item) = seq.next_element::<String>()? {
                items.push(item);
            }
            Ok(items)
        }
    }

    de.deserialize_any(ListVisitor)
}

// ---------------------------------------------------------------------------------------
// The validated configuration.

/// The shop's settings, merged from every layer and validated: a value of this type is
/// ready to use (an address that parses, a positive body limit, a valid admin email...).
///
/// `Debug` is safe to log: secrets print as `[redacted]`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ShopConfig {
    /// Which adapters to run. Default `embedded`, the only profile this build runs.
    pub profile: Profile,
    /// Where to listen. Default `127.0.0.1:8080`.
    pub listen: SocketAddr,
    /// The URL clients reach the shop at, without a trailing `/`. Default `http://` and
    /// the listen address (`localhost` when listening on every interface).
    pub public_base_url: String,
    /// Whether to load the demo catalog at start. Default on in the embedded profile.
    pub seed: bool,
    /// How many demo products to seed, 1 to [`MAX_SEED_PRODUCTS`]. Default 1000.
    pub seed_products: usize,
    /// Whether to apply database migrations at start (postgres profile). Default off.
    pub migrate: bool,
    /// The PostgreSQL schema (postgres and aws profiles); `None` for the server's default.
    pub database_schema: Option<String>,
    /// The DynamoDB table (aws profile). Default `shopkit`.
    pub dynamodb_table: String,
    /// The S3 media bucket (aws profile). Default `shopkit-media`.
    pub s3_bucket: String,
    /// The CDN base URL for media (aws profile); `None` for presigned S3 URLs.
    pub cdn_base_url: Option<String>,
    /// The back-office administrator. Default `admin@shopkit.local`.
    pub admin_email: Email,
    /// The administrator's password, at least [`MIN_ADMIN_PASSWORD_CHARS`] characters.
    /// Default (embedded profile only) [`DEMO_ADMIN_PASSWORD`].
    pub admin_password: Secret,
    /// Whether `admin_password` is the demo default (then it is printed at start).
    pub admin_password_is_demo: bool,
    /// The key signing the embedded issuer's JWTs, at least [`MIN_JWT_KEY_CHARS`]
    /// characters. Absent by default: [`ShopConfig::jwt_signing_key_or_random`] makes a
    /// random one per process (sessions then end at restart).
    pub jwt_signing_key: Option<Secret>,
    /// Browser origins allowed by CORS (`https://shop.example.com`, or `*`). Default none.
    pub cors_allowed_origins: Vec<String>,
    /// The largest request body accepted. Default 1 MiB.
    pub body_limit_bytes: NonZeroU64,
    /// How long a request may take. Default 10 s.
    pub request_timeout: Duration,
    /// How long a checkout request waits for its order before answering 202. Default
    /// (`None`): 3/4 of the request timeout.
    pub checkout_wait: Option<Duration>,
    /// Requests per second allowed per client. Default 50.
    pub rate_limit_per_second: NonZeroU32,
    /// Requests a client may send at once above the rate. Default 100.
    pub rate_limit_burst: NonZeroU32,
    /// How log lines are written. Default `pretty`.
    pub log_format: LogFormat,
    /// How long in-flight requests may finish at shutdown. Default 30 s.
    pub shutdown_grace: Duration,
    /// The PostgreSQL URL, for the `postgres` and `aws` profiles (unused by `embedded`).
    pub database_url: Option<Secret>,
    /// The Redis URL, for the `postgres` and `aws` profiles (unused by `embedded`).
    pub redis_url: Option<Secret>,
}

impl ShopConfig {
    /// Loads the configuration for `cli` from the defaults, the config file, this
    /// process's `SHOPKIT_*` environment variables and the flags.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the setting at fault, where it was set and what to do.
    pub fn load(cli: &Cli) -> Result<Self, ConfigError> {
        let vars = std::env::vars_os().map(|(k, v): (OsString, OsString)| {
            (k.to_string_lossy().into_owned(), v.to_string_lossy().into_owned())
        });
        Self::load_from(cli, vars)
    }

    /// As [`ShopConfig::load`], with the environment given as `(name, value)` pairs (tests
    /// pass their own instead of changing the process's environment).
    ///
    /// ```
    /// use clap::Parser;
    /// use shop::{Cli, ShopConfig};
    ///
    /// let cli = Cli::try_parse_from(["shop", "--listen", "127.0.0.1:0"])?;
    /// let config = ShopConfig::load_from(&cli, [("SHOPKIT_SEED", "false")])?;
    /// assert!(!config.seed);
    /// assert_eq!(config.listen.port(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`ShopConfig::load`].
    pub fn load_from<I, K, V>(cli: &Cli, env: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let vars: Vec<(String, String)> =
            env.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
        let file = cli.config.clone().or_else(|| {
            vars.iter()
                .find(|(k, v)| k == CONFIG_FILE_VAR && !v.trim().is_empty())
                .map(|(_, v)| PathBuf::from(v))
        });
        let mut figment = Figment::new();
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigError::FileMissing { path });
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        let figment =
            figment.merge(EnvLayer::new(&vars)).merge(FlagLayer { dict: cli.settings.to_dict() });
        let raw: RawConfig = figment.extract().map_err(|e| ConfigError::Unreadable(Box::new(e)))?;
        Self::validate(raw, &figment)
    }

    fn validate(raw: RawConfig, figment: &Figment) -> Result<Self, ConfigError> {
        let invalid = |setting: &'static str, reason: String| ConfigError::Invalid {
            setting,
            origin: origin(figment, setting),
            reason,
        };
        if raw.profile != Profile::Embedded
            && raw.database_url.as_ref().is_none_or(|url| url.expose().is_empty())
        {
            return Err(invalid(
                "database_url",
                format!(
                    "the {} profile needs a database: set SHOPKIT_DATABASE_URL (e.g. postgres://user@host:5432/shop)",
                    raw.profile.as_str()
                ),
            ));
        }
        let public_base_url = match raw.public_base_url {
            Some(url) => base_url(&url).map_err(|reason| invalid("public_base_url", reason))?,
            None => default_base_url(raw.listen),
        };
        if !(1..=MAX_SEED_PRODUCTS).contains(&raw.seed_products) {
            return Err(invalid(
                "seed_products",
                format!(
                    "{} demo products is out of range: choose 1 to {MAX_SEED_PRODUCTS}, or turn seeding off (seed = false)",
                    raw.seed_products
                ),
            ));
        }
        let admin_email = Email::new(&raw.admin_email).map_err(|e| {
            invalid("admin_email", format!("{e}; use an address like admin@example.com"))
        })?;
        let (admin_password, admin_password_is_demo) = match raw.admin_password {
            Some(password) if password.expose().chars().count() < MIN_ADMIN_PASSWORD_CHARS => {
                return Err(invalid(
                    "admin_password",
                    format!(
                        "the admin password is too short: use at least {MIN_ADMIN_PASSWORD_CHARS} characters"
                    ),
                ));
            }
            Some(password) => (password, false),
            None => (Secret::new(DEMO_ADMIN_PASSWORD), true),
        };
        let jwt_signing_key = match raw.jwt_signing_key {
            Some(key) if key.expose().chars().count() < MIN_JWT_KEY_CHARS => {
                return Err(invalid(
                    "jwt_signing_key",
                    format!(
                        "the signing key is too short: use a random string of at least {MIN_JWT_KEY_CHARS} characters (256 bits), or leave it unset for a random key per process"
                    ),
                ));
            }
            key => key,
        };
        for allowed in &raw.cors_allowed_origins {
            cors_origin(allowed).map_err(|reason| invalid("cors_allowed_origins", reason))?;
        }
        let body_limit_bytes = NonZeroU64::new(raw.body_limit_bytes).ok_or_else(|| {
            invalid(
                "body_limit_bytes",
                "the request body limit must be above 0 bytes: set it to e.g. 1048576 (1 MiB)"
                    .to_owned(),
            )
        })?;
        if let Some(wait) = raw.checkout_wait
            && (wait == 0 || wait >= raw.request_timeout)
        {
            return Err(invalid(
                "checkout_wait",
                format!(
                    "a checkout must answer before the request timeout ({} s): set 1 to {} seconds, or leave it unset for 3/4 of the timeout",
                    raw.request_timeout,
                    raw.request_timeout.saturating_sub(1)
                ),
            ));
        }
        if raw.request_timeout == 0 {
            return Err(invalid(
                "request_timeout",
                "a request timeout of 0 seconds would fail every request: set a number of seconds, e.g. 10".to_owned(),
            ));
        }
        let rate_limit_per_second =
            NonZeroU32::new(raw.rate_limit_per_second).ok_or_else(|| {
                invalid(
                    "rate_limit_per_second",
                    "a rate of 0 requests per second would refuse every request: set e.g. 50"
                        .to_owned(),
                )
            })?;
        let rate_limit_burst = NonZeroU32::new(raw.rate_limit_burst).ok_or_else(|| {
            invalid(
                "rate_limit_burst",
                "a burst of 0 would refuse every request: set it to at least 1, e.g. 100"
                    .to_owned(),
            )
        })?;
        Ok(ShopConfig {
            profile: raw.profile,
            listen: raw.listen,
            public_base_url,
            seed: raw.seed.unwrap_or(raw.profile == Profile::Embedded),
            seed_products: raw.seed_products,
            migrate: raw.migrate,
            database_schema: raw.database_schema.filter(|s| !s.is_empty()),
            dynamodb_table: raw.dynamodb_table,
            s3_bucket: raw.s3_bucket,
            cdn_base_url: raw.cdn_base_url.filter(|s| !s.is_empty()),
            admin_email,
            admin_password,
            admin_password_is_demo,
            jwt_signing_key,
            cors_allowed_origins: raw.cors_allowed_origins,
            body_limit_bytes,
            request_timeout: Duration::from_secs(raw.request_timeout),
            checkout_wait: raw.checkout_wait.map(Duration::from_secs),
            rate_limit_per_second,
            rate_limit_burst,
            log_format: raw.log_format,
            shutdown_grace: Duration::from_secs(raw.shutdown_grace),
            database_url: raw.database_url.filter(|s| !s.expose().is_empty()),
            redis_url: raw.redis_url.filter(|s| !s.expose().is_empty()),
        })
    }

    /// The line to print at start when the admin signs in with the demo password: only in
    /// the embedded profile, and only when no password was configured. `None` otherwise,
    /// so a configured password is never printed.
    pub fn demo_admin_notice(&self) -> Option<String> {
        (self.profile == Profile::Embedded && self.admin_password_is_demo).then(|| {
            format!(
                "demo back office: sign in as {} with password {} (set SHOPKIT_ADMIN_PASSWORD to change it)",
                self.admin_email,
                self.admin_password.expose()
            )
        })
    }

    /// The configured JWT signing key, or a fresh random one (32 random bytes, hex) when
    /// none is configured.
    ///
    /// # Errors
    /// [`ConfigError::NoRandomness`] when the operating system's generator fails.
    pub fn jwt_signing_key_or_random(&self) -> Result<Secret, ConfigError> {
        if let Some(key) = &self.jwt_signing_key {
            return Ok(key.clone());
        }
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|e| ConfigError::NoRandomness { message: e.to_string() })?;
        Ok(Secret::new(hex::encode(bytes)))
    }
}

/// A base URL without its trailing slashes.
fn base_url(url: &str) -> Result<String, String> {
    let trimmed = url.trim().trim_end_matches('/');
    let host = trimmed.strip_prefix("https://").or_else(|| trimmed.strip_prefix("http://"));
    match host {
        Some(rest) if !rest.is_empty() && !rest.contains(['?', '#', ' ']) => Ok(trimmed.to_owned()),
        _ => Err(format!(
            "`{url}` is not a base URL: use http(s)://host[:port][/path], e.g. https://shop.example.com"
        )),
    }
}

fn default_base_url(listen: SocketAddr) -> String {
    if listen.ip().is_unspecified() {
        format!("http://localhost:{}", listen.port())
    } else {
        format!("http://{listen}")
    }
}

/// Checks one CORS origin: `*`, or a scheme and host with an optional port and no path.
fn cors_origin(origin: &str) -> Result<(), String> {
    if origin == "*" {
        return Ok(());
    }
    let host = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"));
    match host {
        Some(host) if !host.is_empty() && !host.contains(['/', '?', '#', ' ']) => Ok(()),
        _ => Err(format!(
            "`{origin}` is not an origin: use scheme://host[:port] without a path (e.g. https://shop.example.com), or `*` for any"
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn cli(args: &[&str]) -> Cli {
        let mut argv = vec!["shop"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv).unwrap()
    }

    fn load(args: &[&str], env: &[(&str, &str)]) -> Result<ShopConfig, ConfigError> {
        ShopConfig::load_from(&cli(args), env.iter().map(|(k, v)| (*k, *v)))
    }

    fn toml_file(content: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
        file.write_all(content.as_bytes()).unwrap();
        file
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let config = load(&[], &[]).unwrap();

        assert_eq!(config.profile, Profile::Embedded);
        assert_eq!(config.listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(config.public_base_url, "http://127.0.0.1:8080");
        assert!(config.seed, "the embedded profile seeds a demo catalog by default");
        assert_eq!(config.seed_products, 1000);
        assert_eq!(config.admin_email.as_str(), "admin@shopkit.local");
        assert_eq!(config.admin_password.expose(), DEMO_ADMIN_PASSWORD);
        assert!(config.admin_password_is_demo);
        assert!(config.jwt_signing_key.is_none());
        assert!(config.cors_allowed_origins.is_empty());
        assert_eq!(config.body_limit_bytes.get(), 1024 * 1024);
        assert_eq!(config.request_timeout, Duration::from_secs(10));
        assert_eq!(config.rate_limit_per_second.get(), 50);
        assert_eq!(config.rate_limit_burst.get(), 100);
        assert_eq!(config.log_format, LogFormat::Pretty);
        assert_eq!(config.shutdown_grace, Duration::from_secs(30));
        assert!(config.database_url.is_none() && config.redis_url.is_none());
    }

    #[test]
    fn a_flag_beats_the_environment_which_beats_the_file() {
        let file = toml_file(
            "listen = \"127.0.0.1:7000\"\nbody_limit_bytes = 2000\nrequest_timeout = 5\n",
        );
        let path = file.path().to_str().unwrap();
        let env = [("SHOPKIT_LISTEN", "127.0.0.1:8000"), ("SHOPKIT_BODY_LIMIT_BYTES", "3000")];

        let config = load(&["--config", path, "--listen", "127.0.0.1:9000"], &env).unwrap();

        assert_eq!(config.listen, "127.0.0.1:9000".parse().unwrap(), "the flag wins");
        assert_eq!(config.body_limit_bytes.get(), 3000, "the environment beats the file");
        assert_eq!(config.request_timeout, Duration::from_secs(5), "the file beats the default");
        assert_eq!(config.rate_limit_burst.get(), 100, "the default fills the rest");
    }

    #[test]
    fn the_config_file_can_be_named_by_an_environment_variable() {
        let file = toml_file("seed_products = 12\n");

        let config = load(&[], &[(CONFIG_FILE_VAR, file.path().to_str().unwrap())]).unwrap();

        assert_eq!(config.seed_products, 12);
    }

    #[test]
    fn every_setting_can_be_set_from_the_environment() {
        let env = [
            ("SHOPKIT_PROFILE", "embedded"),
            ("SHOPKIT_LISTEN", "0.0.0.0:9000"),
            ("SHOPKIT_PUBLIC_BASE_URL", "https://shop.example.com/"),
            ("SHOPKIT_SEED", "false"),
            ("SHOPKIT_SEED_PRODUCTS", "20"),
            ("SHOPKIT_ADMIN_EMAIL", "Boss@Example.COM"),
            ("SHOPKIT_ADMIN_PASSWORD", "0012345678"),
            ("SHOPKIT_JWT_SIGNING_KEY", "k".repeat(32).leak()),
            ("SHOPKIT_CORS_ALLOWED_ORIGINS", "https://a.example, http://localhost:3000"),
            ("SHOPKIT_BODY_LIMIT_BYTES", "4096"),
            ("SHOPKIT_REQUEST_TIMEOUT", "3"),
            ("SHOPKIT_RATE_LIMIT_PER_SECOND", "7"),
            ("SHOPKIT_RATE_LIMIT_BURST", "9"),
            ("SHOPKIT_LOG_FORMAT", "json"),
            ("SHOPKIT_SHUTDOWN_GRACE", "0"),
            ("SHOPKIT_DATABASE_URL", "postgres://u:p@db/shop"),
            ("SHOPKIT_REDIS_URL", "redis://cache:6379"),
        ];

        let config = load(&[], &env).unwrap();

        assert_eq!(config.listen, "0.0.0.0:9000".parse().unwrap());
        assert_eq!(config.public_base_url, "https://shop.example.com");
        assert!(!config.seed);
        assert_eq!(config.seed_products, 20);
        assert_eq!(config.admin_email.as_str(), "Boss@example.com");
        assert_eq!(config.admin_password.expose(), "0012345678", "secrets stay verbatim");
        assert!(!config.admin_password_is_demo);
        assert_eq!(config.jwt_signing_key.as_ref().unwrap().expose(), "k".repeat(32));
        assert_eq!(config.cors_allowed_origins, ["https://a.example", "http://localhost:3000"]);
        assert_eq!(config.body_limit_bytes.get(), 4096);
        assert_eq!(config.request_timeout, Duration::from_secs(3));
        assert_eq!(config.rate_limit_per_second.get(), 7);
        assert_eq!(config.rate_limit_burst.get(), 9);
        assert_eq!(config.log_format, LogFormat::Json);
        assert_eq!(config.shutdown_grace, Duration::ZERO);
        assert_eq!(config.database_url.unwrap().expose(), "postgres://u:p@db/shop");
        assert_eq!(config.redis_url.unwrap().expose(), "redis://cache:6379");
    }

    #[test]
    fn every_flag_overrides_its_setting() {
        let config = load(
            &[
                "--profile=embedded",
                "--listen=0.0.0.0:8081",
                "--public-base-url=https://x.example",
                "--no-seed",
                "--seed-products=5",
                "--admin-email=ops@example.com",
                "--cors-allowed-origins=https://a.example,https://b.example",
                "--body-limit-bytes=10",
                "--request-timeout=2",
                "--rate-limit-per-second=3",
                "--rate-limit-burst=4",
                "--log-format=json",
                "--shutdown-grace=6",
            ],
            &[],
        )
        .unwrap();

        assert_eq!(config.listen.port(), 8081);
        assert_eq!(config.public_base_url, "https://x.example");
        assert!(!config.seed);
        assert_eq!(config.seed_products, 5);
        assert_eq!(config.admin_email.as_str(), "ops@example.com");
        assert_eq!(config.cors_allowed_origins, ["https://a.example", "https://b.example"]);
        assert_eq!(config.body_limit_bytes.get(), 10);
        assert_eq!(config.request_timeout, Duration::from_secs(2));
        assert_eq!(config.rate_limit_per_second.get(), 3);
        assert_eq!(config.rate_limit_burst.get(), 4);
        assert_eq!(config.log_format, LogFormat::Json);
        assert_eq!(config.shutdown_grace, Duration::from_secs(6));
    }

    #[test]
    fn secrets_never_appear_in_debug_output() {
        let env = [
            ("SHOPKIT_ADMIN_PASSWORD", "hunter2-hunter2"),
            ("SHOPKIT_JWT_SIGNING_KEY", "super-secret-signing-key-0123456789"),
            ("SHOPKIT_DATABASE_URL", "postgres://app:pg-password@db/shop"),
            ("SHOPKIT_REDIS_URL", "redis://:redis-password@cache"),
        ];

        let config = load(&[], &env).unwrap();
        let debug = format!("{config:?}");

        for (_, secret) in env {
            assert!(!debug.contains(secret), "{secret} leaked into {debug}");
        }
        assert!(!debug.contains("password@"), "{debug}");
        assert!(debug.contains("[redacted]"));
        assert!(debug.contains("127.0.0.1:8080"), "non-secrets are still shown: {debug}");
    }

    #[test]
    fn a_value_out_of_range_names_the_setting_where_it_came_from_and_what_to_do() {
        let err = load(&[], &[("SHOPKIT_BODY_LIMIT_BYTES", "0")]).unwrap_err();

        assert!(matches!(err, ConfigError::Invalid { setting: "body_limit_bytes", .. }));
        let message = err.to_string();
        assert!(message.contains("SHOPKIT_BODY_LIMIT_BYTES"), "{message}");
        assert!(message.contains("above 0"), "{message}");
    }

    #[test]
    fn a_checkout_wait_must_answer_before_the_request_timeout() {
        let too_long = load(&["--request-timeout=5", "--checkout-wait=5"], &[]).unwrap_err();
        let fine = load(&["--request-timeout=5", "--checkout-wait=2"], &[]).unwrap();
        let unset = load(&["--request-timeout=8"], &[]).unwrap();

        assert!(matches!(too_long, ConfigError::Invalid { setting: "checkout_wait", .. }));
        assert_eq!(fine.checkout_wait, Some(Duration::from_secs(2)));
        assert_eq!(unset.checkout_wait, None, "the HTTP layer then waits 3/4 of the timeout");
    }

    #[test]
    fn an_invalid_flag_value_names_the_flag() {
        let err = load(&["--rate-limit-burst=0"], &[]).unwrap_err();

        assert!(err.to_string().contains("flag --rate-limit-burst"), "{err}");
    }

    #[test]
    fn an_invalid_file_value_names_the_key_and_the_file() {
        let file = toml_file("admin_email = \"not-an-email\"\n");
        let path = file.path().to_str().unwrap();

        let message = load(&["--config", path], &[]).unwrap_err().to_string();

        assert!(message.contains("`admin_email`"), "{message}");
        assert!(message.contains(path), "{message}");
        assert!(message.contains("admin@example.com"), "{message}");
    }

    #[test]
    fn a_value_of_the_wrong_type_names_the_variable() {
        let err = load(&[], &[("SHOPKIT_LISTEN", "not-an-address")]).unwrap_err();

        assert!(matches!(err, ConfigError::Unreadable(_)));
        assert!(err.to_string().contains("SHOPKIT_LISTEN"), "{err}");
    }

    #[test]
    fn a_misspelt_key_in_the_file_is_an_error() {
        let file = toml_file("listne = \"127.0.0.1:1\"\n");

        let err = load(&["--config", file.path().to_str().unwrap()], &[]).unwrap_err();

        assert!(err.to_string().contains("listne"), "{err}");
    }

    #[test]
    fn a_missing_config_file_is_an_error_naming_the_path() {
        let err = load(&["--config", "/nonexistent/shop.toml"], &[]).unwrap_err();

        assert!(matches!(err, ConfigError::FileMissing { .. }));
        assert!(err.to_string().contains("/nonexistent/shop.toml"), "{err}");
    }

    #[test]
    fn shopkit_variables_that_name_no_setting_are_ignored() {
        let env = [("SHOPKIT_TEST_POSTGRES_URL", "postgres://x"), ("OTHER_LISTEN", "bad")];

        assert!(load(&[], &env).is_ok());
    }

    #[test]
    fn empty_variables_count_as_unset() {
        let config = load(&[], &[("SHOPKIT_LISTEN", ""), ("SHOPKIT_DATABASE_URL", " ")]).unwrap();

        assert_eq!(config.listen.port(), 8080);
        assert!(config.database_url.is_none());
    }

    #[test]
    fn the_postgres_and_aws_profiles_need_a_database() {
        let err = load(&[], &[("SHOPKIT_PROFILE", "postgres")]).unwrap_err();
        assert!(err.to_string().contains("SHOPKIT_DATABASE_URL"), "{err}");
        let err = load(&[], &[("SHOPKIT_PROFILE", "aws")]).unwrap_err();
        assert!(err.to_string().contains("SHOPKIT_DATABASE_URL"), "{err}");
        let aws = load(
            &["--s3-bucket", "media-1"],
            &[("SHOPKIT_PROFILE", "aws"), ("SHOPKIT_DATABASE_URL", "postgres://db/shop")],
        )
        .unwrap();
        assert_eq!((aws.dynamodb_table.as_str(), aws.s3_bucket.as_str()), ("shopkit", "media-1"));
        let ok = load(
            &["--migrate"],
            &[("SHOPKIT_PROFILE", "postgres"), ("SHOPKIT_DATABASE_URL", "postgres://db/shop")],
        )
        .unwrap();
        assert_eq!(ok.profile, Profile::Postgres);
        assert!(ok.migrate);
        assert!(!ok.seed, "only the embedded profile seeds by default");
        let flag = load(&["--profile", "aws"], &[]).unwrap_err();
        assert!(flag.to_string().contains("database_url"), "{flag}");
    }

    #[test]
    fn short_secrets_and_bad_origins_are_refused() {
        let short = load(&[], &[("SHOPKIT_ADMIN_PASSWORD", "1234")]).unwrap_err();
        let key = load(&[], &[("SHOPKIT_JWT_SIGNING_KEY", "short")]).unwrap_err();
        let origin =
            load(&[], &[("SHOPKIT_CORS_ALLOWED_ORIGINS", "https://a.example/path")]).unwrap_err();
        let url = load(&["--public-base-url", "shop.example.com"], &[]).unwrap_err();

        assert!(matches!(short, ConfigError::Invalid { setting: "admin_password", .. }));
        assert!(!short.to_string().contains("1234"), "a refused secret is not echoed");
        assert!(matches!(key, ConfigError::Invalid { setting: "jwt_signing_key", .. }));
        assert!(matches!(origin, ConfigError::Invalid { setting: "cors_allowed_origins", .. }));
        assert!(matches!(url, ConfigError::Invalid { setting: "public_base_url", .. }));
    }

    #[test]
    fn seed_products_out_of_range_is_refused() {
        let err = load(&["--seed-products", "0"], &[]).unwrap_err();

        assert!(matches!(err, ConfigError::Invalid { setting: "seed_products", .. }));
    }

    #[test]
    fn cors_origins_may_be_a_list_in_the_file_or_the_environment() {
        let file = toml_file("cors_allowed_origins = [\"https://a.example\", \"*\"]\n");
        let from_file = load(&["--config", file.path().to_str().unwrap()], &[]).unwrap();
        let from_env =
            load(&[], &[("SHOPKIT_CORS_ALLOWED_ORIGINS", "[\"https://b.example\"]")]).unwrap();

        assert_eq!(from_file.cors_allowed_origins, ["https://a.example", "*"]);
        assert_eq!(from_env.cors_allowed_origins, ["https://b.example"]);
    }

    #[test]
    fn seed_flags_take_the_last_one_given() {
        let off = load(&["--seed", "--no-seed"], &[("SHOPKIT_SEED", "true")]).unwrap();
        let on = load(&["--no-seed", "--seed"], &[("SHOPKIT_SEED", "false")]).unwrap();

        assert!(!off.seed);
        assert!(on.seed);
    }

    #[test]
    fn the_demo_password_is_announced_only_when_it_is_in_use() {
        let demo = load(&[], &[]).unwrap();
        let configured = load(&[], &[("SHOPKIT_ADMIN_PASSWORD", "correct-horse")]).unwrap();

        let notice = demo.demo_admin_notice().unwrap();
        assert!(notice.contains(DEMO_ADMIN_PASSWORD) && notice.contains("admin@shopkit.local"));
        assert_eq!(configured.demo_admin_notice(), None);
    }

    #[test]
    fn a_random_jwt_key_is_made_only_when_none_is_configured() {
        let unset = load(&[], &[]).unwrap();
        let key = "0123456789abcdef0123456789abcdef";
        let set = load(&[], &[("SHOPKIT_JWT_SIGNING_KEY", key)]).unwrap();

        let first = unset.jwt_signing_key_or_random().unwrap();
        let second = unset.jwt_signing_key_or_random().unwrap();

        assert_eq!(first.expose().len(), 64);
        assert_ne!(first.expose(), second.expose());
        assert_eq!(set.jwt_signing_key_or_random().unwrap().expose(), key);
    }

    #[test]
    fn listening_on_every_interface_gives_a_localhost_base_url() {
        let config = load(&["--listen", "0.0.0.0:9999"], &[]).unwrap();

        assert_eq!(config.public_base_url, "http://localhost:9999");
    }

    #[test]
    fn the_command_defaults_to_serve_and_flags_work_after_it() {
        assert_eq!(cli(&[]).action(), Command::Serve);
        let after = cli(&["serve", "--listen", "127.0.0.1:1234"]);
        assert_eq!(after.action(), Command::Serve);
        assert_eq!(after.settings.listen, Some("127.0.0.1:1234".parse().unwrap()));
    }

    #[test]
    fn every_flag_has_help_text_and_no_secret_has_a_flag() {
        let command = Cli::command();
        for arg in command.get_arguments() {
            let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
            assert!(!help.trim().is_empty(), "--{} has no help", arg.get_id());
        }
        let text = Cli::help_text();
        for secret in ["admin-password", "jwt-signing-key", "database-url", "redis-url"] {
            assert!(!text.contains(&format!("--{secret}")), "a secret has a flag: {text}");
        }
        assert!(text.contains("--listen") && text.contains("SHOPKIT_LISTEN"));
    }

    #[test]
    fn double_underscores_nest_environment_keys() {
        assert_eq!(env_key("SHOPKIT_RATE_LIMIT_BURST").as_deref(), Some("rate_limit_burst"));
        assert_eq!(env_key("SHOPKIT_POSTGRES__POOL_SIZE").as_deref(), Some("postgres.pool_size"));
        assert_eq!(env_key("SHOPKIT_A____B"), None);
        assert_eq!(env_key("OTHER_LISTEN"), None);
        let mut dict = Dict::new();
        insert_nested(&mut dict, "postgres.pool_size", Value::from(5u32));
        let section = dict["postgres"].as_dict().unwrap();
        assert_eq!(section["pool_size"].to_u128(), Some(5));
    }
}
