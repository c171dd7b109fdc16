//! What one connection has been sent: the last `seq` per conversation it follows, and the
//! decision for each stored message the hub hands it. Pure bookkeeping, tested without a
//! socket.
//!
//! A message with `seq == last + 1` goes out; an older one is a duplicate and is skipped; a
//! newer one means something was missed (or the conversation is new to this connection), and
//! the gap is filled from the store first. So the client sees each message exactly once and in
//! order, whatever order the hub and the store produce them in.
//!
//! Resume points are normalised here too: a conversation named twice in one `hello` is
//! resumed once, from the lower point; a point beyond the conversation's last message is
//! clamped to it (see docs/protocol.md, "Resuming").

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use bellhop_protocol::ConversationId;
use bellhop_protocol::frames::ResumePoint;

/// What to do with a stored message the hub delivered.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Step {
    /// Send it: it is the next one (already recorded as sent).
    Send,
    /// Already sent: skip it.
    Skip,
    /// Messages are missing before it: send everything after [`Tracker::last`] from the store.
    FillGap,
}

#[derive(Debug, Default)]
pub(super) struct Tracker {
    /// Last `seq` sent, per conversation this connection follows.
    delivered: HashMap<ConversationId, u64>,
}

impl Tracker {
    /// The last `seq` sent in the conversation (0: none).
    pub(super) fn last(&self, conversation: ConversationId) -> u64 {
        self.delivered.get(&conversation).copied().unwrap_or(0)
    }

    /// Starts following a conversation from `last_seq` (what the client already holds) unless
    /// it is followed already; returns whether it was new.
    pub(super) fn follow(&mut self, conversation: ConversationId, last_seq: u64) -> bool {
        match self.delivered.entry(conversation) {
            Entry::Vacant(entry) => {
                entry.insert(last_seq);
                true
            }
            Entry::Occupied(_) => false,
        }
    }

    /// The client holds the conversation up to `seq` (a `watch`'s `after_seq`): follows it
    /// from there, or from where this connection already is when that is further.
    pub(super) fn holds(&mut self, conversation: ConversationId, seq: u64) {
        let last = self.delivered.entry(conversation).or_insert(0);
        *last = (*last).max(seq);
    }

    /// Decides on a stored message from the live stream.
    pub(super) fn on_message(&mut self, conversation: ConversationId, seq: u64) -> Step {
        let last = self.last(conversation);
        if seq <= last {
            Step::Skip
        } else if seq == last + 1 {
            self.delivered.insert(conversation, seq);
            Step::Send
        } else {
            Step::FillGap
        }
    }

    /// Records a message sent while filling a gap.
    pub(super) fn sent(&mut self, conversation: ConversationId, seq: u64) {
        let last = self.delivered.entry(conversation).or_insert(0);
        *last = (*last).max(seq);
    }
}

/// One resume point per conversation, in the order first named, each at the lowest `last_seq`
/// named for it: the client holds at least that much, and nothing is sent twice.
pub(super) fn merge_resume_points(points: Vec<ResumePoint>) -> Vec<ResumePoint> {
    let mut merged: Vec<ResumePoint> = Vec::with_capacity(points.len());
    let mut index: HashMap<ConversationId, usize> = HashMap::with_capacity(points.len());
    for point in points {
        match index.entry(point.conversation_id) {
            Entry::Occupied(at) => {
                let kept = &mut merged[*at.get()];
                kept.last_seq = kept.last_seq.min(point.last_seq);
            }
            Entry::Vacant(at) => {
                at.insert(merged.len());
                merged.push(point);
            }
        }
    }
    merged
}

/// Where to resume a conversation whose last stored `seq` is `last_stored`: the client's point,
/// or the conversation's end when the client claims more than exists (`true`: clamped).
pub(super) fn clamp(point: &ResumePoint, last_stored: u64) -> (u64, bool) {
    if point.last_seq > last_stored {
        (last_stored, true)
    } else {
        (point.last_seq, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn conversation(n: u128) -> ConversationId {
        ConversationId::from_uuid(Uuid::from_u128(n))
    }

    fn point(n: u128, last_seq: u64) -> ResumePoint {
        ResumePoint {
            conversation_id: conversation(n),
            last_seq,
        }
    }

    #[test]
    fn messages_go_out_in_order_once() {
        let mut tracker = Tracker::default();
        let c = conversation(1);
        assert!(tracker.follow(c, 3));
        assert_eq!(tracker.on_message(c, 3), Step::Skip);
        assert_eq!(tracker.on_message(c, 4), Step::Send);
        assert_eq!(tracker.on_message(c, 4), Step::Skip);
        assert_eq!(tracker.on_message(c, 6), Step::FillGap);
        assert_eq!(tracker.last(c), 4);
        tracker.sent(c, 5);
        tracker.sent(c, 6);
        assert_eq!(tracker.on_message(c, 6), Step::Skip);
        assert_eq!(tracker.on_message(c, 7), Step::Send);
    }

    #[test]
    fn an_unknown_conversation_is_filled_from_the_start() {
        let mut tracker = Tracker::default();
        let c = conversation(2);
        assert_eq!(tracker.on_message(c, 1), Step::Send);
        let d = conversation(3);
        assert_eq!(tracker.on_message(d, 5), Step::FillGap);
        assert_eq!(tracker.last(d), 0);
    }

    #[test]
    fn following_twice_keeps_the_first_point() {
        let mut tracker = Tracker::default();
        let c = conversation(4);
        assert!(tracker.follow(c, 2));
        assert!(!tracker.follow(c, 0));
        assert_eq!(tracker.last(c), 2);
    }

    #[test]
    fn a_watch_starts_after_what_the_client_holds_and_never_repeats() {
        let mut tracker = Tracker::default();
        let c = conversation(5);
        tracker.holds(c, 4);
        assert_eq!(tracker.on_message(c, 4), Step::Skip);
        assert_eq!(tracker.on_message(c, 5), Step::Send);
        // Watching again from further back sends nothing twice.
        tracker.holds(c, 1);
        assert_eq!(tracker.last(c), 5);
        tracker.holds(c, 9);
        assert_eq!(tracker.on_message(c, 10), Step::Send);
    }

    #[test]
    fn repeated_points_merge_at_the_lowest_in_first_order() {
        let merged =
            merge_resume_points(vec![point(1, 34), point(2, 5), point(1, 32), point(1, 40)]);
        assert_eq!(merged, vec![point(1, 32), point(2, 5)]);
    }

    #[test]
    fn a_point_past_the_end_is_clamped() {
        assert_eq!(clamp(&point(1, 1 << 40), 37), (37, true));
        assert_eq!(clamp(&point(1, 37), 37), (37, false));
        assert_eq!(clamp(&point(1, 0), 37), (0, false));
    }
}
