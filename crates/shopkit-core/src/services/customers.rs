//! Customer accounts: registration, profile, address book.

use std::sync::Arc;

use crate::customers::{Address, Customer};
use crate::events::{DomainEvent, EventEnvelope};
use crate::ids::{AddressId, CustomerId, Email};
use crate::ports::{Clock, Cursor, CustomerRepository, IdGenerator, Page, StoreError};

use super::MAX_ATTEMPTS;
use super::access::Caller;
use super::error::ShopError;
use super::keys;

/// What a new customer gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    /// Sign-in and contact address.
    pub email: Email,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Phone number, if given.
    pub phone: Option<String>,
    /// Agreed to marketing messages (abandoned-cart reminders are sent only then).
    pub accepts_marketing: bool,
}

/// A profile change; `None` fields stay as they are.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProfileUpdate {
    /// A new email (must not belong to another customer).
    pub email: Option<Email>,
    /// A new given name.
    pub first_name: Option<String>,
    /// A new family name.
    pub last_name: Option<String>,
    /// A new phone number (`Some(None)` removes it).
    pub phone: Option<Option<String>>,
    /// A new marketing consent.
    pub accepts_marketing: Option<bool>,
}

/// Customer accounts. Customers manage their own; admins any.
#[derive(Clone)]
pub struct CustomerService {
    customers: Arc<dyn CustomerRepository>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
}

impl std::fmt::Debug for CustomerService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomerService").finish_non_exhaustive()
    }
}

const NAME_MAX: usize = 200;

fn check_name(field: &'static str, value: &str) -> Result<(), ShopError> {
    if value.chars().count() > NAME_MAX {
        return Err(ShopError::Invalid { field, reason: format!("at most {NAME_MAX} characters") });
    }
    Ok(())
}

impl CustomerService {
    /// A customer service.
    pub fn new(
        customers: Arc<dyn CustomerRepository>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGenerator>,
    ) -> Self {
        CustomerService { customers, clock, ids }
    }

    /// Registers a customer; `CustomerRegistered` is written in the same atomic step.
    ///
    /// # Errors
    /// [`ShopError::AlreadyExists`] when the email is taken; [`ShopError::Invalid`] for an
    /// over-long name.
    pub async fn register(&self, registration: Registration) -> Result<Customer, ShopError> {
        self.register_as(CustomerId::from_uuid(self.ids.uuid()), registration).await
    }

    /// Registers under a given id (the id an identity provider already holds credentials
    /// for). Same errors as [`CustomerService::register`].
    pub(crate) async fn register_as(
        &self,
        id: CustomerId,
        registration: Registration,
    ) -> Result<Customer, ShopError> {
        check_name("first_name", &registration.first_name)?;
        check_name("last_name", &registration.last_name)?;
        let now = self.clock.now();
        let mut customer = Customer {
            id,
            email: registration.email,
            first_name: registration.first_name.trim().to_owned(),
            last_name: registration.last_name.trim().to_owned(),
            phone: registration.phone,
            addresses: Vec::new(),
            default_address: None,
            groups: Vec::new(),
            accepts_marketing: registration.accepts_marketing,
            version: 0,
            created_at: now,
        };
        let event = EventEnvelope {
            id: keys::event_id("customer_registered", &id.to_string()),
            occurred_at: now,
            event: DomainEvent::CustomerRegistered {
                customer_id: id,
                email: customer.email.clone(),
            },
        };
        customer.version = self.customers.insert(&customer, std::slice::from_ref(&event)).await?;
        Ok(customer)
    }

    /// A customer the caller may see (their own; admins any).
    ///
    /// # Errors
    /// [`ShopError::NotFound`].
    pub async fn get(&self, caller: &Caller, id: CustomerId) -> Result<Customer, ShopError> {
        self.customers
            .get(id)
            .await?
            .filter(|c| caller.can_see(Some(c.id)))
            .ok_or_else(|| ShopError::not_found("customer", id))
    }

    /// A page of customers, by id.
    ///
    /// # Errors
    /// [`ShopError::Forbidden`] for a customer; [`ShopError::Invalid`] for a foreign cursor.
    pub async fn list(
        &self,
        caller: &Caller,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Page<Customer>, ShopError> {
        caller.require_admin("list customers")?;
        Ok(self.customers.list(cursor, limit.clamp(1, 100)).await?)
    }

    async fn change(
        &self,
        caller: &Caller,
        id: CustomerId,
        apply: impl Fn(&mut Customer) -> Result<(), ShopError>,
    ) -> Result<Customer, ShopError> {
        for attempt in 1..=MAX_ATTEMPTS {
            let mut customer = self.get(caller, id).await?;
            apply(&mut customer)?;
            match self.customers.update(&customer).await {
                Ok(version) => {
                    customer.version = version;
                    return Ok(customer);
                }
                Err(StoreError::VersionConflict { .. }) if attempt < MAX_ATTEMPTS => {}
                Err(e) => return Err(e.into()),
            }
        }
        Err(ShopError::Conflict { entity: "customer", id: id.to_string() })
    }

    /// Changes the profile.
    ///
    /// # Errors
    /// [`ShopError::NotFound`]; [`ShopError::AlreadyExists`] for an email of another
    /// customer; [`ShopError::Invalid`] for an over-long name.
    pub async fn update_profile(
        &self,
        caller: &Caller,
        id: CustomerId,
        update: ProfileUpdate,
    ) -> Result<Customer, ShopError> {
        if let Some(first) = &update.first_name {
            check_name("first_name", first)?;
        }
        if let Some(last) = &update.last_name {
            check_name("last_name", last)?;
        }
        self.change(caller, id, |c| {
            if let Some(email) = &update.email {
                c.email = email.clone();
            }
            if let Some(first) = &update.first_name {
                c.first_name = first.trim().to_owned();
            }
            if let Some(last) = &update.last_name {
                c.last_name = last.trim().to_owned();
            }
            if let Some(phone) = &update.phone {
                c.phone = phone.clone();
            }
            if let Some(consent) = update.accepts_marketing {
                c.accepts_marketing = consent;
            }
            Ok(())
        })
        .await
    }

    /// Adds an address to the book (the first one becomes the default). Returns the
    /// customer; the new address is the last one.
    ///
    /// # Errors
    /// [`ShopError::Invalid`] for an incomplete address; [`ShopError::NotFound`].
    pub async fn add_address(
        &self,
        caller: &Caller,
        id: CustomerId,
        address: Address,
    ) -> Result<Customer, ShopError> {
        address.validate()?;
        let address_id = AddressId::from_uuid(self.ids.uuid());
        self.change(caller, id, |c| {
            if c.addresses.iter().any(|a| a.id == Some(address_id)) {
                return Ok(());
            }
            c.addresses.push(Address { id: Some(address_id), ..address.clone() });
            if c.default_address.is_none() {
                c.default_address = Some(address_id);
            }
            Ok(())
        })
        .await
    }

    /// Removes an address (and clears the default if it was the default).
    ///
    /// # Errors
    /// [`ShopError::NotFound`] for an unknown customer or address.
    pub async fn remove_address(
        &self,
        caller: &Caller,
        id: CustomerId,
        address: AddressId,
    ) -> Result<Customer, ShopError> {
        self.change(caller, id, |c| {
            let before = c.addresses.len();
            c.addresses.retain(|a| a.id != Some(address));
            if c.addresses.len() == before {
                return Err(ShopError::not_found("address", address));
            }
            if c.default_address == Some(address) {
                c.default_address = None;
            }
            Ok(())
        })
        .await
    }

    /// Makes an address of the book the default.
    ///
    /// # Errors
    /// [`ShopError::NotFound`] for an unknown customer or address.
    pub async fn set_default_address(
        &self,
        caller: &Caller,
        id: CustomerId,
        address: AddressId,
    ) -> Result<Customer, ShopError> {
        self.change(caller, id, |c| {
            if !c.addresses.iter().any(|a| a.id == Some(address)) {
                return Err(ShopError::not_found("address", address));
            }
            c.default_address = Some(address);
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::customers::Address;
    use crate::services::test_support::*;

    fn registration(address: &str) -> Registration {
        Registration {
            email: Email::new(address).unwrap(),
            first_name: " Ann ".into(),
            last_name: "Smith".into(),
            phone: None,
            accepts_marketing: true,
        }
    }

    #[tokio::test]
    async fn registering_writes_the_customer_and_its_event_together() {
        let world = World::new();
        let customers = world.shop().customers().clone();

        let ann = customers.register(registration("ann@example.com")).await.unwrap();
        let twice = customers.register(registration("ANN@example.com")).await.unwrap_err();

        assert_eq!((ann.first_name.as_str(), ann.version), ("Ann", 1));
        assert!(matches!(twice, ShopError::AlreadyExists { entity: "customer", .. }));
        let entries = world.outbox.entries();
        assert_eq!(entries.len(), 1);
        assert_eq!(
            entries[0].envelope.event,
            DomainEvent::CustomerRegistered { customer_id: ann.id, email: ann.email.clone() }
        );
    }

    #[tokio::test]
    async fn customers_manage_their_own_address_book_only() {
        let world = World::new();
        let customers = world.shop().customers().clone();
        let ann = customers.register(registration("ann@example.com")).await.unwrap();
        let bob = customers.register(registration("bob@example.com")).await.unwrap();
        let me = Caller::Customer(ann.id);

        let with_home = customers.add_address(&me, ann.id, address()).await.unwrap();
        let home = with_home.addresses[0].id.unwrap();
        assert_eq!(with_home.default_address, Some(home), "the first address is the default");
        let with_work = customers
            .add_address(&me, ann.id, Address { line1: "2 Office Rd".into(), ..address() })
            .await
            .unwrap();
        let work = with_work.addresses[1].id.unwrap();
        let switched = customers.set_default_address(&me, ann.id, work).await.unwrap();
        assert_eq!(switched.default_address().map(|a| a.line1.as_str()), Some("2 Office Rd"));
        let removed = customers.remove_address(&me, ann.id, work).await.unwrap();
        assert_eq!((removed.addresses.len(), removed.default_address), (1, None));

        let hidden = customers.add_address(&me, bob.id, address()).await.unwrap_err();
        assert!(matches!(hidden, ShopError::NotFound { entity: "customer", .. }));
        assert!(matches!(customers.list(&me, None, 10).await, Err(ShopError::Forbidden { .. })));
    }

    #[tokio::test]
    async fn a_profile_update_changes_only_what_is_given() {
        let world = World::new();
        let customers = world.shop().customers().clone();
        let ann = customers.register(registration("ann@example.com")).await.unwrap();
        let update = ProfileUpdate {
            accepts_marketing: Some(false),
            phone: Some(Some("+1 555 0100".into())),
            ..ProfileUpdate::default()
        };

        let updated =
            customers.update_profile(&Caller::Customer(ann.id), ann.id, update).await.unwrap();

        assert!(!updated.accepts_marketing);
        assert_eq!(updated.phone.as_deref(), Some("+1 555 0100"));
        assert_eq!((updated.first_name.as_str(), updated.version), ("Ann", 2));
    }
}
