//! [`AccountService`]: sign-up, sign-in (with the guest cart merged), refresh, sign-out.

use std::sync::Arc;

use crate::customers::Customer;
use crate::ids::{CartToken, CustomerId, Email};
use crate::ports::{
    AccountError, CustomerRepository, IdGenerator, IdentityProvider, Password, Role, TokenPair,
};

use super::cart::CartService;
use super::customers::{CustomerService, Registration};
use super::error::ShopError;

/// Accounts: the customer record (through [`CustomerService`], which emits
/// `CustomerRegistered`) and its credentials (through the [`IdentityProvider`]).
///
/// The two live in different stores, so sign-up is ordered to be resumable: credentials
/// first, under a fresh customer id, then the customer record under that id. If the second
/// write fails, signing up again with the same email and password finds the credentials,
/// and finishes the record instead of answering "email taken".
#[derive(Clone)]
pub struct AccountService {
    customers: CustomerService,
    repository: Arc<dyn CustomerRepository>,
    identity: Arc<dyn IdentityProvider>,
    carts: CartService,
    ids: Arc<dyn IdGenerator>,
}

impl std::fmt::Debug for AccountService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountService").finish_non_exhaustive()
    }
}

impl AccountService {
    /// An account service over these ports.
    pub fn new(
        customers: CustomerService,
        repository: Arc<dyn CustomerRepository>,
        identity: Arc<dyn IdentityProvider>,
        carts: CartService,
        ids: Arc<dyn IdGenerator>,
    ) -> Self {
        AccountService { customers, repository, identity, carts, ids }
    }

    /// Registers a customer with a password and signs them in.
    ///
    /// # Errors
    /// [`ShopError::Account`] with `EmailTaken` (sign in instead) or `WeakPassword`;
    /// [`ShopError::Invalid`] for an over-long name.
    pub async fn sign_up(
        &self,
        registration: Registration,
        password: &Password,
    ) -> Result<(Customer, TokenPair), ShopError> {
        self.create(registration, password, &[Role::Customer]).await
    }

    /// Creates a back-office account (customer and admin roles) unless one exists with this
    /// email; used to seed the demo admin. Returns its customer id.
    ///
    /// # Errors
    /// As [`AccountService::sign_up`], except that an existing account is not an error.
    pub async fn ensure_admin(
        &self,
        registration: Registration,
        password: &Password,
    ) -> Result<CustomerId, ShopError> {
        if let Some(existing) = self.repository.by_email(&registration.email).await? {
            return Ok(existing.id);
        }
        let (customer, _) =
            self.create(registration, password, &[Role::Customer, Role::Admin]).await?;
        Ok(customer.id)
    }

    async fn create(
        &self,
        registration: Registration,
        password: &Password,
        roles: &[Role],
    ) -> Result<(Customer, TokenPair), ShopError> {
        let email = registration.email.clone();
        if self.repository.by_email(&email).await?.is_some() {
            return Err(AccountError::EmailTaken.into());
        }
        let id = CustomerId::from_uuid(self.ids.uuid());
        let id = match self.identity.create_account(id, &email, password, roles).await {
            Ok(()) => id,
            // Credentials exist: an earlier sign-up that did not finish its record?
            Err(AccountError::EmailTaken) => self.unfinished_sign_up(&email, password).await?,
            Err(e) => return Err(e.into()),
        };
        let customer = self.customers.register_as(id, registration).await?;
        let tokens = self.identity.sign_in(&email, password).await?;
        Ok((customer, tokens))
    }

    /// The customer id of credentials without a customer record, proven by the password.
    async fn unfinished_sign_up(
        &self,
        email: &Email,
        password: &Password,
    ) -> Result<CustomerId, ShopError> {
        let tokens = self.identity.sign_in(email, password).await.map_err(|e| match e {
            AccountError::InvalidCredentials => AccountError::EmailTaken,
            other => other,
        })?;
        if self.repository.get(tokens.customer).await?.is_some() {
            return Err(AccountError::EmailTaken.into());
        }
        tracing::info!(customer = %tokens.customer, "finishing an interrupted sign-up");
        Ok(tokens.customer)
    }

    /// Signs in; a guest cart, when given, is merged into the customer's cart. A guest cart
    /// that cannot be merged (unknown, expired, another currency) does not fail the sign-in.
    ///
    /// # Errors
    /// [`ShopError::Account`] with `InvalidCredentials` (never says whether the email
    /// exists) or `Throttled`.
    pub async fn sign_in(
        &self,
        email: &Email,
        password: &Password,
        guest_cart: Option<&CartToken>,
    ) -> Result<TokenPair, ShopError> {
        let tokens = self.identity.sign_in(email, password).await?;
        if let Some(token) = guest_cart
            && let Err(e) = self.carts.merge_on_sign_in(token, tokens.customer).await
        {
            tracing::info!(customer = %tokens.customer, error = %e, "guest cart not merged at sign-in");
        }
        Ok(tokens)
    }

    /// Exchanges a refresh token for a new pair (the old one is spent).
    ///
    /// # Errors
    /// [`ShopError::Account`] with `SessionEnded`: sign in again.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair, ShopError> {
        Ok(self.identity.refresh(refresh_token).await?)
    }

    /// Ends the session of a refresh token.
    ///
    /// # Errors
    /// Only when the provider is unavailable.
    pub async fn sign_out(&self, refresh_token: &str) -> Result<(), ShopError> {
        Ok(self.identity.sign_out(refresh_token).await?)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;

    use super::*;
    use crate::cart::CartStatus;
    use crate::events::DomainEvent;
    use crate::money::Currency;
    use crate::ports::{IdentityError, IdentityVerifier, Principal};
    use crate::services::test_support::*;

    mockall::mock! {
        Identity {}
        #[async_trait]
        impl IdentityVerifier for Identity {
            async fn verify(&self, bearer_token: &str) -> Result<Principal, IdentityError>;
        }
        #[async_trait]
        impl IdentityProvider for Identity {
            async fn create_account(
                &self,
                customer: CustomerId,
                email: &Email,
                password: &Password,
                roles: &[Role],
            ) -> Result<(), AccountError>;
            async fn sign_in(&self, email: &Email, password: &Password) -> Result<TokenPair, AccountError>;
            async fn refresh(&self, refresh_token: &str) -> Result<TokenPair, AccountError>;
            async fn sign_out(&self, refresh_token: &str) -> Result<(), AccountError>;
        }
    }

    fn registration() -> Registration {
        Registration {
            email: email(),
            first_name: "Ann".into(),
            last_name: "Smith".into(),
            phone: None,
            accepts_marketing: false,
        }
    }

    fn password() -> Password {
        Password::new("correct horse battery staple").unwrap()
    }

    fn pair(customer: CustomerId, roles: &[Role]) -> TokenPair {
        TokenPair {
            access_token: "access".into(),
            refresh_token: "refresh".into(),
            expires_in: 900,
            customer,
            roles: roles.to_vec(),
        }
    }

    fn accounts(world: &World, identity: MockIdentity) -> AccountService {
        world.shop().accounts(Arc::new(identity))
    }

    /// A mock that accepts one `create_account` with `roles` and then signs the created
    /// customer in (`sign_ins` times).
    fn creating(roles: &'static [Role], sign_ins: usize) -> MockIdentity {
        let created = Arc::new(Mutex::new(None));
        let mut identity = MockIdentity::new();
        let seen = Arc::clone(&created);
        identity
            .expect_create_account()
            .withf(move |_, e, _, r| e == &email() && r == roles)
            .times(1)
            .returning(move |customer, _, _, _| {
                *seen.lock().unwrap() = Some(customer);
                Ok(())
            });
        identity.expect_sign_in().times(sign_ins).returning(move |_, _| {
            let customer = created.lock().unwrap().expect("credentials created before sign-in");
            Ok(pair(customer, roles))
        });
        identity
    }

    #[tokio::test]
    async fn sign_up_creates_the_credentials_and_the_customer_and_signs_in() {
        // Arrange
        let world = World::new();
        let accounts = accounts(&world, creating(&[Role::Customer], 1));

        // Act
        let (customer, tokens) = accounts.sign_up(registration(), &password()).await.unwrap();

        // Assert
        assert_eq!(tokens.customer, customer.id, "the session is the new customer's");
        assert_eq!(tokens.roles, [Role::Customer]);
        let stored = world.customers.get(customer.id).await.unwrap().unwrap();
        assert_eq!(stored.email, email());
        let entries = world.outbox.entries();
        assert_eq!(entries.len(), 1);
        assert_eq!(
            entries[0].envelope.event,
            DomainEvent::CustomerRegistered { customer_id: customer.id, email: email() }
        );
    }

    #[tokio::test]
    async fn sign_up_with_the_email_of_a_customer_is_email_taken_without_asking_the_provider() {
        // Arrange
        let world = World::new();
        world.shop().customers().register(registration()).await.unwrap();
        let accounts = accounts(&world, MockIdentity::new());

        // Act
        let result = accounts.sign_up(registration(), &password()).await;

        // Assert
        assert!(matches!(result, Err(ShopError::Account(AccountError::EmailTaken))), "{result:?}");
    }

    #[tokio::test]
    async fn sign_up_with_someone_elses_credentials_is_email_taken_and_stores_nothing() {
        // Arrange
        let world = World::new();
        let mut identity = MockIdentity::new();
        identity
            .expect_create_account()
            .times(1)
            .returning(|_, _, _, _| Err(AccountError::EmailTaken));
        identity.expect_sign_in().times(1).returning(|_, _| Err(AccountError::InvalidCredentials));
        let accounts = accounts(&world, identity);

        // Act
        let result = accounts.sign_up(registration(), &password()).await;

        // Assert
        assert!(matches!(result, Err(ShopError::Account(AccountError::EmailTaken))), "{result:?}");
        assert!(world.customers.by_email(&email()).await.unwrap().is_none());
        assert!(world.outbox.entries().is_empty());
    }

    #[tokio::test]
    async fn an_interrupted_sign_up_is_finished_by_signing_up_again() {
        // Arrange: credentials exist for `orphan` (the first attempt stopped before the
        // customer record was written).
        let world = World::new();
        let orphan = ann();
        let mut identity = MockIdentity::new();
        identity
            .expect_create_account()
            .times(1)
            .returning(|_, _, _, _| Err(AccountError::EmailTaken));
        identity
            .expect_sign_in()
            .withf(|e, p| e == &email() && p == &password())
            .times(2)
            .returning(move |_, _| Ok(pair(orphan, &[Role::Customer])));
        let accounts = accounts(&world, identity);

        // Act
        let (customer, tokens) = accounts.sign_up(registration(), &password()).await.unwrap();

        // Assert
        assert_eq!(customer.id, orphan, "the record is written under the credentials' id");
        assert_eq!(tokens.customer, orphan);
        assert!(world.customers.get(orphan).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn signing_in_merges_the_guest_cart_into_the_customers_cart() {
        // Arrange
        let world = World::new();
        let (guest, _) = world.guest_cart(&[("TEE", 2)]).await;
        let mut identity = MockIdentity::new();
        identity.expect_sign_in().times(1).returning(|_, _| Ok(pair(ann(), &[Role::Customer])));
        let accounts = accounts(&world, identity);

        // Act
        let tokens = accounts.sign_in(&email(), &password(), Some(guest.token())).await.unwrap();

        // Assert
        assert_eq!(tokens.customer, ann());
        let mine = world.shop().carts().cart_for_customer(ann(), Currency::USD).await.unwrap();
        let units: Vec<(String, u32)> =
            mine.lines().iter().map(|l| (l.sku.to_string(), l.quantity.get())).collect();
        assert_eq!(units, [("TEE".to_owned(), 2)], "the guest's lines are the customer's now");
    }

    #[tokio::test]
    async fn a_guest_cart_that_cannot_be_merged_does_not_fail_the_sign_in() {
        // Arrange
        let world = World::new();
        let unknown = CartToken::new(&"f".repeat(64)).unwrap();
        let mut identity = MockIdentity::new();
        identity.expect_sign_in().times(1).returning(|_, _| Ok(pair(ann(), &[Role::Customer])));
        let accounts = accounts(&world, identity);

        // Act
        let result = accounts.sign_in(&email(), &password(), Some(&unknown)).await;

        // Assert
        assert_eq!(result.unwrap().customer, ann());
    }

    #[tokio::test]
    async fn a_refused_sign_in_merges_nothing() {
        // Arrange
        let world = World::new();
        let (guest, _) = world.guest_cart(&[("TEE", 1)]).await;
        let mut identity = MockIdentity::new();
        identity.expect_sign_in().times(1).returning(|_, _| Err(AccountError::InvalidCredentials));
        let accounts = accounts(&world, identity);

        // Act
        let result = accounts.sign_in(&email(), &password(), Some(guest.token())).await;

        // Assert
        assert!(
            matches!(result, Err(ShopError::Account(AccountError::InvalidCredentials))),
            "{result:?}"
        );
        let cart = world.carts.stored(guest.id()).unwrap();
        assert_eq!((cart.customer(), cart.status()), (None, &CartStatus::Open));
    }

    #[tokio::test]
    async fn ensure_admin_creates_the_admin_once() {
        // Arrange
        let world = World::new();
        let accounts = accounts(&world, creating(&[Role::Customer, Role::Admin], 1));

        // Act
        let first = accounts.ensure_admin(registration(), &password()).await.unwrap();
        let again = accounts.ensure_admin(registration(), &password()).await.unwrap();

        // Assert: the mock allows one create_account and one sign_in only.
        assert_eq!(first, again, "the second call finds the first admin");
        assert_eq!(world.outbox.entries().len(), 1, "one customer was registered");
    }

    #[tokio::test]
    async fn refresh_and_sign_out_pass_the_providers_answers_through() {
        // Arrange
        let world = World::new();
        let mut identity = MockIdentity::new();
        identity.expect_refresh().times(1).returning(|_| Err(AccountError::SessionEnded));
        identity.expect_sign_out().withf(|t| t == "refresh").times(1).returning(|_| Ok(()));
        let accounts = accounts(&world, identity);

        // Act
        let refreshed = accounts.refresh("spent").await;
        let signed_out = accounts.sign_out("refresh").await;

        // Assert
        assert!(matches!(refreshed, Err(ShopError::Account(AccountError::SessionEnded))));
        assert!(signed_out.is_ok());
    }
}
