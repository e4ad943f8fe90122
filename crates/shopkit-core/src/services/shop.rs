//! [`Shop`]: every service, built once from the ports.

use std::sync::Arc;

use crate::cart::CartPolicy;
use crate::ports::{
    CartStore, CheckoutJournal, Clock, CustomerRepository, EventSubscriber, IdGenerator,
    IdempotencyStore, IdentityProvider, InventoryStore, OrderRepository, OutboxStore,
    PaymentGateway, ProductRepository, PromotionRepository, SearchIndex,
};

use super::accounts::AccountService;
use super::cart::CartService;
use super::catalog::CatalogService;
use super::checkout::{CheckoutConfig, CheckoutPorts, CheckoutService};
use super::customers::CustomerService;
use super::dispatcher::{DispatchConfig, Dispatcher};
use super::inventory::InventoryService;
use super::orders::OrderService;
use super::refunds::RefundService;

/// A port the builder was not given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("Shop::builder() is missing the {port} port: call .{port}(..) before build()")]
pub struct MissingPort {
    /// The builder method to call.
    pub port: &'static str,
}

/// The shop's use cases, each holding only the ports it needs. Cheap to clone (every
/// service is a handful of `Arc`s); the HTTP layer keeps one in its state.
///
/// ```no_run
/// # use std::sync::Arc;
/// # use shopkit_core::ports::*;
/// # use shopkit_core::services::{CheckoutRequest, Shop};
/// # #[allow(clippy::too_many_arguments)]
/// # async fn place(
/// #     products: Arc<dyn ProductRepository>, search: Arc<dyn SearchIndex>, carts: Arc<dyn CartStore>,
/// #     promotions: Arc<dyn PromotionRepository>, inventory: Arc<dyn InventoryStore>,
/// #     gateway: Arc<dyn PaymentGateway>, orders: Arc<dyn OrderRepository>, outbox: Arc<dyn OutboxStore>,
/// #     idempotency: Arc<dyn IdempotencyStore>, journal: Arc<dyn CheckoutJournal>,
/// #     customers: Arc<dyn CustomerRepository>,
/// #     clock: Arc<dyn Clock>, ids: Arc<dyn IdGenerator>, request: CheckoutRequest,
/// # ) -> Result<(), Box<dyn std::error::Error>> {
/// let shop = Shop::builder()
///     .products(products).search(search).carts(carts).promotions(promotions)
///     .inventory(inventory).payments(gateway).orders(orders).outbox(outbox)
///     .idempotency(idempotency).checkout_journal(journal).customers(customers)
///     .clock(clock).ids(ids)
///     .build()?;
/// let order = shop.checkout().checkout(request).await?;
/// println!("placed {} for {}", order.id(), order.totals().grand_total);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Shop {
    catalog: CatalogService,
    carts: CartService,
    checkout: CheckoutService,
    orders: OrderService,
    refunds: RefundService,
    customers: CustomerService,
    inventory: InventoryService,
    outbox: Arc<dyn OutboxStore>,
    customer_repository: Arc<dyn CustomerRepository>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
}

impl std::fmt::Debug for Shop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shop")
            .field("carts", &self.carts)
            .field("checkout", &self.checkout)
            .finish_non_exhaustive()
    }
}

impl Shop {
    /// Starts a builder: every port is required; the policies have defaults.
    pub fn builder() -> ShopBuilder {
        ShopBuilder::default()
    }

    /// Browsing and catalog management.
    pub fn catalog(&self) -> &CatalogService {
        &self.catalog
    }
    /// Carts.
    pub fn carts(&self) -> &CartService {
        &self.carts
    }
    /// Checkout.
    pub fn checkout(&self) -> &CheckoutService {
        &self.checkout
    }
    /// Orders after checkout.
    pub fn orders(&self) -> &OrderService {
        &self.orders
    }
    /// Refunds.
    pub fn refunds(&self) -> &RefundService {
        &self.refunds
    }
    /// Customer accounts.
    pub fn customers(&self) -> &CustomerService {
        &self.customers
    }
    /// Stock administration.
    pub fn inventory(&self) -> &InventoryService {
        &self.inventory
    }

    /// Accounts (sign-up, sign-in, refresh) through an identity provider.
    pub fn accounts(&self, identity: Arc<dyn IdentityProvider>) -> AccountService {
        AccountService::new(
            self.customers.clone(),
            self.customer_repository.clone(),
            identity,
            self.carts.clone(),
            self.ids.clone(),
        )
    }

    /// A dispatcher delivering the outbox to `subscribers` with the default settings.
    pub fn dispatcher(&self, subscribers: Vec<Arc<dyn EventSubscriber>>) -> Dispatcher {
        self.dispatcher_with(subscribers, DispatchConfig::default())
    }

    /// A dispatcher with explicit settings.
    pub fn dispatcher_with(
        &self,
        subscribers: Vec<Arc<dyn EventSubscriber>>,
        config: DispatchConfig,
    ) -> Dispatcher {
        Dispatcher::new(self.outbox.clone(), self.clock.clone(), subscribers, config)
    }
}

/// Collects the ports and policies of a [`Shop`].
#[derive(Clone, Default)]
pub struct ShopBuilder {
    products: Option<Arc<dyn ProductRepository>>,
    search: Option<Arc<dyn SearchIndex>>,
    carts: Option<Arc<dyn CartStore>>,
    promotions: Option<Arc<dyn PromotionRepository>>,
    inventory: Option<Arc<dyn InventoryStore>>,
    payments: Option<Arc<dyn PaymentGateway>>,
    orders: Option<Arc<dyn OrderRepository>>,
    outbox: Option<Arc<dyn OutboxStore>>,
    idempotency: Option<Arc<dyn IdempotencyStore>>,
    checkout_journal: Option<Arc<dyn CheckoutJournal>>,
    customers: Option<Arc<dyn CustomerRepository>>,
    clock: Option<Arc<dyn Clock>>,
    ids: Option<Arc<dyn IdGenerator>>,
    cart_policy: CartPolicy,
    checkout: CheckoutConfig,
}

impl std::fmt::Debug for ShopBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShopBuilder")
            .field("cart_policy", &self.cart_policy)
            .field("checkout", &self.checkout)
            .finish_non_exhaustive()
    }
}

macro_rules! port_setters {
    ($($name:ident: $port:ident => $doc:literal;)+) => {
        $(
            #[doc = $doc]
            #[must_use]
            pub fn $name(mut self, port: Arc<dyn $port>) -> Self {
                self.$name = Some(port);
                self
            }
        )+
    };
}

fn need<T: ?Sized>(port: &Option<Arc<T>>, name: &'static str) -> Result<Arc<T>, MissingPort> {
    port.clone().ok_or(MissingPort { port: name })
}

impl ShopBuilder {
    port_setters! {
        products: ProductRepository => "Products and categories.";
        search: SearchIndex => "Product search.";
        carts: CartStore => "Carts.";
        promotions: PromotionRepository => "Promotions and pricing settings.";
        inventory: InventoryStore => "Stock and reservations.";
        payments: PaymentGateway => "The payment gateway.";
        orders: OrderRepository => "Orders, written with their outbox events.";
        outbox: OutboxStore => "The outbox the dispatcher reads (and the cart sweep appends to).";
        idempotency: IdempotencyStore => "Idempotency records for checkout.";
        checkout_journal: CheckoutJournal => "Where running checkouts got to, for recovery.";
        customers: CustomerRepository => "Customers.";
        clock: Clock => "The time.";
        ids: IdGenerator => "Fresh ids and cart tokens.";
    }

    /// Cart limits (default: [`CartPolicy::default`]).
    #[must_use]
    pub fn cart_policy(mut self, policy: CartPolicy) -> Self {
        self.cart_policy = policy;
        self
    }

    /// Checkout settings (default: [`CheckoutConfig::default`]); its location is also
    /// where cancellations and refunds put stock back (their events name it; the
    /// [`RestockSubscriber`](super::subscribers::RestockSubscriber) does it).
    #[must_use]
    pub fn checkout_config(mut self, config: CheckoutConfig) -> Self {
        self.checkout = config;
        self
    }

    /// Builds every service.
    ///
    /// # Errors
    /// [`MissingPort`] naming the first port not given.
    pub fn build(self) -> Result<Shop, MissingPort> {
        let products = need(&self.products, "products")?;
        let search = need(&self.search, "search")?;
        let carts = need(&self.carts, "carts")?;
        let promotions = need(&self.promotions, "promotions")?;
        let inventory = need(&self.inventory, "inventory")?;
        let gateway = need(&self.payments, "payments")?;
        let orders = need(&self.orders, "orders")?;
        let outbox = need(&self.outbox, "outbox")?;
        let idempotency = need(&self.idempotency, "idempotency")?;
        let journal = need(&self.checkout_journal, "checkout_journal")?;
        let customers = need(&self.customers, "customers")?;
        let clock = need(&self.clock, "clock")?;
        let ids = need(&self.ids, "ids")?;
        let location = self.checkout.location.clone();
        let released_on_cancel = promotions.clone();
        Ok(Shop {
            catalog: CatalogService::new(products.clone(), search, clock.clone(), ids.clone()),
            carts: CartService::new(
                carts.clone(),
                products.clone(),
                promotions.clone(),
                outbox.clone(),
                clock.clone(),
                ids.clone(),
                self.cart_policy,
            ),
            checkout: CheckoutService::new(
                CheckoutPorts {
                    carts,
                    products,
                    promotions,
                    inventory: inventory.clone(),
                    gateway: gateway.clone(),
                    orders: orders.clone(),
                    idempotency,
                    journal,
                    clock: clock.clone(),
                    ids: ids.clone(),
                },
                self.checkout,
            ),
            orders: OrderService::new(
                orders.clone(),
                gateway.clone(),
                released_on_cancel,
                clock.clone(),
                ids.clone(),
                location.clone(),
            ),
            refunds: RefundService::new(orders, gateway, clock.clone(), ids.clone(), location),
            customers: CustomerService::new(customers.clone(), clock.clone(), ids.clone()),
            inventory: InventoryService::new(inventory),
            outbox,
            customer_repository: customers,
            clock,
            ids,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::test_support::*;

    #[test]
    fn building_without_a_port_names_the_missing_one() {
        let world = World::new();
        let err = Shop::builder()
            .products(world.products.clone())
            .search(world.search.clone())
            .carts(world.carts.clone())
            .build()
            .unwrap_err();
        assert_eq!(err, MissingPort { port: "promotions" });
        assert!(err.to_string().contains(".promotions(..)"));
    }

    #[test]
    fn a_built_shop_debugs_without_secrets() {
        let shop = World::new().shop();
        let debug = format!("{shop:?}");
        assert!(debug.contains("CheckoutService") && debug.contains("reservation_ttl"));
    }
}
