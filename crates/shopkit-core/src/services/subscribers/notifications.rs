//! Customer emails rendered from events.

use std::fmt::Write as _;
use std::sync::Arc;

use async_trait::async_trait;

use crate::events::{DomainEvent, EventEnvelope, EventLine};
use crate::ids::{CustomerId, Email};
use crate::ports::{
    Channel, CustomerRepository, EventSubscriber, Message, Notifier, NotifyError, SubscriberError,
};

use super::store;

/// Renders and sends the shop's customer emails: order confirmation (with the total),
/// shipping notice (with tracking), cancellation, refund, welcome and abandoned-cart
/// reminder. Plain text plus simple HTML; every text from outside (names, reasons,
/// tracking) is escaped in the HTML.
///
/// - The dedup key is `"{event_id}:{template}"`: a redelivered event is not mailed twice
///   by a notifier that can tell.
/// - `Unavailable` is transient (retried); a `Rejected` recipient is logged and skipped.
/// - Abandoned-cart reminders go only to customers who accept marketing.
#[derive(Clone)]
pub struct NotificationSubscriber {
    notifier: Arc<dyn Notifier>,
    customers: Arc<dyn CustomerRepository>,
    shop_name: String,
}

impl std::fmt::Debug for NotificationSubscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotificationSubscriber")
            .field("shop_name", &self.shop_name)
            .finish_non_exhaustive()
    }
}

/// A rendered message before it gets its key and recipient.
struct Draft {
    template: &'static str,
    to: Email,
    subject: String,
    text: String,
    html: String,
}

impl NotificationSubscriber {
    /// A subscriber signing its emails with `shop_name`.
    pub fn new(
        notifier: Arc<dyn Notifier>,
        customers: Arc<dyn CustomerRepository>,
        shop_name: impl Into<String>,
    ) -> Self {
        NotificationSubscriber { notifier, customers, shop_name: shop_name.into() }
    }

    async fn render(&self, envelope: &EventEnvelope) -> Result<Option<Draft>, SubscriberError> {
        let shop = &self.shop_name;
        let draft = match &envelope.event {
            DomainEvent::OrderPlaced { order_id, email, total, lines, .. } => {
                let subject = format!("{shop}: order {} confirmed", short(order_id));
                let text = format!(
                    "Thank you for your order {order_id}.\n\n{}\nTotal: {total}\n\nWe will write again when it ships.\n{shop}\n",
                    text_lines(lines)
                );
                let html = format!(
                    "<p>Thank you for your order <b>{order_id}</b>.</p>{}<p>Total: <b>{}</b></p><p>We will write again when it ships.</p><p>{}</p>",
                    html_lines(lines),
                    escape(&total.to_string()),
                    escape(shop)
                );
                Draft { template: "order_placed", to: email.clone(), subject, text, html }
            }
            DomainEvent::OrderShipped { order_id, email, lines, tracking, .. } => {
                let (tracking_text, tracking_html) = match tracking {
                    Some(t) => {
                        let url = t.url.as_deref().map(|u| format!(" ({u})")).unwrap_or_default();
                        let html_url = t
                            .url
                            .as_deref()
                            .map(|u| format!(" (<a href=\"{0}\">{0}</a>)", escape(u)))
                            .unwrap_or_default();
                        (
                            format!("Tracking: {} {}{url}\n", t.carrier, t.number),
                            format!(
                                "<p>Tracking: {} {}{html_url}</p>",
                                escape(&t.carrier),
                                escape(&t.number)
                            ),
                        )
                    }
                    None => (String::new(), String::new()),
                };
                Draft {
                    template: "order_shipped",
                    to: email.clone(),
                    subject: format!("{shop}: order {} has shipped", short(order_id)),
                    text: format!(
                        "Your order {order_id} is on its way.\n\n{}\n{tracking_text}{shop}\n",
                        text_lines(lines)
                    ),
                    html: format!(
                        "<p>Your order <b>{order_id}</b> is on its way.</p>{}{tracking_html}<p>{}</p>",
                        html_lines(lines),
                        escape(shop)
                    ),
                }
            }
            DomainEvent::OrderCancelled { order_id, email, reason, .. } => Draft {
                template: "order_cancelled",
                to: email.clone(),
                subject: format!("{shop}: order {} cancelled", short(order_id)),
                text: format!(
                    "Your order {order_id} was cancelled: {reason}.\nAny payment is released or refunded.\n{shop}\n"
                ),
                html: format!(
                    "<p>Your order <b>{order_id}</b> was cancelled: {}.</p><p>Any payment is released or refunded.</p><p>{}</p>",
                    escape(reason),
                    escape(shop)
                ),
            },
            DomainEvent::RefundProcessed { order_id, email, amount, .. } => Draft {
                template: "refund_processed",
                to: email.clone(),
                subject: format!("{shop}: your refund of {amount}"),
                text: format!(
                    "We refunded {amount} for order {order_id}. It reaches your account within a few days.\n{shop}\n"
                ),
                html: format!(
                    "<p>We refunded <b>{}</b> for order <b>{order_id}</b>. It reaches your account within a few days.</p><p>{}</p>",
                    escape(&amount.to_string()),
                    escape(shop)
                ),
            },
            DomainEvent::CustomerRegistered { customer_id, email } => {
                let name = self.first_name(*customer_id).await;
                let greeting =
                    name.map_or_else(|| "Welcome".to_owned(), |n| format!("Welcome, {n}"));
                Draft {
                    template: "welcome",
                    to: email.clone(),
                    subject: format!("Welcome to {shop}"),
                    text: format!("{greeting}!\n\nYour account is ready.\n{shop}\n"),
                    html: format!(
                        "<p>{}!</p><p>Your account is ready.</p><p>{}</p>",
                        escape(&greeting),
                        escape(shop)
                    ),
                }
            }
            DomainEvent::CartAbandoned { customer_id, item_count, .. } => {
                let Some(customer) = self.customers.get(*customer_id).await.map_err(store)? else {
                    tracing::info!(customer = %customer_id, "abandoned-cart reminder skipped: no such customer");
                    return Ok(None);
                };
                if !customer.accepts_marketing {
                    return Ok(None);
                }
                let items = if *item_count == 1 {
                    "1 item".to_owned()
                } else {
                    format!("{item_count} items")
                };
                let hello = if customer.first_name.is_empty() {
                    "Hello".to_owned()
                } else {
                    format!("Hello {}", customer.first_name)
                };
                Draft {
                    template: "cart_abandoned",
                    to: customer.email,
                    subject: format!("{shop}: you left {items} in your cart"),
                    text: format!(
                        "{hello},\n\nyou left {items} in your cart. They are waiting for you.\n{shop}\n"
                    ),
                    html: format!(
                        "<p>{},</p><p>you left {items} in your cart. They are waiting for you.</p><p>{}</p>",
                        escape(&hello),
                        escape(shop)
                    ),
                }
            }
            DomainEvent::OrderPaid { .. }
            | DomainEvent::OrderDelivered { .. }
            | DomainEvent::OrderCancellationStarted { .. }
            | DomainEvent::OrderCancellationAbandoned { .. }
            | DomainEvent::RefundRequested { .. }
            | DomainEvent::RefundApproved { .. }
            | DomainEvent::RefundRejected { .. }
            | DomainEvent::RefundFailed { .. } => return Ok(None),
        };
        Ok(Some(draft))
    }

    /// The customer's first name, best effort (a welcome without a name beats none).
    async fn first_name(&self, id: CustomerId) -> Option<String> {
        match self.customers.get(id).await {
            Ok(Some(c)) if !c.first_name.is_empty() => Some(c.first_name),
            Ok(_) => None,
            Err(e) => {
                tracing::debug!(customer = %id, error = %e, "welcome email without a name");
                None
            }
        }
    }
}

#[async_trait]
impl EventSubscriber for NotificationSubscriber {
    fn name(&self) -> &str {
        "notifications"
    }

    async fn handle(&self, envelope: &EventEnvelope) -> Result<(), SubscriberError> {
        let Some(draft) = self.render(envelope).await? else {
            return Ok(());
        };
        let message = Message {
            dedup_key: format!("{}:{}", envelope.id, draft.template),
            channel: Channel::Email,
            to: draft.to.as_str().to_owned(),
            subject: draft.subject,
            text: draft.text,
            html: Some(draft.html),
        };
        match self.notifier.send(&message).await {
            Ok(_) => Ok(()),
            Err(NotifyError::Unavailable { message }) => Err(SubscriberError::Transient(message)),
            Err(NotifyError::Rejected { reason }) => {
                tracing::warn!(event = %envelope.id, template = draft.template, %reason, "notification recipient rejected; skipped");
                Ok(())
            }
        }
    }
}

fn short(id: &impl std::fmt::Display) -> String {
    id.to_string().chars().take(8).collect()
}

fn text_lines(lines: &[EventLine]) -> String {
    let mut out = String::new();
    for l in lines {
        let _ = writeln!(out, "  {} x {}", l.quantity, l.sku);
    }
    out
}

fn html_lines(lines: &[EventLine]) -> String {
    let mut out = String::from("<ul>");
    for l in lines {
        let _ = write!(out, "<li>{} &times; {}</li>", l.quantity, escape(l.sku.as_str()));
    }
    out.push_str("</ul>");
    out
}

/// Escapes text for HTML element content and attribute values.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::customers::Customer;
    use crate::ids::{CartId, EventId, OrderId};
    use crate::orders::Tracking;
    use crate::services::test_support::*;

    fn envelope(event: DomainEvent) -> EventEnvelope {
        EventEnvelope {
            id: EventId::from_uuid(uuid::Uuid::from_u128(99)),
            occurred_at: start(),
            event,
        }
    }

    fn recording(
        sent: Arc<Mutex<Vec<Message>>>,
        answer: fn() -> Result<String, NotifyError>,
    ) -> MockNotifier {
        let mut notifier = MockNotifier::new();
        notifier.expect_send().returning(move |m| {
            sent.lock().unwrap().push(m.clone());
            answer()
        });
        notifier
    }

    #[tokio::test]
    async fn a_shipping_notice_carries_the_tracking_and_escapes_it_in_html() {
        let world = World::new();
        let sent = Arc::new(Mutex::new(Vec::new()));
        let subscriber = NotificationSubscriber::new(
            Arc::new(recording(sent.clone(), || Ok("m".into()))),
            world.customers.clone(),
            "Shop",
        );
        let shipped = envelope(DomainEvent::OrderShipped {
            order_id: OrderId::from_uuid(uuid::Uuid::from_u128(5)),
            shipment_id: crate::ids::ShipmentId::from_uuid(uuid::Uuid::from_u128(6)),
            email: email(),
            lines: vec![],
            tracking: Some(Tracking { carrier: "<DHL>".into(), number: "JD01".into(), url: None }),
        });

        subscriber.handle(&shipped).await.unwrap();

        let message = sent.lock().unwrap()[0].clone();
        assert_eq!(
            message.dedup_key,
            format!("{}:order_shipped", EventId::from_uuid(uuid::Uuid::from_u128(99)))
        );
        assert!(message.text.contains("Tracking: <DHL> JD01"));
        let html = message.html.unwrap();
        assert!(html.contains("&lt;DHL&gt;") && !html.contains("<DHL>"));
    }

    #[tokio::test]
    async fn a_rejected_recipient_is_skipped_and_an_outage_is_transient() {
        let world = World::new();
        let event =
            envelope(DomainEvent::CustomerRegistered { customer_id: ann(), email: email() });
        let rejected = NotificationSubscriber::new(
            Arc::new(recording(Arc::default(), || {
                Err(NotifyError::Rejected { reason: "suppressed".into() })
            })),
            world.customers.clone(),
            "Shop",
        );
        let down = NotificationSubscriber::new(
            Arc::new(recording(Arc::default(), || {
                Err(NotifyError::Unavailable { message: "throttled".into() })
            })),
            world.customers.clone(),
            "Shop",
        );
        assert!(rejected.handle(&event).await.is_ok());
        assert!(matches!(down.handle(&event).await, Err(SubscriberError::Transient(_))));
    }

    #[tokio::test]
    async fn abandoned_cart_reminders_go_only_to_customers_who_accept_marketing() {
        let world = World::new();
        let sent = Arc::new(Mutex::new(Vec::new()));
        let subscriber = NotificationSubscriber::new(
            Arc::new(recording(sent.clone(), || Ok("m".into()))),
            world.customers.clone(),
            "Shop",
        );
        let customer = |id: u128, address: &str, accepts_marketing: bool| Customer {
            id: crate::ids::CustomerId::from_uuid(uuid::Uuid::from_u128(id)),
            email: Email::new(address).unwrap(),
            first_name: "Ann".into(),
            last_name: String::new(),
            phone: None,
            addresses: vec![],
            default_address: None,
            groups: vec![],
            accepts_marketing,
            version: 0,
            created_at: start(),
        };
        let keen = customer(1, "keen@example.com", true);
        let quiet = customer(2, "quiet@example.com", false);
        world.customers.insert(&keen, &[]).await.unwrap();
        world.customers.insert(&quiet, &[]).await.unwrap();
        let abandoned = |c: &Customer| {
            envelope(DomainEvent::CartAbandoned {
                cart_id: CartId::from_uuid(uuid::Uuid::from_u128(3)),
                customer_id: c.id,
                item_count: 2,
            })
        };

        subscriber.handle(&abandoned(&keen)).await.unwrap();
        subscriber.handle(&abandoned(&quiet)).await.unwrap();

        let sent = sent.lock().unwrap().clone();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].to, "keen@example.com");
        assert!(sent[0].subject.contains("2 items"));
    }
}
