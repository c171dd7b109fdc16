//! What the console knows about the agent's chats, as plain data: which chats are open, their
//! messages and notes, unread counts, who waits too long for an answer, and the order the inbox
//! shows them in. No browser here, so every rule is tested natively; the views only render it.

use std::collections::BTreeMap;

use bellhop_protocol::console::{Note, SiteSummary, VisitorContext};
use bellhop_protocol::frames::{
    AgentRef, AuthorKind, Conversation, ConversationStatus, Message, Millis,
};
use bellhop_protocol::{AgentId, ConversationId, SiteId};

/// Where the agent's own unconfirmed message stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    pub client_id: String,
    pub body: String,
    /// Refused by the server, with its reason.
    pub failed: Option<String>,
}

/// One conversation as the console holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct Chat {
    pub conversation: Conversation,
    /// Contiguous in `seq` order; older ones may not be loaded yet (see `older_before`).
    pub messages: Vec<Message>,
    /// Older messages exist before this `seq` that are not loaded.
    pub older_before: Option<u64>,
    pub notes: Vec<Note>,
    pub pending: Vec<Pending>,
    pub visitor_typing: bool,
    /// The visitor's masked draft.
    pub peek: String,
    pub viewers: Vec<AgentRef>,
    pub context: Option<VisitorContext>,
    /// The last message this console told the server it read.
    pub read_sent: u64,
}

impl Chat {
    pub fn new(conversation: Conversation) -> Self {
        Self {
            conversation,
            messages: Vec::new(),
            older_before: None,
            notes: Vec::new(),
            pending: Vec::new(),
            visitor_typing: false,
            peek: String::new(),
            viewers: Vec::new(),
            context: None,
            read_sent: 0,
        }
    }

    pub fn id(&self) -> ConversationId {
        self.conversation.id
    }

    pub fn last_seq(&self) -> u64 {
        self.messages
            .last()
            .map_or(self.conversation.last_seq, |m| m.seq)
    }

    /// Adds a message in `seq` order (a message already held is ignored); drops the pending
    /// line it confirms.
    pub fn add_message(&mut self, message: Message) {
        if let Some(id) = &message.client_id {
            self.pending.retain(|p| p.client_id != id.as_str());
        }
        match self.messages.binary_search_by_key(&message.seq, |m| m.seq) {
            Ok(_) => {}
            Err(at) => {
                if message.seq > self.conversation.last_seq {
                    self.conversation.last_seq = message.seq;
                }
                self.messages.insert(at, message);
            }
        }
    }

    /// Puts a page of older messages in front (those already held are skipped).
    pub fn add_older(&mut self, page: Vec<Message>, prev_before: Option<u64>) {
        let first = self.messages.first().map_or(u64::MAX, |m| m.seq);
        let mut older: Vec<Message> = page.into_iter().filter(|m| m.seq < first).collect();
        older.append(&mut self.messages);
        self.messages = older;
        self.older_before = prev_before;
    }

    pub fn add_note(&mut self, note: Note) {
        if self.notes.iter().any(|n| n.id == note.id) {
            return;
        }
        let at = self
            .notes
            .partition_point(|n| (n.after_seq, n.created_at) <= (note.after_seq, note.created_at));
        self.notes.insert(at, note);
    }

    /// Visitor messages the agents have not read yet.
    pub fn unread(&self) -> usize {
        let read = self.conversation.agent_read_seq.max(self.read_sent);
        self.messages
            .iter()
            .filter(|m| m.seq > read && m.author == AuthorKind::Visitor)
            .count()
    }

    /// Since when the visitor has waited for an agent's answer: their first message after the
    /// last agent message (`None` when an agent wrote last, or the chat is closed).
    pub fn waiting_since(&self) -> Option<Millis> {
        if self.conversation.status == ConversationStatus::Closed {
            return None;
        }
        let mut since = None;
        for message in self.messages.iter().rev() {
            match message.author {
                AuthorKind::Agent => break,
                AuthorKind::Visitor => since = Some(message.sent_at),
                AuthorKind::System => {}
            }
        }
        since
    }

    pub fn last_message(&self) -> Option<&Message> {
        self.messages.last()
    }

    /// A visitor's message is read once the visitor's read mark reaches it.
    pub fn read_by_visitor(&self, seq: u64) -> bool {
        self.conversation.visitor_read_seq >= seq
    }

    /// What the timeline shows, in order: messages and the notes written after each.
    pub fn timeline(&self, from: usize) -> Vec<Line> {
        let mut lines = Vec::new();
        let first_seq = self.messages.get(from).map_or(u64::MAX, |m| m.seq);
        let mut notes = self.notes.iter().peekable();
        // Notes before the first shown message belong to older pages, unless all is loaded.
        while let Some(note) = notes.peek() {
            let shown = from == 0 && self.older_before.is_none();
            if note.after_seq + 1 >= first_seq || shown {
                break;
            }
            notes.next();
        }
        for message in &self.messages[from.min(self.messages.len())..] {
            while let Some(note) = notes.peek() {
                if note.after_seq < message.seq {
                    lines.push(Line::Note((*note).clone()));
                    notes.next();
                } else {
                    break;
                }
            }
            lines.push(Line::Message(message.clone()));
        }
        lines.extend(notes.cloned().map(Line::Note));
        lines
    }
}

/// One line of a chat's timeline.
#[derive(Clone, Debug, PartialEq)]
pub enum Line {
    Message(Message),
    Note(Note),
}

impl Line {
    /// A key that stays the same while the line is shown (for keyed lists).
    pub fn key(&self) -> String {
        match self {
            Line::Message(m) => format!("m{}", m.seq),
            Line::Note(n) => format!("n{}", n.id),
        }
    }
}

/// The agent's chats, and which one is open.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Inbox {
    pub me: Option<AgentId>,
    pub chats: BTreeMap<ConversationId, Chat>,
    /// The conversation shown beside the list (one of `chats`, or one being monitored).
    pub active: Option<ConversationId>,
    /// Per site: how long a visitor may wait for an answer before the chat is highlighted.
    pub targets: BTreeMap<SiteId, u32>,
}

/// The default answer target when the site's is not known.
pub const DEFAULT_TARGET_SECS: u32 = 30;

impl Inbox {
    pub fn set_sites(&mut self, sites: &[SiteSummary]) {
        self.targets = sites.iter().map(|s| (s.id, s.answer_target_secs)).collect();
    }

    /// Whether `conversation` is one of mine (assigned to me, not closed).
    pub fn is_mine(&self, conversation: &Conversation) -> bool {
        conversation.status == ConversationStatus::Assigned
            && conversation.agent.as_ref().map(|a| a.id) == self.me
    }

    /// Takes a conversation's new state: a chat of mine is kept (made if new); one that is no
    /// longer mine leaves the list unless it is the one shown.
    pub fn update(&mut self, conversation: Conversation) {
        let mine = self.is_mine(&conversation);
        let id = conversation.id;
        match self.chats.get_mut(&id) {
            Some(chat) => {
                let last = chat.conversation.last_seq.max(conversation.last_seq);
                chat.conversation = conversation;
                chat.conversation.last_seq = last;
            }
            None if mine || self.active == Some(id) => {
                self.chats.insert(id, Chat::new(conversation));
            }
            None => {}
        }
        if !mine && self.active != Some(id) {
            self.chats.remove(&id);
        }
    }

    pub fn chat_mut(&mut self, id: ConversationId) -> Option<&mut Chat> {
        self.chats.get_mut(&id)
    }

    /// Whether the visitor of this chat has waited longer than the site's target at `now`.
    pub fn overdue(&self, chat: &Chat, now: Millis) -> bool {
        let target = self
            .targets
            .get(&chat.conversation.site_id)
            .copied()
            .unwrap_or(DEFAULT_TARGET_SECS);
        chat.waiting_since()
            .is_some_and(|since| now - since > i64::from(target) * 1000)
    }

    /// The list as the inbox shows it: my open chats, those waiting longer than their target
    /// first (longest wait first), then the others in the order they arrived.
    pub fn order(&self, now: Millis) -> Vec<ConversationId> {
        let mut mine: Vec<&Chat> = self
            .chats
            .values()
            .filter(|c| self.is_mine(&c.conversation))
            .collect();
        mine.sort_by_key(|chat| {
            let overdue = self.overdue(chat, now);
            (
                !overdue,
                if overdue {
                    chat.waiting_since().unwrap_or(0)
                } else {
                    0
                },
                chat.conversation.created_at,
                chat.id(),
            )
        });
        mine.into_iter().map(Chat::id).collect()
    }

    /// The chat `step` places from the active one in the inbox order (wrapping).
    pub fn neighbour(&self, now: Millis, step: isize) -> Option<ConversationId> {
        let order = self.order(now);
        if order.is_empty() {
            return None;
        }
        let len = order.len() as isize;
        let at = self
            .active
            .and_then(|a| order.iter().position(|id| *id == a))
            .map_or(if step > 0 { -1 } else { 0 }, |i| i as isize);
        let next = (at + step).rem_euclid(len);
        order.get(next as usize).copied()
    }

    /// The `n`th chat of the inbox (1-based), for Alt+1..9.
    pub fn nth(&self, now: Millis, n: usize) -> Option<ConversationId> {
        self.order(now).get(n.checked_sub(1)?).copied()
    }

    /// Unread visitor messages over all my chats (for the page title).
    pub fn total_unread(&self) -> usize {
        self.chats
            .values()
            .filter(|c| self.is_mine(&c.conversation))
            .map(Chat::unread)
            .sum()
    }
}

/// `mm:ss` (or `h:mm:ss`) of a duration in milliseconds, for waiting times.
pub fn clock(ms: i64) -> String {
    let secs = ms.max(0) / 1000;
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// The first characters of a text on one line, for previews.
pub fn preview(text: &str, max: usize) -> String {
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= max {
        line
    } else {
        line.chars().take(max.saturating_sub(1)).collect::<String>() + "…"
    }
}

/// Canned replies whose shortcut starts with what follows the `/` at the start of `draft`.
pub fn completions<'a>(
    draft: &str,
    replies: &'a [bellhop_protocol::console::CannedReply],
) -> Vec<&'a bellhop_protocol::console::CannedReply> {
    let Some(typed) = draft.strip_prefix('/') else {
        return Vec::new();
    };
    if typed.contains(char::is_whitespace) {
        return Vec::new();
    }
    let typed = typed.to_lowercase();
    replies
        .iter()
        .filter(|r| r.shortcut.starts_with(&typed))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bellhop_protocol::console::{CannedReply, NoteKind};
    use bellhop_protocol::{CannedReplyId, NoteId, VisitorId};
    use uuid::Uuid;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn me() -> AgentRef {
        AgentRef {
            id: AgentId::from_uuid(id(1)),
            display_name: "Maya".into(),
        }
    }

    fn conversation(n: u128, created_at: Millis) -> Conversation {
        Conversation {
            id: ConversationId::from_uuid(id(100 + n)),
            site_id: SiteId::from_uuid(id(9)),
            visitor_id: VisitorId::from_uuid(id(200 + n)),
            department_id: None,
            priority: Default::default(),
            status: ConversationStatus::Assigned,
            agent: Some(me()),
            last_seq: 0,
            created_at,
            assigned_at: Some(created_at),
            closed_at: None,
            missed: false,
            visitor_read_seq: 0,
            agent_read_seq: 0,
            rating: None,
        }
    }

    fn message(c: &Conversation, seq: u64, author: AuthorKind, at: Millis) -> Message {
        Message {
            conversation_id: c.id,
            seq,
            author,
            author_name: None,
            client_id: None,
            body: format!("m{seq}"),
            sent_at: at,
            attachment: None,
        }
    }

    fn inbox() -> Inbox {
        Inbox {
            me: Some(me().id),
            ..Default::default()
        }
    }

    #[test]
    fn unread_counts_visitor_messages_after_the_agents_read_mark() {
        let c = conversation(1, 0);
        let mut chat = Chat::new(c.clone());
        chat.add_message(message(&c, 1, AuthorKind::Visitor, 10));
        chat.add_message(message(&c, 2, AuthorKind::System, 11));
        chat.add_message(message(&c, 3, AuthorKind::Visitor, 12));
        assert_eq!(chat.unread(), 2);
        chat.conversation.agent_read_seq = 1;
        assert_eq!(chat.unread(), 1);
        chat.read_sent = 3;
        assert_eq!(chat.unread(), 0);
        // The same message twice is held once.
        chat.add_message(message(&c, 3, AuthorKind::Visitor, 12));
        assert_eq!(chat.messages.len(), 3);
    }

    #[test]
    fn a_visitor_waits_from_their_first_message_after_the_agents_last() {
        let c = conversation(1, 0);
        let mut chat = Chat::new(c.clone());
        assert_eq!(chat.waiting_since(), None);
        chat.add_message(message(&c, 1, AuthorKind::Visitor, 1_000));
        chat.add_message(message(&c, 2, AuthorKind::System, 1_001));
        chat.add_message(message(&c, 3, AuthorKind::Visitor, 5_000));
        assert_eq!(chat.waiting_since(), Some(1_000));
        chat.add_message(message(&c, 4, AuthorKind::Agent, 9_000));
        assert_eq!(chat.waiting_since(), None);
        chat.add_message(message(&c, 5, AuthorKind::Visitor, 20_000));
        assert_eq!(chat.waiting_since(), Some(20_000));
    }

    #[test]
    fn chats_waiting_past_their_target_rise_to_the_top() {
        let mut inbox = inbox();
        let (a, b, c) = (conversation(1, 0), conversation(2, 10), conversation(3, 20));
        for conv in [&a, &b, &c] {
            inbox.update(conv.clone());
        }
        // a: answered; b: waiting since 40 s; c: waiting since 50 s.
        let chat = inbox.chat_mut(a.id).map(|ch| {
            ch.add_message(message(&a, 1, AuthorKind::Visitor, 0));
            ch.add_message(message(&a, 2, AuthorKind::Agent, 1));
        });
        assert!(chat.is_some());
        if let Some(ch) = inbox.chat_mut(b.id) {
            ch.add_message(message(&b, 1, AuthorKind::Visitor, 40_000));
        }
        if let Some(ch) = inbox.chat_mut(c.id) {
            ch.add_message(message(&c, 1, AuthorKind::Visitor, 50_000));
        }
        // At 60 s nobody is past 30 s but b (20 s)… neither is: arrival order.
        assert_eq!(inbox.order(60_000), vec![a.id, b.id, c.id]);
        // At 85 s both waited over 30 s: longest first, then the answered one.
        assert_eq!(inbox.order(85_000), vec![b.id, c.id, a.id]);
        // A site with a longer target keeps them in place.
        inbox.targets.insert(a.site_id, 60);
        assert_eq!(inbox.order(85_000), vec![a.id, b.id, c.id]);
    }

    #[test]
    fn keyboard_steps_wrap_around_the_inbox() {
        let mut inbox = inbox();
        let (a, b) = (conversation(1, 0), conversation(2, 10));
        inbox.update(a.clone());
        inbox.update(b.clone());
        assert_eq!(inbox.neighbour(0, 1), Some(a.id));
        inbox.active = Some(a.id);
        assert_eq!(inbox.neighbour(0, 1), Some(b.id));
        assert_eq!(inbox.neighbour(0, -1), Some(b.id));
        assert_eq!(inbox.nth(0, 2), Some(b.id));
        assert_eq!(inbox.nth(0, 3), None);
        assert_eq!(inbox.nth(0, 0), None);
    }

    #[test]
    fn a_chat_that_is_no_longer_mine_leaves_unless_it_is_shown() {
        let mut inbox = inbox();
        let a = conversation(1, 0);
        inbox.update(a.clone());
        let mut gone = a.clone();
        gone.agent = Some(AgentRef {
            id: AgentId::from_uuid(id(2)),
            display_name: "Jonas".into(),
        });
        inbox.active = Some(a.id);
        inbox.update(gone.clone());
        assert!(inbox.chats.contains_key(&a.id));
        assert!(inbox.order(0).is_empty());
        inbox.active = None;
        inbox.update(gone);
        assert!(inbox.chats.is_empty());
    }

    #[test]
    fn notes_sit_after_the_message_they_followed() {
        let c = conversation(1, 0);
        let mut chat = Chat::new(c.clone());
        for seq in 1..=3 {
            chat.add_message(message(&c, seq, AuthorKind::Visitor, seq as i64));
        }
        let note = |n: u128, after_seq| Note {
            id: NoteId::from_uuid(id(n)),
            conversation_id: c.id,
            kind: NoteKind::Note,
            author: me(),
            body: "n".into(),
            client_id: None,
            after_seq,
            created_at: n as i64,
        };
        chat.add_note(note(2, 3));
        chat.add_note(note(1, 1));
        chat.add_note(note(1, 1));
        let keys: Vec<String> = chat.timeline(0).iter().map(Line::key).collect();
        let n1 = format!("n{}", NoteId::from_uuid(id(1)));
        let n2 = format!("n{}", NoteId::from_uuid(id(2)));
        assert_eq!(keys, vec!["m1".into(), n1, "m2".into(), "m3".into(), n2]);
        // From the second message on, the note after the first belongs to it.
        assert_eq!(chat.timeline(1).len(), 4);
    }

    #[test]
    fn older_pages_go_in_front_without_duplicates() {
        let c = conversation(1, 0);
        let mut chat = Chat::new(c.clone());
        chat.add_message(message(&c, 3, AuthorKind::Visitor, 3));
        chat.add_older(
            (1..=3)
                .map(|s| message(&c, s, AuthorKind::Visitor, s as i64))
                .collect(),
            None,
        );
        let seqs: Vec<u64> = chat.messages.iter().map(|m| m.seq).collect();
        assert_eq!(seqs, vec![1, 2, 3]);
    }

    #[test]
    fn slash_completes_canned_replies_by_shortcut() {
        let reply = |shortcut: &str| CannedReply {
            id: CannedReplyId::from_uuid(id(shortcut.len() as u128)),
            site_id: SiteId::from_uuid(id(9)),
            department_id: None,
            shortcut: shortcut.into(),
            body: "b".into(),
        };
        let replies = vec![reply("hello"), reply("help"), reply("refund")];
        let names = |d: &str| -> Vec<String> {
            completions(d, &replies)
                .iter()
                .map(|r| r.shortcut.clone())
                .collect()
        };
        assert_eq!(names("/he"), vec!["hello", "help"]);
        assert_eq!(names("/HEL"), vec!["hello", "help"]);
        assert_eq!(names("/x"), Vec::<String>::new());
        assert_eq!(names("he"), Vec::<String>::new());
        assert_eq!(names("/hello there"), Vec::<String>::new());
    }

    #[test]
    fn clocks_and_previews() {
        assert_eq!(clock(65_000), "1:05");
        assert_eq!(clock(3_725_000), "1:02:05");
        assert_eq!(preview("a\n b  c", 10), "a b c");
        assert_eq!(preview("abcdef", 4), "abc…");
    }
}
