//! Typing coalescing, the same rule on both sockets: what a socket last passed on per
//! conversation decides what happens to its next typing frame, before any store lookup.
//!
//! - a repeat of the state last passed on is dropped;
//! - a stop after a start that was passed on always passes, so nobody is left shown typing;
//! - anything else (a start, or a stop nobody was shown the start of) passes only under the
//!   sender's typing rate (`limits.visitor_typing_per_second`, `limits.agent_typing_per_second`).
//!
//! Only states that were passed on are remembered, for conversations the sender may type in,
//! so the memory is bounded by the conversations the socket really typed in.

use std::collections::HashMap;

use bellhop_protocol::ConversationId;

/// What to do with a typing frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Admit {
    /// The same as last passed on: drop it.
    Repeat,
    /// A stop after a start that was passed on: pass it, whatever the rate.
    Always,
    /// Pass it if the sender's typing rate allows.
    IfUnderRate,
}

/// The typing states one socket passed on, per conversation.
#[derive(Debug, Default)]
pub(super) struct TypingRelayed(HashMap<ConversationId, bool>);

impl TypingRelayed {
    pub(super) fn admit(&self, conversation: ConversationId, typing: bool) -> Admit {
        match self.0.get(&conversation) {
            Some(&last) if last == typing => Admit::Repeat,
            Some(true) => Admit::Always,
            _ => Admit::IfUnderRate,
        }
    }

    /// Whether to pass `typing` on for `conversation`; `under_rate` (the sender's typing rate)
    /// is asked only when the rule leaves it to the rate, so a dropped frame costs nothing.
    pub(super) fn should_pass(
        &self,
        conversation: ConversationId,
        typing: bool,
        under_rate: impl FnOnce() -> bool,
    ) -> bool {
        match self.admit(conversation, typing) {
            Admit::Repeat => false,
            Admit::Always => true,
            Admit::IfUnderRate => under_rate(),
        }
    }

    /// Remembers that `typing` was passed on for `conversation`.
    pub(super) fn relayed(&mut self, conversation: ConversationId, typing: bool) {
        self.0.insert(conversation, typing);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conversation() -> ConversationId {
        ConversationId::from_uuid(uuid::Uuid::now_v7())
    }

    #[test]
    fn the_rate_is_asked_only_when_the_rule_leaves_it_to_the_rate() {
        let mut relayed = TypingRelayed::default();
        let a = conversation();
        assert!(!relayed.should_pass(a, true, || false));
        assert!(relayed.should_pass(a, true, || true));
        relayed.relayed(a, true);
        let asked = std::cell::Cell::new(false);
        let ask = || {
            asked.set(true);
            false
        };
        assert!(!relayed.should_pass(a, true, ask), "a repeat");
        assert!(relayed.should_pass(a, false, ask), "a stop after a start");
        assert!(!asked.get());
    }

    #[test]
    fn repeats_drop_and_a_stop_after_a_relayed_start_always_passes() {
        let mut relayed = TypingRelayed::default();
        let (a, b) = (conversation(), conversation());
        assert_eq!(relayed.admit(a, true), Admit::IfUnderRate);
        assert_eq!(relayed.admit(a, false), Admit::IfUnderRate);
        relayed.relayed(a, true);
        assert_eq!(relayed.admit(a, true), Admit::Repeat);
        assert_eq!(relayed.admit(a, false), Admit::Always);
        // Each conversation keeps its own state: typing in another does not hide this one.
        assert_eq!(relayed.admit(b, true), Admit::IfUnderRate);
        relayed.relayed(b, true);
        assert_eq!(relayed.admit(a, false), Admit::Always);
        relayed.relayed(a, false);
        assert_eq!(relayed.admit(a, false), Admit::Repeat);
        assert_eq!(relayed.admit(a, true), Admit::IfUnderRate);
    }
}
