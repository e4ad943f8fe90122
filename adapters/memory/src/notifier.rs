//! A notifier that records what it would have delivered.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use shopkit_core::ids::Email;
use shopkit_core::ports::{Channel, Message, Notifier, NotifyError};

/// A message the notifier accepted, with the id it answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentMessage {
    /// The provider message id returned by `send` (`msg-000001`).
    pub id: String,
    /// The message.
    pub message: Message,
}

/// An in-memory [`Notifier`] that records accepted messages instead of delivering them.
///
/// As strict as the real providers:
/// - the recipient must fit the channel, else `Rejected`: an email address for
///   [`Channel::Email`] (as SES checks), an E.164 number (`+4915112345678`) for
///   [`Channel::Sms`], a non-blank device token for [`Channel::Push`];
/// - a [`suppress`](Self::suppress)ed recipient is `Rejected` (a bounce or complaint list);
/// - a message without a `dedup_key` is `Rejected` (the core always derives one);
/// - a second message with an accepted `dedup_key` is not recorded again: `send` answers
///   the first message's id.
///
/// Scriptable: [`fail_next`](Self::fail_next) and [`set_down`](Self::set_down) make `send`
/// fail with `Unavailable` (nothing recorded, the dedup key stays free for the retry).
#[derive(Debug, Default)]
pub struct RecordingNotifier {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    sent: Vec<SentMessage>,
    by_dedup_key: HashMap<String, String>,
    suppressed: HashSet<String>,
    fail_next: usize,
    down: bool,
    attempts: usize,
}

impl RecordingNotifier {
    /// A notifier that accepts every well-formed message.
    pub fn new() -> Self {
        RecordingNotifier::default()
    }

    /// Every accepted message, in order; a deduplicated repeat appears once.
    pub fn sent(&self) -> Vec<SentMessage> {
        self.lock().sent.clone()
    }

    /// The accepted messages to `to`, in order.
    pub fn sent_to(&self, to: &str) -> Vec<SentMessage> {
        self.lock().sent.iter().filter(|s| s.message.to == to).cloned().collect()
    }

    /// How many times `send` was called, failures and repeats included.
    pub fn attempts(&self) -> usize {
        self.lock().attempts
    }

    /// Fails the next `n` sends with `Unavailable` (adds to any still pending).
    pub fn fail_next(&self, n: usize) {
        self.lock().fail_next += n;
    }

    /// Takes the provider down (`true`): every send is `Unavailable` until `set_down(false)`.
    pub fn set_down(&self, down: bool) {
        self.lock().down = down;
    }

    /// Puts a recipient on the suppression list: sends to it are `Rejected`.
    pub fn suppress(&self, to: &str) {
        self.lock().suppressed.insert(to.to_owned());
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Whether `to` is an E.164 phone number: `+`, then 2 to 15 digits, not starting with 0.
fn is_e164(to: &str) -> bool {
    to.strip_prefix('+').is_some_and(|digits| {
        (2..=15).contains(&digits.len())
            && digits.chars().all(|c| c.is_ascii_digit())
            && !digits.starts_with('0')
    })
}

fn check_recipient(message: &Message) -> Result<(), NotifyError> {
    let rejected = |reason: &str| Err(NotifyError::Rejected { reason: reason.to_owned() });
    if message.to.trim().is_empty() {
        return rejected("the recipient is empty");
    }
    match message.channel {
        Channel::Email if Email::new(&message.to).is_err() => rejected("not an email address"),
        Channel::Sms if !is_e164(&message.to) => {
            rejected("not an E.164 phone number such as +4915112345678")
        }
        _ => Ok(()),
    }
}

#[async_trait]
impl Notifier for RecordingNotifier {
    async fn send(&self, message: &Message) -> Result<String, NotifyError> {
        let mut state = self.lock();
        state.attempts += 1;
        if state.down {
            return Err(NotifyError::Unavailable {
                message: "the notifier is down (set_down(true))".into(),
            });
        }
        if state.fail_next > 0 {
            state.fail_next -= 1;
            return Err(NotifyError::Unavailable {
                message: "scripted failure (fail_next)".into(),
            });
        }
        check_recipient(message)?;
        if state.suppressed.contains(&message.to) {
            return Err(NotifyError::Rejected {
                reason: "the recipient is on the suppression list".into(),
            });
        }
        if message.dedup_key.is_empty() {
            return Err(NotifyError::Rejected { reason: "the message has no dedup_key".into() });
        }
        if let Some(id) = state.by_dedup_key.get(&message.dedup_key) {
            return Ok(id.clone());
        }
        let id = format!("msg-{:06}", state.sent.len() + 1);
        state.by_dedup_key.insert(message.dedup_key.clone(), id.clone());
        state.sent.push(SentMessage { id: id.clone(), message: message.clone() });
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(key: &str, to: &str) -> Message {
        Message {
            dedup_key: key.into(),
            channel: Channel::Email,
            to: to.into(),
            subject: "Your order".into(),
            text: "Thanks!".into(),
            html: None,
        }
    }

    #[tokio::test]
    async fn an_accepted_message_is_recorded_with_its_id() {
        let notifier = RecordingNotifier::new();

        let id = notifier.send(&email("e1:confirm", "ann@example.com")).await.unwrap();

        let sent = notifier.sent();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].id, id);
        assert_eq!(sent[0].message.to, "ann@example.com");
    }

    #[tokio::test]
    async fn a_repeated_dedup_key_returns_the_first_id_and_is_not_recorded_twice() {
        let notifier = RecordingNotifier::new();
        let first = notifier.send(&email("e1:confirm", "ann@example.com")).await.unwrap();

        let again = notifier.send(&email("e1:confirm", "ann@example.com")).await.unwrap();

        assert_eq!(first, again);
        assert_eq!(notifier.sent().len(), 1);
        assert_eq!(notifier.attempts(), 2);
    }

    #[tokio::test]
    async fn an_empty_recipient_is_rejected() {
        let notifier = RecordingNotifier::new();

        let result = notifier.send(&email("e1", "  ")).await;

        assert!(matches!(result, Err(NotifyError::Rejected { .. })));
        assert!(notifier.sent().is_empty());
    }

    #[tokio::test]
    async fn recipients_must_fit_their_channel() {
        let notifier = RecordingNotifier::new();
        let sms = |to: &str| Message { channel: Channel::Sms, ..email("s1", to) };

        let bad_email = notifier.send(&email("e1", "not-an-address")).await;
        let bad_phone = notifier.send(&sms("0151 1234")).await;
        let good_phone = notifier.send(&sms("+4915112345678")).await;

        assert!(matches!(bad_email, Err(NotifyError::Rejected { .. })));
        assert!(matches!(bad_phone, Err(NotifyError::Rejected { .. })));
        assert!(good_phone.is_ok());
    }

    #[tokio::test]
    async fn a_suppressed_recipient_is_rejected() {
        let notifier = RecordingNotifier::new();
        notifier.suppress("bounced@example.com");

        let result = notifier.send(&email("e1", "bounced@example.com")).await;

        assert!(matches!(result, Err(NotifyError::Rejected { .. })));
    }

    #[tokio::test]
    async fn a_message_without_a_dedup_key_is_rejected() {
        let notifier = RecordingNotifier::new();

        let result = notifier.send(&email("", "ann@example.com")).await;

        assert!(matches!(result, Err(NotifyError::Rejected { .. })));
    }

    #[tokio::test]
    async fn fail_next_fails_that_many_sends_then_recovers() {
        let notifier = RecordingNotifier::new();
        notifier.fail_next(2);

        let one = notifier.send(&email("e1", "ann@example.com")).await;
        let two = notifier.send(&email("e1", "ann@example.com")).await;
        let three = notifier.send(&email("e1", "ann@example.com")).await;

        assert!(matches!(one, Err(NotifyError::Unavailable { .. })));
        assert!(matches!(two, Err(NotifyError::Unavailable { .. })));
        assert!(three.is_ok());
        assert_eq!(notifier.sent().len(), 1);
    }

    #[tokio::test]
    async fn a_down_notifier_is_unavailable_until_it_is_back() {
        let notifier = RecordingNotifier::new();
        notifier.set_down(true);

        let down = notifier.send(&email("e1", "ann@example.com")).await;
        notifier.set_down(false);
        let up = notifier.send(&email("e1", "ann@example.com")).await;

        assert!(matches!(down, Err(NotifyError::Unavailable { .. })));
        assert!(up.is_ok());
        assert_eq!(notifier.sent_to("ann@example.com").len(), 1);
    }
}
