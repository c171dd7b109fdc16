//! Per-conversation delivery order: the last `seq` shown, duplicates dropped, gaps held.
//!
//! The server promises each connection every message once and in `seq` order, filling gaps
//! itself. The client still checks, because it is the last line before a person reads the
//! transcript: a message with `seq <= last` is a duplicate (dropped and counted), `last + 1`
//! is shown, and anything beyond is held until the missing ones arrive. Held messages are
//! forgotten when a new connection starts: its resume points are the last *shown* seqs, so
//! the server sends them again.
//!
//! Conversations and held messages are kept in sorted `Vec`s (binary search) rather than
//! B-tree maps: a client follows a few conversations and holds few messages, and the Wasm
//! clients pay for every map type in code size.

use bellhop_protocol::ConversationId;
use bellhop_protocol::frames::{Message, ResumePoint};

/// What became of one received message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Shown, in order: the message itself and any held ones it unblocked.
    Shown(Vec<Message>),
    /// Already shown (or already held): dropped.
    Duplicate { last_shown: u64 },
    /// Held: messages after `last_shown` are missing before this one.
    Gap { last_shown: u64 },
}

#[derive(Clone, Debug, Default)]
struct Track {
    last_shown: u64,
    /// Messages beyond a gap, by `seq` (each above `last_shown`).
    held: Vec<Message>,
    /// The highest `seq` the server said exists (a `welcome`, an assignment, an `ack`): while
    /// `last_shown` is below it, messages are still due.
    known_last: u64,
    /// Named in the next `hello.resume`. A conversation the last `welcome` did not list is
    /// closed (or, for an agent, no longer theirs): it is still de-duplicated but no longer
    /// resumed, so the resume list does not grow without bound.
    following: bool,
}

impl Track {
    fn held_at(&self, seq: u64) -> Result<usize, usize> {
        self.held.binary_search_by_key(&seq, |m| m.seq)
    }
}

#[derive(Clone, Debug, Default)]
pub struct Inbox {
    /// By conversation id.
    tracks: Vec<(ConversationId, Track)>,
    duplicates: u64,
}

impl Inbox {
    fn find(&self, conversation_id: ConversationId) -> Result<usize, usize> {
        self.tracks
            .binary_search_by(|(id, _)| id.cmp(&conversation_id))
    }

    /// The conversation's track, made if it has none.
    fn track_mut(&mut self, conversation_id: ConversationId) -> &mut Track {
        let i = self.find(conversation_id).unwrap_or_else(|i| {
            self.tracks.insert(i, (conversation_id, Track::default()));
            i
        });
        &mut self.tracks[i].1
    }

    fn track(&self, conversation_id: ConversationId) -> Option<&Track> {
        let i = self.find(conversation_id).ok()?;
        Some(&self.tracks[i].1)
    }

    /// Starts from resume points: `following` ones are resumed, `finished` ones only
    /// de-duplicated.
    pub fn from_points(following: &[ResumePoint], finished: &[ResumePoint]) -> Self {
        let mut inbox = Self::default();
        for (points, follow) in [(finished, false), (following, true)] {
            for point in points {
                let track = inbox.track_mut(point.conversation_id);
                track.last_shown = track.last_shown.max(point.last_seq);
                track.following |= follow;
            }
        }
        inbox
    }

    pub fn accept(&mut self, message: Message) -> Delivery {
        let track = self.track_mut(message.conversation_id);
        track.following = true;
        let last_shown = track.last_shown;
        let held_at = track.held_at(message.seq);
        if message.seq <= last_shown || held_at.is_ok() {
            self.duplicates += 1;
            return Delivery::Duplicate { last_shown };
        }
        if message.seq > last_shown + 1 {
            if let Err(at) = held_at {
                track.held.insert(at, message);
            }
            return Delivery::Gap { last_shown };
        }
        track.last_shown = message.seq;
        let mut shown = vec![message];
        while let Ok(at) = track.held_at(track.last_shown + 1) {
            let next = track.held.remove(at);
            track.last_shown = next.seq;
            shown.push(next);
        }
        Delivery::Shown(shown)
    }

    /// The server says messages up to `seq` exist in this conversation.
    pub fn expect(&mut self, conversation_id: ConversationId, seq: u64) {
        let track = self.track_mut(conversation_id);
        track.known_last = track.known_last.max(seq);
    }

    /// No more messages are due in this conversation (it was released from an agent).
    pub fn expect_nothing_more(&mut self, conversation_id: ConversationId) {
        if let Ok(i) = self.find(conversation_id) {
            let track = &mut self.tracks[i].1;
            track.known_last = track.last_shown;
        }
    }

    /// Whether some conversation waits for messages: held behind a gap, or known to exist
    /// but not yet received.
    pub fn waiting(&self) -> bool {
        self.tracks
            .iter()
            .any(|(_, t)| !t.held.is_empty() || t.known_last > t.last_shown)
    }

    /// Marks a conversation as followed (it opened, was assigned or transferred to us).
    pub fn follow(&mut self, conversation_id: ConversationId) {
        self.track_mut(conversation_id).following = true;
    }

    /// After a `welcome`: exactly the listed conversations stay followed.
    pub fn follow_only(&mut self, open: &[ConversationId]) {
        for (id, track) in &mut self.tracks {
            track.following = open.contains(id);
            if !track.following {
                track.known_last = track.last_shown;
            }
        }
        for id in open {
            self.follow(*id);
        }
    }

    /// The server clamped our resume point: the conversation ends at `last_seq`, so what we
    /// showed above it did not come from this server. Continue from there.
    pub fn clamp(&mut self, conversation_id: ConversationId, last_seq: u64) {
        let track = self.track_mut(conversation_id);
        track.last_shown = last_seq;
        track.known_last = last_seq;
        track.held.retain(|m| m.seq > last_seq);
    }

    /// A new connection: held messages will be sent again after the resume points.
    pub fn forget_held(&mut self) {
        for (_, track) in &mut self.tracks {
            track.held.clear();
        }
    }

    pub fn last_shown(&self, conversation_id: ConversationId) -> u64 {
        self.track(conversation_id)
            .map_or(0, |track| track.last_shown)
    }

    /// Conversations with held messages: (conversation, last shown, first held).
    pub fn gaps(&self) -> Vec<(ConversationId, u64, u64)> {
        self.tracks
            .iter()
            .filter_map(|(id, track)| {
                let first = track.held.first()?.seq;
                Some((*id, track.last_shown, first))
            })
            .collect()
    }

    /// Resume points of the followed conversations (`true`) or of the others (`false`).
    pub fn points(&self, following: bool) -> Vec<ResumePoint> {
        self.tracks
            .iter()
            .filter(|(_, track)| track.following == following)
            .map(|(id, track)| ResumePoint {
                conversation_id: *id,
                last_seq: track.last_shown,
            })
            .collect()
    }

    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }
}
