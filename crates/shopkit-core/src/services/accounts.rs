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
