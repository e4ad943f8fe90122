//! One macro per port that expands to one `#[tokio::test]` per contract, so an adapter's
//! test file runs every contract of a port with one invocation and none can be left out.
//!
//! Each macro takes a factory: a closure called once per test that returns a future of a
//! FRESH subject (a new store, a new schema, a new key prefix). Two forms:
//!
//! ```text
//! // Always runs (in-memory adapters, embedded engines):
//! shopkit_testkit::inventory_contracts!(async || Arc::new(MemoryInventory::new()) as Arc<dyn InventoryStore>);
//!
//! // Needs a service: the factory gets the env var's value; without it the tests skip
//! // with a printed reason, and fail when CI=true (see `require_service`).
//! shopkit_testkit::inventory_contracts!(requires "SHOPKIT_TEST_POSTGRES_URL", async |url: String| {
//!     Arc::new(PgInventory::connect_fresh_schema(&url).await.unwrap()) as Arc<dyn InventoryStore>
//! });
//! ```
//!
//! The expansion is a module named after the port (`mod inventory { ... }`) holding one
//! `#[tokio::test(flavor = "multi_thread", worker_threads = 4)]` per contract, so the
//! adapter's crate needs `tokio` (with `macros` and `rt-multi-thread`) as a dev-dependency.
//! The factory expression is resolved inside that module, which glob-imports its parent:
//! write it with the names the test file imports.

/// Expands a port's contract list into tests. Not for direct use: call a port macro.
#[doc(hidden)]
#[macro_export]
macro_rules! __contract_tests {
    // Gated on a service: first, so `requires` is matched as a token before `expr` is tried.
    (
        module = $module:ident,
        subject = $subject:tt,
        contracts = [$($name:ident($($arg:expr),*)),* $(,)?],
        factory = [requires $var:literal, $factory:expr]
    ) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let Some(service) = $crate::require_service($var) else {
                        return;
                    };
                    #[allow(unused_variables)]
                    let $subject = ($factory)(service).await;
                    $crate::$module::$name($($arg),*).await;
                }
            )*
        }
    };
    (
        module = $module:ident,
        subject = $subject:tt,
        contracts = [$($name:ident($($arg:expr),*)),* $(,)?],
        factory = [$factory:expr]
    ) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    #[allow(unused_variables)]
                    let $subject = ($factory)().await;
                    $crate::$module::$name($($arg),*).await;
                }
            )*
        }
    };
}

/// Runs every [`products`](crate::products) contract. The factory returns
/// `Arc<dyn ProductRepository>`.
#[macro_export]
macro_rules! products_contracts {
    ($($factory:tt)+) => {
        $crate::__contract_tests! {
            module = products,
            subject = repo,
            contracts = [
                insert_stores_version_1(repo),
                insert_rejects_a_taken_id_slug_or_sku(repo),
                concurrent_inserts_with_one_slug_have_one_winner(repo),
                update_with_the_stored_version_bumps_it(repo),
                stale_version_update_is_a_conflict(repo),
                concurrent_updates_from_one_version_have_one_winner(repo),
                update_keeps_slugs_and_skus_unique(repo),
                by_skus_returns_each_product_once(repo),
                list_pages_never_repeat_or_skip(repo),
                list_clamps_the_page_size(repo),
                list_rejects_a_foreign_cursor(repo),
                list_filters_by_status_category_and_attributes(repo),
                delete_removes_a_product(repo),
                categories_are_upserted_and_ordered_by_position(repo),
            ],
            factory = [$($factory)+]
        }
    };
}

/// Runs every [`carts`](crate::carts) contract. The factory returns `Arc<dyn CartStore>`.
#[macro_export]
macro_rules! carts_contracts {
    ($($factory:tt)+) => {
        $crate::__contract_tests! {
            module = carts,
            subject = store,
            contracts = [
                save_of_a_new_cart_inserts_it_at_version_1(store),
                save_of_a_new_cart_with_a_taken_id_already_exists(store),
                save_with_the_stored_version_bumps_it(store),
                stale_version_save_is_a_conflict(store),
                concurrent_saves_from_one_version_have_one_winner(store),
                expired_carts_are_not_returned(store),
                open_cart_of_returns_the_latest_open_cart(store),
                stale_open_carts_returns_only_open_unexpired_untouched_carts(store),
            ],
            factory = [$($factory)+]
        }
    };
}

/// Runs every [`orders`](crate::orders) contract. The factory returns
/// `(Arc<dyn OrderRepository>, Arc<dyn OutboxStore>)`: the repository and the outbox it
/// writes to.
#[macro_export]
macro_rules! orders_contracts {
    ($($factory:tt)+) => {
        $crate::__contract_tests! {
            module = orders,
            subject = (orders, outbox),
            contracts = [
                insert_writes_the_order_and_its_events(orders, outbox),
                insert_of_an_existing_id_writes_no_events(orders, outbox),
                concurrent_inserts_of_one_order_write_events_once(orders, outbox),
                update_writes_the_change_and_its_events(orders, outbox),
                stale_version_update_writes_nothing(orders, outbox),
                concurrent_updates_have_one_winner_and_its_events_only(orders, outbox),
                by_refund_finds_the_order_of_a_refund(orders, outbox),
                list_pages_newest_first_and_filters(orders, outbox),
            ],
            factory = [$($factory)+]
        }
    };
}

/// Runs every [`outbox`](crate::outbox) contract. The factory returns
/// `Arc<dyn OutboxStore>`.
#[macro_export]
macro_rules! outbox_contracts {
    ($($factory:tt)+) => {
        $crate::__contract_tests! {
            module = outbox,
            subject = outbox,
            contracts = [
                append_is_idempotent_by_event_id(outbox),
                claim_due_claims_due_entries_oldest_first(outbox),
                a_claim_is_leased_until_it_expires(outbox),
                concurrent_claimers_never_get_the_same_entry(outbox),
                delivered_entries_are_not_claimed_again(outbox),
                failed_entries_are_retried_at_their_next_attempt(outbox),
                dead_entries_are_not_claimed(outbox),
                redeliver_makes_an_entry_due_now_for_everyone(outbox),
                list_is_newest_first_and_filters_by_status(outbox),
            ],
            factory = [$($factory)+]
        }
    };
}

/// Runs every [`customers`](crate::customers) contract. The factory returns
/// `(Arc<dyn CustomerRepository>, Arc<dyn OutboxStore>)`.
#[macro_export]
macro_rules! customers_contracts {
    ($($factory:tt)+) => {
        $crate::__contract_tests! {
            module = customers,
            subject = (customers, outbox),
            contracts = [
                insert_writes_the_customer_and_its_events(customers, outbox),
                insert_rejects_a_taken_id_or_email_and_writes_no_events(customers, outbox),
                concurrent_inserts_with_one_email_have_one_winner(customers, outbox),
                by_email_ignores_letter_case(customers, outbox),
                update_checks_the_version(customers, outbox),
                update_keeps_emails_unique(customers, outbox),
                list_pages_by_id(customers, outbox),
            ],
            factory = [$($factory)+]
        }
    };
}

/// Runs every [`inventory`](crate::inventory) contract. The factory returns
/// `Arc<dyn InventoryStore>`.
#[macro_export]
macro_rules! inventory_contracts {
    ($($factory:tt)+) => {
        $crate::__contract_tests! {
            module = inventory,
            subject = store,
            contracts = [
                reserve_is_all_or_nothing(store),
                out_of_stock_names_the_first_short_sku_in_request_order(store),
                concurrent_reservations_never_oversell(store),
                concurrent_multi_sku_reservations_leave_no_partial_holds(store),
                reserve_with_a_known_id_and_the_same_lines_holds_stock_once(store),
                concurrent_retries_of_one_reservation_hold_stock_once(store),
                reserve_with_a_known_id_and_other_lines_is_a_mismatch(store),
                commit_turns_a_reservation_into_a_sale_once(store),
                commit_of_a_released_or_expired_reservation_is_closed(store),
                release_gives_stock_back_once(store),
                release_of_a_committed_reservation_changes_nothing(store),
                release_expired_expires_only_due_reservations(store),
                adjust_adds_to_on_hand(store),
                adjust_never_takes_on_hand_below_reserved(store),
                adjust_once_applies_a_key_once(store),
                concurrent_applications_of_one_key_adjust_once(store),
                adjustments_under_different_keys_add_up(store),
                a_key_reused_for_another_adjustment_is_invalid(store),
                a_refused_adjustment_leaves_its_key_unused(store),
                unknown_skus_are_unknown(store),
                set_stock_keeps_reservations(store),
                backorders_allow_reserving_up_to_their_limit(store),
                malformed_reservations_are_invalid(store),
                levels_and_reservations_can_be_read_back(store),
            ],
            factory = [$($factory)+]
        }
    };
}

/// Runs every [`idempotency`](crate::idempotency) contract. The factory returns
/// `Arc<dyn IdempotencyStore>`.
#[macro_export]
macro_rules! idempotency_contracts {
    ($($factory:tt)+) => {
        $crate::__contract_tests! {
            module = idempotency,
            subject = store,
            contracts = [
                concurrent_begins_have_exactly_one_owner(store),
                begin_during_the_lease_is_in_progress(store),
                completed_results_are_replayed_until_retention_ends(store),
                a_different_fingerprint_is_a_mismatch(store),
                abandon_frees_the_key(store),
                scopes_are_independent(store),
            ],
            factory = [$($factory)+]
        }
    };
}

/// Runs every [`checkout_journal`](crate::checkout_journal) contract. The factory returns
/// `Arc<dyn CheckoutJournal>`.
#[macro_export]
macro_rules! checkout_journal_contracts {
    ($($factory:tt)+) => {
        $crate::__contract_tests! {
            module = checkout_journal,
            subject = journal,
            contracts = [
                progress_is_saved_replaced_and_read_back_whole(journal),
                removed_progress_is_gone(journal),
                stale_lists_the_oldest_first_up_to_the_limit(journal),
            ],
            factory = [$($factory)+]
        }
    };
}

/// Runs every [`promotions`](crate::promotions) contract. The factory returns
/// `Arc<dyn PromotionRepository>`.
#[macro_export]
macro_rules! promotions_contracts {
    ($($factory:tt)+) => {
        $crate::__contract_tests! {
            module = promotions,
            subject = repo,
            contracts = [
                promotions_can_be_stored_found_and_deleted(repo),
                all_is_ordered_by_priority_then_id(repo),
                coupon_codes_are_unique(repo),
                concurrent_redemptions_stay_within_the_usage_limit(repo),
                redeeming_twice_for_one_order_counts_once(repo),
                release_gives_a_use_back(repo),
                settings_round_trip(repo),
            ],
            factory = [$($factory)+]
        }
    };
}

/// Runs every [`cache`](crate::cache) contract. The factory returns
/// `(Arc<dyn Cache>, TimeControl)`: the cache and how to let time pass for it.
#[macro_export]
macro_rules! cache_contracts {
    ($($factory:tt)+) => {
        $crate::__contract_tests! {
            module = cache,
            subject = (cache, time),
            contracts = [
                get_returns_what_set_stored(cache),
                set_replaces_the_value(cache),
                values_expire_after_their_ttl(cache, time),
                delete_removes_and_tolerates_missing_keys(cache),
            ],
            factory = [$($factory)+]
        }
    };
}

/// Runs every [`payments`](crate::payments) contract. The factory returns
/// `(Arc<dyn PaymentGateway>, PaymentMethods)`.
#[macro_export]
macro_rules! payments_contracts {
    ($($factory:tt)+) => {
        $crate::__contract_tests! {
            module = payments,
            subject = (gateway, methods),
            contracts = [
                authorize_holds_the_amount(gateway, methods),
                authorize_is_idempotent_by_key(gateway, methods),
                a_declining_method_is_declined(gateway, methods),
                capture_never_exceeds_the_authorized_amount(gateway, methods),
                capture_is_idempotent_by_key(gateway, methods),
                a_voided_authorization_cannot_be_captured(gateway, methods),
                refunds_never_exceed_what_was_captured(gateway, methods),
                refund_is_idempotent_by_key(gateway, methods),
                an_unknown_payment_is_unknown(gateway, methods),
            ],
            factory = [$($factory)+]
        }
    };
}

/// Runs every [`notifier`](crate::notifier) contract. The factory returns
/// `(Arc<dyn Notifier>, NotifierCases)`.
#[macro_export]
macro_rules! notifier_contracts {
    ($($factory:tt)+) => {
        $crate::__contract_tests! {
            module = notifier,
            subject = (notifier, cases),
            contracts = [
                an_accepted_message_gets_a_provider_id(notifier, cases),
                a_refused_recipient_is_rejected(notifier, cases),
                an_unreachable_provider_is_unavailable(cases.unreachable, cases.accepted),
                a_repeated_dedup_key_is_delivered_once(notifier, cases),
            ],
            factory = [$($factory)+]
        }
    };
}

/// Runs every [`media`](crate::media) contract. The factory returns
/// `(Arc<dyn MediaStore>, MediaLimits)`.
#[macro_export]
macro_rules! media_contracts {
    ($($factory:tt)+) => {
        $crate::__contract_tests! {
            module = media,
            subject = (store, limits),
            contracts = [
                put_then_get_returns_the_bytes_and_metadata(store),
                put_overwrites_an_existing_key(store),
                missing_keys_are_not_found_and_delete_tolerates_them(store),
                list_returns_objects_under_a_prefix_by_key(store),
                malformed_keys_are_invalid(store),
                bodies_above_the_limit_are_too_large(store, limits),
                presigned_urls_stop_working_after_they_expire(store, limits),
            ],
            factory = [$($factory)+]
        }
    };
}

/// Runs every [`search`](crate::search) contract. The factory returns
/// `Arc<dyn SearchIndex>`.
#[macro_export]
macro_rules! search_contracts {
    ($($factory:tt)+) => {
        $crate::__contract_tests! {
            module = search,
            subject = index,
            contracts = [
                only_active_products_are_found(index),
                every_word_must_match(index),
                an_exact_sku_finds_its_product(index),
                filters_by_category_attributes_and_price(index),
                facet_counts_cover_every_match(index),
                index_replaces_and_remove_removes(index),
                pages_never_repeat_or_skip(index),
                sorts_by_price_and_title(index),
                a_foreign_cursor_is_invalid(index),
            ],
            factory = [$($factory)+]
        }
    };
}

/// Runs every [`recommender`](crate::recommender) contract. The factory returns
/// `Arc<dyn Recommender>`.
#[macro_export]
macro_rules! recommender_contracts {
    ($($factory:tt)+) => {
        $crate::__contract_tests! {
            module = recommender,
            subject = rec,
            contracts = [
                similar_never_includes_the_product_itself(rec),
                for_customer_holds_each_product_once_within_the_limit(rec),
                unknown_products_and_customers_get_nothing(rec),
            ],
            factory = [$($factory)+]
        }
    };
}

/// Runs every [`identity`](crate::identity) contract. The factory returns
/// `(Arc<dyn IdentityVerifier>, TestTokens)`.
#[macro_export]
macro_rules! identity_contracts {
    ($($factory:tt)+) => {
        $crate::__contract_tests! {
            module = identity,
            subject = (verifier, tokens),
            contracts = [
                a_valid_token_yields_its_principal(verifier, tokens),
                an_expired_token_is_expired(verifier, tokens),
                a_tampered_token_is_invalid(verifier, tokens),
                tokens_of_another_issuer_or_audience_are_invalid(verifier, tokens),
                malformed_tokens_are_invalid(verifier, tokens),
            ],
            factory = [$($factory)+]
        }
    };
}

/// Runs every [`ids`](crate::ids) contract. The factory returns `Arc<dyn IdGenerator>`.
#[macro_export]
macro_rules! ids_contracts {
    ($($factory:tt)+) => {
        $crate::__contract_tests! {
            module = ids,
            subject = ids,
            contracts = [
                uuids_never_repeat(ids),
                cart_tokens_are_unguessable(ids),
            ],
            factory = [$($factory)+]
        }
    };
}

/// Runs every [`checkout`](crate::checkout) contract: the saga end to end over one set of
/// adapters. The factory returns `(CheckoutWorld, Arc<dyn Fn() -> usize + Send + Sync>)`:
/// fresh ports, and a way to count the gateway's real authorizations.
#[macro_export]
macro_rules! checkout_contracts {
    ($($factory:tt)+) => {
        $crate::__contract_tests! {
            module = checkout,
            subject = (world, authorizations),
            contracts = [
                checkout_places_one_order_per_idempotency_key(world, &*authorizations),
                checkout_fails_cleanly_when_stock_runs_out(world),
                declined_payment_releases_stock_and_places_no_order(world, &*authorizations),
                checkout_reconciles_quote_and_order_totals(world),
                a_checkout_cut_off_after_any_step_is_finished_or_undone_by_recovery(world),
            ],
            factory = [$($factory)+]
        }
    };
}

/// Runs every [`accounts`](crate::accounts) contract. The factory returns
/// `(Arc<dyn IdentityProvider>, RefreshExpiry)`: a provider and how to outlive its refresh
/// tokens.
#[macro_export]
macro_rules! accounts_contracts {
    ($($factory:tt)+) => {
        $crate::__contract_tests! {
            module = accounts,
            subject = (provider, expiry),
            contracts = [
                a_created_account_signs_in_with_its_password(provider),
                the_access_token_verifies_to_the_accounts_principal(provider),
                an_email_with_an_account_is_taken_in_any_letter_case(provider),
                sign_in_ignores_the_letter_case_of_the_email(provider),
                a_wrong_password_and_an_unknown_email_are_alike_invalid_credentials(provider),
                refresh_rotates_the_refresh_token(provider),
                reusing_a_refresh_token_ends_its_session_family(provider),
                concurrent_refreshes_of_one_token_have_one_winner(provider),
                sign_out_ends_the_session(provider),
                an_expired_refresh_token_ends_the_session(provider, expiry),
            ],
            factory = [$($factory)+]
        }
    };
}
