//! What one socket has marked read, per conversation: a mark at or below one the socket already
//! sent is dropped before any store lookup, and the socket skips the `read` frames its own marks
//! cause (the reader's other sockets get them).

use std::collections::HashMap;

use bellhop_protocol::ConversationId;

#[derive(Debug, Default)]
pub(super) struct ReadMarks(HashMap<ConversationId, u64>);

impl ReadMarks {
    /// Whether `seq` is beyond what this socket marked in `conversation`.
    pub(super) fn advances(&self, conversation: ConversationId, seq: u64) -> bool {
        self.0.get(&conversation).is_none_or(|&marked| seq > marked)
    }

    /// Remembers a mark the server took (for a conversation the reader may mark).
    pub(super) fn marked(&mut self, conversation: ConversationId, seq: u64) {
        let marked = self.0.entry(conversation).or_insert(0);
        *marked = (*marked).max(seq);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_mark_beyond_the_last_one_advances() {
        let mut marks = ReadMarks::default();
        let a = ConversationId::from_uuid(uuid::Uuid::now_v7());
        assert!(marks.advances(a, 1));
        marks.marked(a, 5);
        assert!(!marks.advances(a, 5));
        assert!(!marks.advances(a, 3));
        assert!(marks.advances(a, 6));
        marks.marked(a, 2);
        assert!(!marks.advances(a, 5), "never moves back");
    }
}
