//! Sneak-peek coalescing on a visitor's socket: a visitor types faster than an agent needs to
//! see, so at most one peek per conversation passes per interval
//! (`limits.visitor_peeks_per_second`), and the newest draft held back goes out when the
//! interval ends: the agent always ends up seeing the last one.
//!
//! - a draft equal to the one last passed on is dropped (and drops any newer one held back);
//! - an empty draft (the visitor sent or cleared it) passes at once, so a stale draft never
//!   lingers — unless the last one passed on was empty too;
//! - anything else passes if the interval since the last one passed on is over, else it is
//!   held, replacing any draft held before.
//!
//! Only conversations a peek was passed on for are remembered (the caller checked they are the
//! visitor's), so the memory is bounded by the conversations the visitor really typed in.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bellhop_protocol::ConversationId;
use bellhop_protocol::text::{MAX_PEEK_CHARS, mask_sensitive};

/// The draft as it may be relayed: masked (whatever the widget did), then cut to its last
/// [`MAX_PEEK_CHARS`] characters. Masking first, so a cut cannot split a number into parts
/// too short to be recognised.
pub(super) fn clean(text: &str) -> String {
    let masked = mask_sensitive(text);
    let count = masked.chars().count();
    if count <= MAX_PEEK_CHARS {
        masked
    } else {
        masked.chars().skip(count - MAX_PEEK_CHARS).collect()
    }
}

/// What to do with a peek now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Offer {
    /// Pass it on now (after checking the conversation), then call [`PeekRelay::relayed`].
    Now,
    /// Kept; [`PeekRelay::take_due`] hands it back when its turn comes.
    Held,
    /// Nothing new for the agent.
    Drop,
}

#[derive(Debug)]
struct Relayed {
    text: String,
    at: Instant,
    held: Option<String>,
}

/// The peeks one socket passed on and held back, per conversation.
#[derive(Debug)]
pub(super) struct PeekRelay {
    interval: Duration,
    conversations: HashMap<ConversationId, Relayed>,
}

impl PeekRelay {
    /// At most `per_second` peeks per conversation pass on (`0`: all of them).
    pub(super) fn new(per_second: u32) -> Self {
        let interval = match per_second {
            0 => Duration::ZERO,
            n => Duration::from_secs(1) / n,
        };
        Self {
            interval,
            conversations: HashMap::new(),
        }
    }

    pub(super) fn offer(
        &mut self,
        conversation: ConversationId,
        text: &str,
        now: Instant,
    ) -> Offer {
        let Some(last) = self.conversations.get_mut(&conversation) else {
            return Offer::Now;
        };
        if last.text == text {
            last.held = None;
            return Offer::Drop;
        }
        if text.is_empty() || now >= last.at + self.interval {
            last.held = None;
            return Offer::Now;
        }
        last.held = Some(text.to_owned());
        Offer::Held
    }

    /// Remembers that `text` was passed on for `conversation` at `now`.
    pub(super) fn relayed(&mut self, conversation: ConversationId, text: String, now: Instant) {
        self.conversations.insert(
            conversation,
            Relayed {
                text,
                at: now,
                held: None,
            },
        );
    }

    /// When the first held draft is due.
    pub(super) fn next_due(&self) -> Option<Instant> {
        self.conversations
            .values()
            .filter(|r| r.held.is_some())
            .map(|r| r.at + self.interval)
            .min()
    }

    /// The held drafts due by `now`, taken out; pass each on and call [`PeekRelay::relayed`].
    pub(super) fn take_due(&mut self, now: Instant) -> Vec<(ConversationId, String)> {
        let interval = self.interval;
        self.conversations
            .iter_mut()
            .filter(|(_, r)| r.held.is_some() && now >= r.at + interval)
            .filter_map(|(id, r)| r.held.take().map(|text| (*id, text)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conversation() -> ConversationId {
        ConversationId::from_uuid(uuid::Uuid::now_v7())
    }

    #[test]
    fn a_flood_passes_once_per_interval_and_the_last_draft_always_arrives() {
        let mut relay = PeekRelay::new(4);
        let a = conversation();
        let t0 = Instant::now();
        assert_eq!(relay.offer(a, "h", t0), Offer::Now);
        relay.relayed(a, "h".into(), t0);
        let ms = |n| t0 + Duration::from_millis(n);
        assert_eq!(relay.offer(a, "he", ms(10)), Offer::Held);
        assert_eq!(relay.offer(a, "hel", ms(20)), Offer::Held);
        assert_eq!(relay.next_due(), Some(ms(250)));
        assert!(relay.take_due(ms(249)).is_empty());
        assert_eq!(relay.take_due(ms(250)), vec![(a, "hel".to_owned())]);
        relay.relayed(a, "hel".into(), ms(250));
        assert_eq!(relay.next_due(), None);
        assert_eq!(relay.offer(a, "hell", ms(600)), Offer::Now);
    }

    #[test]
    fn repeats_drop_and_an_empty_draft_clears_at_once() {
        let mut relay = PeekRelay::new(4);
        let a = conversation();
        let t0 = Instant::now();
        relay.relayed(a, "hi".into(), t0);
        assert_eq!(relay.offer(a, "hi!", t0), Offer::Held);
        // Back to what the agent sees: nothing to send, and the held draft is stale.
        assert_eq!(relay.offer(a, "hi", t0), Offer::Drop);
        assert_eq!(relay.next_due(), None);
        assert_eq!(relay.offer(a, "", t0), Offer::Now);
        relay.relayed(a, String::new(), t0);
        assert_eq!(relay.offer(a, "", t0), Offer::Drop);
        assert_eq!(relay.offer(a, "x", t0), Offer::Held);
        // Another conversation keeps its own pace.
        assert_eq!(relay.offer(conversation(), "x", t0), Offer::Now);
    }

    #[test]
    fn zero_passes_everything() {
        let mut relay = PeekRelay::new(0);
        let a = conversation();
        let t0 = Instant::now();
        relay.relayed(a, "a".into(), t0);
        assert_eq!(relay.offer(a, "ab", t0), Offer::Now);
    }

    #[test]
    fn drafts_are_masked_then_cut_to_their_end() {
        assert_eq!(
            clean("my card 4111 1111 1111 1111"),
            "my card •••• •••• •••• ••••"
        );
        let long = format!("{}4111 1111 1111 1111", "a".repeat(2000));
        let cleaned = clean(&long);
        assert_eq!(cleaned.chars().count(), MAX_PEEK_CHARS);
        assert!(cleaned.ends_with("•••• •••• •••• ••••"), "{cleaned}");
    }
}
