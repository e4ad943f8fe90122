//! Who is asking: [`CartAccess`] for carts, [`Caller`] for orders, refunds and customers.
//!
//! Services check access themselves (defence in depth behind the HTTP layer's auth), and
//! answer "not found" for records the caller may not see, so ids cannot be probed.

use crate::cart::Cart;
use crate::ids::{CartId, CartToken, CustomerId};
use crate::orders::Order;
use crate::ports::{Principal, Role};

use super::error::ShopError;
use super::keys;

/// How a caller proves it may use a cart.
///
/// - `Customer(id)`: a signed-in customer sees the carts they own.
/// - `Token(token)`: whoever holds a guest cart's token sees that guest cart. A token does
///   not open a cart that belongs to a customer (once a guest cart is handed to a customer
///   at sign-in, the customer's session is needed).
/// - `Admin`: back-office staff see every cart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CartAccess {
    /// A signed-in customer.
    Customer(CustomerId),
    /// The holder of a guest cart's token (its `Debug` is redacted).
    Token(CartToken),
    /// Back-office staff.
    Admin,
}

impl CartAccess {
    /// Whether this caller may read and change `cart`.
    pub fn allows(&self, cart: &Cart) -> bool {
        match self {
            CartAccess::Customer(customer) => cart.customer() == Some(*customer),
            CartAccess::Token(token) => {
                cart.customer().is_none()
                    && constant_time_eq(token.expose().as_bytes(), cart.token().expose().as_bytes())
            }
            CartAccess::Admin => true,
        }
    }

    /// A stable description of the caller for idempotency fingerprints. A token appears
    /// only as a one-way digest (the fingerprint is stored; the token is a secret).
    pub(crate) fn subject(&self) -> String {
        match self {
            CartAccess::Customer(customer) => format!("customer:{customer}"),
            CartAccess::Token(token) => {
                format!("guest:{}", keys::derive(&["cart-token", token.expose()]))
            }
            CartAccess::Admin => "admin".to_owned(),
        }
    }
}

/// Who calls an order, refund or customer operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caller {
    /// A signed-in customer: their own orders, refunds and profile only.
    Customer(CustomerId),
    /// A guest holding the token of the cart a guest order was placed from: that order and
    /// its refunds only (no profile, no listing).
    Guest(CartId),
    /// Back-office staff: everything.
    Admin,
}

impl Caller {
    /// Whether the caller may see a record owned by `owner` (a customer's profile). Guests
    /// own none.
    pub fn can_see(&self, owner: Option<CustomerId>) -> bool {
        match self {
            Caller::Customer(me) => owner == Some(*me),
            Caller::Guest(_) => false,
            Caller::Admin => true,
        }
    }

    /// Whether the caller may see `order` (and its refunds): its customer, the guest whose
    /// cart placed it (a guest order only), or staff.
    pub fn can_see_order(&self, order: &Order) -> bool {
        match self {
            Caller::Customer(me) => order.customer() == Some(*me),
            Caller::Guest(cart) => order.customer().is_none() && order.cart_id() == *cart,
            Caller::Admin => true,
        }
    }

    /// Whether the caller is back-office staff.
    pub fn is_admin(&self) -> bool {
        matches!(self, Caller::Admin)
    }

    /// `Ok` for an admin.
    ///
    /// # Errors
    /// [`ShopError::Forbidden`] naming `action` for anyone else.
    pub fn require_admin(&self, action: &'static str) -> Result<(), ShopError> {
        if self.is_admin() { Ok(()) } else { Err(ShopError::Forbidden { action }) }
    }
}

impl From<&Principal> for Caller {
    /// An admin when the principal has the admin role, otherwise the customer it is.
    fn from(p: &Principal) -> Self {
        if p.has(Role::Admin) { Caller::Admin } else { Caller::Customer(p.customer) }
    }
}

/// Compares two secrets in time that depends on their length only.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cart::CartPolicy;
    use crate::ids::CartId;
    use crate::money::Currency;
    use chrono::DateTime;
    use uuid::Uuid;

    fn cart(customer: Option<CustomerId>, token: &str) -> Cart {
        let token = CartToken::new(token).unwrap();
        Cart::new(
            CartId::from_uuid(Uuid::from_u128(1)),
            token,
            customer,
            Currency::USD,
            DateTime::UNIX_EPOCH,
            &CartPolicy::default(),
        )
    }

    #[test]
    fn a_guest_cart_opens_with_its_token_only() {
        let guest = cart(None, &"ab".repeat(32));
        assert!(CartAccess::Token(CartToken::new(&"ab".repeat(32)).unwrap()).allows(&guest));
        assert!(!CartAccess::Token(CartToken::new(&"cd".repeat(32)).unwrap()).allows(&guest));
        assert!(!CartAccess::Customer(CustomerId::from_uuid(Uuid::from_u128(7))).allows(&guest));
        assert!(CartAccess::Admin.allows(&guest));
    }

    #[test]
    fn a_customer_cart_opens_for_its_customer_and_not_for_its_token() {
        let ann = CustomerId::from_uuid(Uuid::from_u128(7));
        let mine = cart(Some(ann), &"ab".repeat(32));
        assert!(CartAccess::Customer(ann).allows(&mine));
        assert!(!CartAccess::Customer(CustomerId::from_uuid(Uuid::from_u128(8))).allows(&mine));
        assert!(!CartAccess::Token(CartToken::new(&"ab".repeat(32)).unwrap()).allows(&mine));
    }

    #[test]
    fn fingerprints_never_contain_the_token() {
        let token = "ab".repeat(32);
        let subject = CartAccess::Token(CartToken::new(&token).unwrap()).subject();
        assert!(!subject.contains(&token));
        assert_eq!(subject, CartAccess::Token(CartToken::new(&token).unwrap()).subject());
    }

    #[test]
    fn customers_see_their_own_records_and_admins_see_all() {
        let ann = CustomerId::from_uuid(Uuid::from_u128(7));
        assert!(Caller::Customer(ann).can_see(Some(ann)));
        assert!(!Caller::Customer(ann).can_see(None));
        assert!(Caller::Admin.can_see(None));
        assert!(matches!(
            Caller::Customer(ann).require_admin("approve refunds"),
            Err(ShopError::Forbidden { .. })
        ));
    }
}
