//! Contracts of [`Recommender`]: results never include the product asked about, hold each
//! product once, at most `limit`; unknown products and customers get an empty list.
//!
//! Each contract takes a fresh recommender. The contracts do not require any particular
//! recommendation (a trained model decides), only the shape of every answer.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::Duration;
use shopkit_core::ids::{CustomerId, ProductId};
use shopkit_core::ports::{Interaction, InteractionKind, Recommender};

use crate::fixtures::{t0, uuid};
use crate::support::Must;

fn product() -> ProductId {
    ProductId::from_uuid(uuid())
}

fn customer() -> CustomerId {
    CustomerId::from_uuid(uuid())
}

/// Records a small co-purchase history: every customer interacts with `products[0]` and a
/// few others, several times.
async fn history(rec: &dyn Recommender, products: &[ProductId], customers: &[CustomerId]) {
    let kinds = [InteractionKind::View, InteractionKind::AddToCart, InteractionKind::Purchase];
    for (c, customer) in customers.iter().enumerate() {
        for (k, product) in products.iter().enumerate().filter(|(k, _)| *k == 0 || (k + c) % 2 == 0)
        {
            for kind in kinds {
                let interaction = Interaction {
                    customer: *customer,
                    product: *product,
                    kind,
                    at: t0() + Duration::minutes((c * 10 + k) as i64),
                };
                rec.record(&interaction).await.must("record an interaction");
            }
        }
    }
}

fn assert_shape(got: &[ProductId], limit: usize, excluded: Option<ProductId>, what: &str) {
    assert!(got.len() <= limit, "{what}: at most `limit` ({limit}) results, got {}", got.len());
    let unique: HashSet<&ProductId> = got.iter().collect();
    assert_eq!(unique.len(), got.len(), "{what}: each product at most once: {got:?}");
    if let Some(p) = excluded {
        assert!(!got.contains(&p), "{what}: the product asked about must not be recommended");
    }
}

/// `similar` never includes the product asked about, holds each product once and at most
/// `limit`.
pub async fn similar_never_includes_the_product_itself(rec: Arc<dyn Recommender>) {
    // Arrange
    let products: Vec<ProductId> = (0..8).map(|_| product()).collect();
    let customers: Vec<CustomerId> = (0..6).map(|_| customer()).collect();
    history(&*rec, &products, &customers).await;

    // Act / Assert
    for limit in [1, 3, 20] {
        let got = rec.similar(products[0], limit).await.must("similar");
        assert_shape(&got, limit, Some(products[0]), "similar");
    }
    let none = rec.similar(products[1], 0).await.must("similar with limit 0");
    assert!(none.is_empty(), "a limit of 0 gives nothing");
}

/// `for_customer` holds each product once and at most `limit`.
pub async fn for_customer_holds_each_product_once_within_the_limit(rec: Arc<dyn Recommender>) {
    // Arrange
    let products: Vec<ProductId> = (0..8).map(|_| product()).collect();
    let customers: Vec<CustomerId> = (0..6).map(|_| customer()).collect();
    history(&*rec, &products, &customers).await;

    // Act / Assert
    for limit in [1, 3, 20] {
        let got = rec.for_customer(customers[0], limit).await.must("for_customer");
        assert_shape(&got, limit, None, "for_customer");
    }
}

/// An unknown product or customer yields an empty list, not an error.
pub async fn unknown_products_and_customers_get_nothing(rec: Arc<dyn Recommender>) {
    // Arrange
    let products: Vec<ProductId> = (0..4).map(|_| product()).collect();
    history(&*rec, &products, &[customer(), customer()]).await;

    // Act
    let similar = rec.similar(product(), 10).await.must("similar of an unknown product");
    let for_customer =
        rec.for_customer(customer(), 10).await.must("for_customer of an unknown customer");

    // Assert
    assert!(similar.is_empty(), "an unknown product has no similar products: {similar:?}");
    assert!(for_customer.is_empty(), "an unknown customer gets an empty list: {for_customer:?}");
}
