//! The back-office and storefront services around the core flow: promotions admin, the
//! event log, recommendations and media URLs, through the facade with memory adapters.
//!
//! Run with: `cargo test --test back_office`

use std::sync::Arc;

use chrono::Duration;
use rust_decimal::Decimal;
use shopkit::core::catalog::{MediaKind, MediaRef, ProductStatus};
use shopkit::core::events::OutboxStatus;
use shopkit::core::ids::{CouponCode, CustomerId, PromotionId, Sku};
use shopkit::core::money::{Currency, Money};
use shopkit::core::ports::{Interaction, InteractionKind, MediaUpload, Recommender};
use shopkit::core::pricing::{Promotion, PromotionKind};
use shopkit::core::services::{
    Caller, EventLogService, MediaService, ProductDraft, PromotionService, RecommendationService,
    Registration, ShopError, VariantDraft,
};
use shopkit::memory::InMemory;

fn promotion(backend: &InMemory, code: &str) -> Promotion {
    Promotion::builder(
        PromotionId::from_uuid(backend.ids.uuid()),
        code,
        PromotionKind::Percentage(Decimal::from(5)),
    )
    .coupon(CouponCode::new(code).unwrap())
    .build()
    .unwrap()
}

#[tokio::test]
async fn only_admins_manage_promotions_and_coupon_codes_stay_unique() {
    let backend = InMemory::new();
    let service = PromotionService::new(backend.promotions.clone());
    let customer = Caller::Customer(CustomerId::from_uuid(backend.ids.uuid()));
    let first = promotion(&backend, "SPRING");

    assert!(matches!(service.save(&customer, &first).await, Err(ShopError::Forbidden { .. })));
    assert!(matches!(service.list(&customer).await, Err(ShopError::Forbidden { .. })));
    let saved = service.save(&Caller::Admin, &first).await.unwrap();
    assert_eq!(saved.id(), first.id());
    let clash = promotion(&backend, "spring");
    assert!(matches!(
        service.save(&Caller::Admin, &clash).await,
        Err(ShopError::AlreadyExists { .. })
    ));
    assert_eq!(service.list(&Caller::Admin).await.unwrap().len(), 1);
    service.delete(&Caller::Admin, first.id()).await.unwrap();
    assert!(matches!(
        service.get(&Caller::Admin, first.id()).await,
        Err(ShopError::NotFound { .. })
    ));
}

#[tokio::test]
async fn the_event_log_shows_dead_events_and_redelivers_them() {
    let backend = InMemory::new();
    let shop = backend.shop().unwrap();
    let registration = Registration {
        email: "cy@example.com".parse().unwrap(),
        first_name: "Cy".into(),
        last_name: "Oh".into(),
        phone: None,
        accepts_marketing: false,
    };
    shop.customers().register(registration).await.unwrap();
    let log = EventLogService::new(backend.outbox.clone(), backend.clock.clone());
    let customer = Caller::Customer(CustomerId::from_uuid(backend.ids.uuid()));
    assert!(matches!(log.list(&customer, None, None, 10).await, Err(ShopError::Forbidden { .. })));

    let page = log.list(&Caller::Admin, Some(OutboxStatus::Pending), None, 10).await.unwrap();
    assert_eq!(page.items.len(), 1);
    let event = page.items[0].envelope.id;
    shop.dispatcher(backend.subscribers("Shop")).run_once().await.unwrap();
    assert_eq!(
        log.list(&Caller::Admin, Some(OutboxStatus::Delivered), None, 10)
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    log.redeliver(&Caller::Admin, event).await.unwrap();
    assert_eq!(
        log.list(&Caller::Admin, Some(OutboxStatus::Pending), None, 10).await.unwrap().items.len(),
        1
    );
    // Subscribers dedupe by event id: the welcome email is not sent twice.
    shop.dispatcher(backend.subscribers("Shop")).run_once().await.unwrap();
    assert_eq!(backend.notifier.sent().len(), 1);
}

#[tokio::test]
async fn recommendations_are_active_products_bought_together() {
    let backend = InMemory::new();
    let shop = backend.shop().unwrap();
    let mut ids = Vec::new();
    for (i, status) in
        [ProductStatus::Active, ProductStatus::Active, ProductStatus::Archived].iter().enumerate()
    {
        let price = vec![Money::from_minor(1000, Currency::USD)];
        let variant = VariantDraft::new(Sku::new(&format!("P{i}")).unwrap(), "One", price);
        let draft = ProductDraft::new(format!("Product {i}"), vec![variant]).with_status(*status);
        ids.push(shop.catalog().create_product(draft).await.unwrap().id);
    }
    let now = backend.clock.now();
    for n in 0..3 {
        let customer = CustomerId::from_uuid(backend.ids.uuid());
        for (p, kind) in
            [(ids[0], InteractionKind::Purchase), (ids[1 + n % 2], InteractionKind::Purchase)]
        {
            backend
                .recommender
                .record(&Interaction { customer, product: p, kind, at: now })
                .await
                .unwrap();
        }
    }
    let service = RecommendationService::new(
        backend.recommender.clone(),
        backend.products.clone(),
        backend.clock.clone(),
    );
    let similar = service.similar(ids[0], 10).await.unwrap();
    let similar: Vec<_> = similar.iter().map(|p| p.id).collect();
    assert_eq!(similar, vec![ids[1]], "the archived product is never recommended");
    assert!(service.similar(ids[0], 0).await.is_ok(), "limits are clamped, not errors");

    backend.recommender.set_down(true);
    assert!(service.similar(ids[0], 10).await.unwrap().is_empty(), "an outage degrades to nothing");
}

#[tokio::test]
async fn media_urls_are_presigned_or_from_the_cdn_and_uploads_are_admin_only() {
    let backend = InMemory::new();
    let service = MediaService::new(backend.media.clone(), Duration::hours(1));
    let upload = MediaUpload {
        key: "products/p1/front.jpg".into(),
        content_type: "image/jpeg".into(),
        bytes: vec![0xFF, 0xD8, 0xFF],
    };
    let customer = Caller::Customer(CustomerId::from_uuid(backend.ids.uuid()));
    assert!(matches!(
        service.upload(&customer, upload.clone()).await,
        Err(ShopError::Forbidden { .. })
    ));
    let stored = service.upload(&Caller::Admin, upload).await.unwrap();
    assert_eq!(stored.size, 3);
    let media = MediaRef { key: stored.key.clone(), kind: MediaKind::Image, alt: None };
    let url = service.url(&media).await.unwrap();
    assert!(url.contains("products/p1/front.jpg"), "{url}");
    let bad = MediaUpload {
        key: "../etc/passwd".into(),
        content_type: "image/jpeg".into(),
        bytes: vec![1],
    };
    assert!(matches!(service.upload(&Caller::Admin, bad).await, Err(ShopError::Invalid { .. })));

    let cdn = Arc::new(
        shopkit::memory::MemoryMediaStore::new(backend.clock.clone())
            .with_cdn_base_url("https://cdn.example.com"),
    );
    let service = MediaService::new(cdn, Duration::hours(1));
    assert_eq!(service.url(&media).await.unwrap(), "https://cdn.example.com/products/p1/front.jpg");
}

#[tokio::test]
async fn shoppers_see_in_stock_low_stock_and_backorder_not_raw_counts() {
    use shopkit::core::ids::LocationId;
    use shopkit::core::inventory::BackorderPolicy;
    let backend = InMemory::new();
    let shop = backend.shop().unwrap();
    let skus: Vec<Sku> = ["PLENTY", "FEW", "NONE", "LATER", "UNTRACKED"]
        .iter()
        .map(|s| Sku::new(s).unwrap())
        .collect();
    let main = LocationId::main();
    shop.inventory().set_stock(&skus[0], &main, 50, BackorderPolicy::Deny).await.unwrap();
    shop.inventory().set_stock(&skus[1], &main, 3, BackorderPolicy::Deny).await.unwrap();
    shop.inventory().set_stock(&skus[2], &main, 0, BackorderPolicy::Deny).await.unwrap();
    shop.inventory()
        .set_stock(&skus[3], &main, 0, BackorderPolicy::Allow { limit: Some(10) })
        .await
        .unwrap();
    let a = shop.inventory().availability(&skus).await.unwrap();
    let view: Vec<(bool, bool, Option<u32>)> =
        a.iter().map(|a| (a.in_stock, a.backorder, a.low_stock)).collect();
    assert_eq!(
        view,
        vec![
            (true, false, None),
            (true, false, Some(3)),
            (false, false, None),
            (true, true, None),
            (false, false, None)
        ]
    );
}
