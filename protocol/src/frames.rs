//! WebSocket frames. Every frame is a JSON object with a `type` field.
//!
//! - The visitor socket (`/ws/v1/visitor`) takes [`VisitorFrame`]s.
//! - The agent socket (`/ws/v1/agent`) takes [`AgentFrame`]s.
//! - Both send [`ServerFrame`]s.
//!
//! Delivery rules (see `docs/protocol.md`): every stored message has a per-conversation `seq`
//! starting at 1; the server sends `ack` only after the message is committed; a resend with the
//! same `client_id` returns the same `ack`; a client that resumes with `last_seq = k` receives
//! exactly the messages `k+1..` in order.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

#[cfg(feature = "staff")]
use crate::console::{Feed, Note, QueueView, Wallboard};
use crate::error::ErrorCode;
use crate::ids::{AgentId, AttachmentId, ConversationId, DepartmentId, SiteId, VisitorId};
use crate::text::{ClientMessageId, MessageBody};
use crate::wire_name::wire_names;

/// Milliseconds since the Unix epoch, UTC.
pub type Millis = i64;

/// Where a client left off in one conversation: it has seen every message up to `last_seq`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResumePoint {
    pub conversation_id: ConversationId,
    pub last_seq: u64,
}

/// Frames a visitor's widget sends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum VisitorFrame {
    /// The first frame on the socket: protocol version, the visitor token from
    /// `POST /api/v1/widget/session`, and where the client left off.
    Hello {
        v: u32,
        token: String,
        #[serde(default)]
        resume: Vec<ResumePoint>,
    },
    /// Send a message. Without `conversation_id` it goes to the visitor's open conversation,
    /// opening one if there is none; `department_id` picks the queue of a conversation this
    /// message opens (default: the site's default department).
    Send {
        client_id: ClientMessageId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        conversation_id: Option<ConversationId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        department_id: Option<DepartmentId>,
        body: MessageBody,
    },
    /// The visitor started or stopped typing (ephemeral).
    Typing {
        conversation_id: ConversationId,
        typing: bool,
    },
    /// The visitor ends the chat. One no agent answered counts as missed.
    Close { conversation_id: ConversationId },
    /// "Sneak peek": the draft the visitor is typing, already masked by the widget with
    /// [`crate::text::mask_sensitive`] (the server masks it again). Relayed to the serving agent
    /// only, never stored; an empty `text` clears it.
    Peek {
        conversation_id: ConversationId,
        text: String,
    },
    /// The visitor has seen every message up to `seq`. Stored as the visitor's read position
    /// (it never moves back) and told to the agents as a [`ServerFrame::Read`].
    Read {
        conversation_id: ConversationId,
        seq: u64,
    },
}

impl VisitorFrame {
    pub const TYPES: &'static [&'static str] =
        &["hello", "send", "typing", "close", "peek", "read"];
}

/// Frames the agent console sends. Those of the console's own views (notes, watching, picking,
/// feeds) exist with the `staff` feature, as the staff-only [`ServerFrame`]s do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AgentFrame {
    /// The first frame on the socket. `token` is the session token from
    /// `POST /api/v1/auth/login`; it may be omitted when the upgrade carried the session cookie.
    Hello {
        v: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
        #[serde(default)]
        resume: Vec<ResumePoint>,
    },
    /// Send a message into a conversation assigned to this agent.
    Send {
        client_id: ClientMessageId,
        conversation_id: ConversationId,
        body: MessageBody,
    },
    /// The agent started or stopped typing (ephemeral).
    Typing {
        conversation_id: ConversationId,
        typing: bool,
    },
    /// Close a conversation assigned to this agent, freeing a slot.
    Close { conversation_id: ConversationId },
    /// Become available for new chats (`online`) or keep current chats only (`away`).
    SetStatus { status: AgentStatus },
    /// Hand a conversation to a colleague or a department; the receiver gets the whole
    /// history and the note.
    Transfer {
        conversation_id: ConversationId,
        to: TransferTarget,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// Mark a conversation urgent (served first) or normal.
    SetPriority {
        conversation_id: ConversationId,
        priority: Priority,
    },
    /// The agents have seen every message up to `seq` (one read position per conversation
    /// for the agent side); told to the visitor as a [`ServerFrame::Read`].
    Read {
        conversation_id: ConversationId,
        seq: u64,
    },
    /// A private note into a conversation (a whisper when the author does not serve it): seen
    /// by agents only, answered by a `note_added` with the same `client_id`; a resend with the
    /// same `client_id` answers the same note.
    #[cfg(feature = "staff")]
    Note {
        client_id: ClientMessageId,
        conversation_id: ConversationId,
        body: MessageBody,
    },
    /// The conversation this socket shows now (`null`: none). The server answers with
    /// `conversation_updated`, the messages after `after_seq` and `viewers`, then keeps the
    /// socket up to date with the conversation (messages, typing, sneak peeks, read marks,
    /// notes, state changes) and tells the others looking at it who views it. Anyone may watch a
    /// conversation of their sites they may read; a supervisor's watch is the read-only monitor.
    #[cfg(feature = "staff")]
    Watch {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        conversation_id: Option<ConversationId>,
        #[serde(default)]
        after_seq: u64,
    },
    /// Take a waiting conversation from the queue (agents who may pick). It is an assignment:
    /// the cap and the one-agent rule hold as for the router's.
    #[cfg(feature = "staff")]
    Pick { conversation_id: ConversationId },
    /// Start receiving a live feed (`queue`, `wallboard`): its current state at once, then
    /// every change.
    #[cfg(feature = "staff")]
    Subscribe { feed: Feed },
    #[cfg(feature = "staff")]
    Unsubscribe { feed: Feed },
}

impl AgentFrame {
    pub const TYPES: &'static [&'static str] = &[
        "hello",
        "send",
        "typing",
        "close",
        "set_status",
        "transfer",
        "set_priority",
        "read",
        #[cfg(feature = "staff")]
        "note",
        #[cfg(feature = "staff")]
        "watch",
        #[cfg(feature = "staff")]
        "pick",
        #[cfg(feature = "staff")]
        "subscribe",
        #[cfg(feature = "staff")]
        "unsubscribe",
    ];
}

/// An agent's availability. Away agents keep their chats but get no new ones; offline agents
/// (no connection) keep theirs for a grace period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentStatus {
    Online,
    Away,
    Offline,
}

wire_names!(AgentStatus, AuthorKind, ConversationStatus);

/// Where a transfer goes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TransferTarget {
    /// A colleague, who must be online with room under their cap.
    Agent { agent_id: AgentId },
    /// A department's queue, served by its agents in priority and arrival order.
    Department { department_id: DepartmentId },
}

/// Queue priority: urgent conversations are served before normal ones.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    #[default]
    Normal,
    Urgent,
}

impl Priority {
    pub fn as_i64(self) -> i64 {
        match self {
            Priority::Normal => 0,
            Priority::Urgent => 1,
        }
    }

    pub fn from_i64(value: i64) -> Self {
        if value > 0 {
            Priority::Urgent
        } else {
            Priority::Normal
        }
    }
}

/// Who wrote a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthorKind {
    Visitor,
    Agent,
    /// The server itself: automatic acknowledgements and notices.
    System,
}

/// A stored chat message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub conversation_id: ConversationId,
    pub seq: u64,
    pub author: AuthorKind,
    /// The agent's display name for agent messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_name: Option<String>,
    /// The sender's id for this message, so a client can match it to what it sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<ClientMessageId>,
    /// Plain text; never to be interpreted as HTML. For a file, its name.
    pub body: String,
    pub sent_at: Millis,
    /// The file this message carries, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<Attachment>,
}

/// A stored file, as a message carries it. Download it from
/// `GET /api/v1/attachments/{id}` as one of the conversation's parties.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub id: AttachmentId,
    /// The uploader's file name, cleaned (no path, no control characters).
    pub name: String,
    /// The type the server found in the file's first bytes (never the declared one).
    pub content_type: String,
    pub size: u64,
}

impl Attachment {
    /// Shown inline as a thumbnail rather than as a link.
    pub fn is_image(&self) -> bool {
        self.content_type.starts_with("image/")
    }
}

/// A visitor's satisfaction rating of a closed conversation (1 to 5), given once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rating {
    pub score: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub rated_at: Millis,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationStatus {
    /// Waiting in the queue for an agent.
    Queued,
    /// An agent serves it.
    Assigned,
    Closed,
}

/// An agent as a visitor or colleague sees them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentRef {
    pub id: AgentId,
    pub display_name: String,
}

/// A conversation's state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    pub id: ConversationId,
    pub site_id: SiteId,
    pub visitor_id: VisitorId,
    /// The queue it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department_id: Option<DepartmentId>,
    #[serde(default)]
    pub priority: Priority,
    pub status: ConversationStatus,
    /// The agent who serves (or, once closed, served) it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentRef>,
    /// The highest sequence number stored in it.
    pub last_seq: u64,
    pub created_at: Millis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_at: Option<Millis>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<Millis>,
    /// Closed before any agent answered.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub missed: bool,
    /// The visitor has seen every message up to this `seq` (absent: none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub visitor_read_seq: u64,
    /// The agents have seen every message up to this `seq` (absent: none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub agent_read_seq: u64,
    /// The visitor's rating, once given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<Rating>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Who the server recognised in `hello`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Identity {
    Visitor {
        visitor_id: VisitorId,
        site_id: SiteId,
    },
    Agent {
        agent_id: AgentId,
        display_name: String,
    },
}

/// Frames the server sends on both sockets.
///
/// The frames only agents receive about the console's views (notes, viewers, watched state,
/// the queue and wallboard feeds) exist with the `staff` feature, which the server and the
/// console enable. The visitor's panel, which never receives them, is built without it: their
/// payloads' drop code would otherwise sit in its size budget.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// The answer to `hello`: who you are and your open conversations. Missed messages of
    /// each (after the resume points) follow as `message` frames.
    Welcome {
        v: u32,
        identity: Identity,
        conversations: Vec<Conversation>,
        /// Seconds between server pings; answer pings (browsers do) or send any frame.
        heartbeat_secs: u64,
        /// Resume points of this `hello` whose `last_seq` was beyond the conversation's last
        /// message, each with that last `seq`: the server resumed from there, and the client
        /// should drop whatever it holds above it.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        clamped: Vec<ResumePoint>,
    },
    /// The message with `client_id` is committed with this `seq`.
    Ack {
        client_id: ClientMessageId,
        conversation_id: ConversationId,
        seq: u64,
        sent_at: Millis,
    },
    /// A committed message, delivered in `seq` order per conversation, each exactly once per
    /// connection.
    Message { message: Message },
    /// Someone in the conversation started or stopped typing (ephemeral, may be dropped).
    Typing {
        conversation_id: ConversationId,
        author: AuthorKind,
        typing: bool,
    },
    /// A visitor's first message opened this conversation.
    ConversationOpened { conversation: Conversation },
    /// An agent now serves the conversation.
    ConversationAssigned { conversation: Conversation },
    /// The conversation was closed.
    ConversationClosed { conversation: Conversation },
    /// To an agent: a colleague handed this conversation to you (it is now assigned to you;
    /// its history follows as `message` frames).
    ConversationTransferred {
        conversation: Conversation,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<AgentRef>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// To an agent: this conversation is no longer yours (transferred away, or re-queued after
    /// you were offline longer than the grace period).
    ConversationReleased { conversation: Conversation },
    /// To an agent: your availability as the server sees it.
    AgentStatus { status: AgentStatus },
    /// The visitor's place in the queue (1 = next). `estimated_wait_secs` is absent when there
    /// is no honest estimate.
    QueueStatus {
        conversation_id: ConversationId,
        position: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        estimated_wait_secs: Option<u64>,
    },
    /// To the serving agent: the visitor's masked draft (ephemeral, never stored; empty clears).
    Peek {
        conversation_id: ConversationId,
        text: String,
    },
    /// `reader` has seen every message up to `seq` (sent to the other party and to the
    /// reader's other sockets).
    Read {
        conversation_id: ConversationId,
        reader: AuthorKind,
        seq: u64,
    },
    /// To agents: the visitor rated the conversation.
    ConversationRated {
        conversation_id: ConversationId,
        rating: Rating,
    },
    /// To agents: a note was added to a conversation they serve or watch (and to its author).
    #[cfg(feature = "staff")]
    NoteAdded { note: Note },
    /// To the agents looking at a conversation and the one serving it: who has it open now.
    #[cfg(feature = "staff")]
    Viewers {
        conversation_id: ConversationId,
        viewers: Vec<AgentRef>,
    },
    /// To a socket watching the conversation: its state now (after a `watch`, and on every
    /// change: assigned, transferred, released, re-prioritised, closed, rated).
    #[cfg(feature = "staff")]
    ConversationUpdated { conversation: Conversation },
    /// To sockets subscribed to the `queue` feed: every waiting chat of their sites.
    #[cfg(feature = "staff")]
    Queue { queue: QueueView },
    /// To sockets subscribed to the `wallboard` feed: the whole board.
    #[cfg(feature = "staff")]
    Wallboard { board: Wallboard },
    /// Something the client sent was refused. `client_id` names the refused `send`, if any.
    Error {
        code: ErrorCode,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<ClientMessageId>,
    },
}

/// Why a text frame could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    pub code: ErrorCode,
    pub message: String,
}

/// Frames that name their accepted `type`s, so decoding can tell an unknown type from a
/// malformed frame.
pub trait FrameTypes {
    const TYPES: &'static [&'static str];
}

impl FrameTypes for VisitorFrame {
    const TYPES: &'static [&'static str] = VisitorFrame::TYPES;
}

impl FrameTypes for AgentFrame {
    const TYPES: &'static [&'static str] = AgentFrame::TYPES;
}

/// Decodes one text frame: [`ErrorCode::BadFrame`] for malformed JSON or fields,
/// [`ErrorCode::UnknownFrame`] for a `type` this socket does not take, and
/// [`ErrorCode::InvalidBody`] for a message body that fails validation.
pub fn decode<T: DeserializeOwned + FrameTypes>(text: &str) -> Result<T, DecodeError> {
    // The common case parses once; only a failure pays for working out what was wrong.
    serde_json::from_str(text).map_err(|e| classify::<T>(text, e))
}

fn classify<T: FrameTypes>(text: &str, error: serde_json::Error) -> DecodeError {
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(e) => {
            return DecodeError {
                code: ErrorCode::BadFrame,
                message: format!("not valid JSON: {e}"),
            };
        }
    };
    let Some(kind) = value.get("type").and_then(|t| t.as_str()) else {
        return DecodeError {
            code: ErrorCode::BadFrame,
            message: "a frame must be a JSON object with a string `type`".into(),
        };
    };
    if !T::TYPES.contains(&kind) {
        return DecodeError {
            code: ErrorCode::UnknownFrame,
            message: format!("unknown frame type `{kind}`"),
        };
    }
    if let Some(Err(why)) = value
        .get("body")
        .and_then(|b| b.as_str())
        .map(|b| MessageBody::parse(b.to_owned()))
    {
        return DecodeError {
            code: ErrorCode::InvalidBody,
            message: format!("message body {why}"),
        };
    }
    DecodeError {
        code: ErrorCode::BadFrame,
        message: format!("invalid `{kind}` frame: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_a_send_frame() {
        let frame: Result<VisitorFrame, _> =
            decode(r#"{"type":"send","client_id":"c1","body":"Hello"}"#);
        assert!(matches!(
            frame,
            Ok(VisitorFrame::Send { conversation_id: None, ref body, .. }) if body.as_str() == "Hello"
        ));
    }

    #[test]
    fn tells_malformed_from_unknown() {
        let malformed = decode::<VisitorFrame>("{not json");
        assert_eq!(malformed.err().map(|e| e.code), Some(ErrorCode::BadFrame));
        let no_type = decode::<VisitorFrame>(r#"{"kind":"send"}"#);
        assert_eq!(no_type.err().map(|e| e.code), Some(ErrorCode::BadFrame));
        let unknown = decode::<VisitorFrame>(r#"{"type":"launch_rockets"}"#);
        assert_eq!(unknown.err().map(|e| e.code), Some(ErrorCode::UnknownFrame));
        // `set_status` is an agent frame, not a visitor one.
        let status = r#"{"type":"set_status","status":"away"}"#;
        assert_eq!(
            decode::<VisitorFrame>(status).err().map(|e| e.code),
            Some(ErrorCode::UnknownFrame)
        );
        assert!(decode::<AgentFrame>(status).is_ok());
    }

    #[test]
    fn missing_fields_and_bad_bodies_are_reported() {
        let missing = decode::<VisitorFrame>(r#"{"type":"send","body":"hi"}"#);
        assert_eq!(missing.err().map(|e| e.code), Some(ErrorCode::BadFrame));
        let blank = decode::<VisitorFrame>(r#"{"type":"send","client_id":"a","body":"  "}"#);
        assert_eq!(blank.err().map(|e| e.code), Some(ErrorCode::InvalidBody));
        let bad_id = decode::<VisitorFrame>(r#"{"type":"send","client_id":"a b","body":"x"}"#);
        assert_eq!(bad_id.err().map(|e| e.code), Some(ErrorCode::BadFrame));
    }

    #[test]
    fn enum_names_are_their_serde_names() {
        for status in [
            ConversationStatus::Queued,
            ConversationStatus::Assigned,
            ConversationStatus::Closed,
        ] {
            assert_eq!(ConversationStatus::parse(status.as_str()), Some(status));
        }
        for author in [AuthorKind::Visitor, AuthorKind::Agent, AuthorKind::System] {
            assert_eq!(AuthorKind::parse(author.as_str()), Some(author));
        }
        assert_eq!(AgentStatus::Away.as_str(), "away");
        assert_eq!(ConversationStatus::Assigned.as_str(), "assigned");
        assert_eq!(AuthorKind::System.as_str(), "system");
        assert_eq!(ConversationStatus::parse("open"), None);
    }

    #[test]
    fn server_frames_round_trip() {
        let frame = ServerFrame::QueueStatus {
            conversation_id: ConversationId::from_uuid(uuid::Uuid::nil()),
            position: 2,
            estimated_wait_secs: None,
        };
        let json = serde_json::to_string(&frame).unwrap_or_default();
        assert!(json.starts_with(r#"{"type":"queue_status""#), "{json}");
        let back: Result<ServerFrame, _> = serde_json::from_str(&json);
        assert_eq!(back.ok(), Some(frame));
    }
}
