//! Bellhop's wire protocol: every WebSocket frame and REST body that the server, the widget and
//! the agent console exchange, as serde types.
//!
//! One definition, three users: a change here is carried by the compiler to every side.
//! The crate is plain data plus parsing (no I/O), so it builds for `wasm32-unknown-unknown`.
//!
//! - [`ids`] — typed identifiers (`ConversationId`, never a bare `Uuid`).
//! - [`text`] — validated user input (`MessageBody`, `Email`, `ChatCap`, `TransferNote`, …):
//!   deserialising a frame or body validates it.
//! - [`frames`] — WebSocket frames for the visitor and agent sockets, and [`frames::decode`].
//! - [`api`] — REST request and response bodies, and the queries of the REST lists.
//! - [`console`] — what only the agent console uses: notes, canned replies, preferences, the
//!   queue and wallboard feeds, the visitor panel, reports, privacy.
//! - [`error`] — the stable machine-readable error codes shared by frames and REST.
//!
//! The protocol is described for humans in `docs/protocol.md`.

pub mod api;
pub mod console;
pub mod error;
pub mod frames;
pub mod ids;
pub mod text;
mod wire_name;

pub use error::ErrorCode;
pub use ids::{
    AgentId, AttachmentId, CannedReplyId, ConversationId, DepartmentId, LeadId, NoteId, SiteId,
    VisitorId,
};
pub use text::{ChatCap, ClientMessageId, DisplayName, Email, MessageBody, Password, TransferNote};

/// The protocol version this crate speaks. Clients send it in their `hello` frame; the server
/// refuses versions it does not speak with [`ErrorCode::UnsupportedVersion`].
pub const PROTOCOL_VERSION: u32 = 1;

/// WebSocket close codes the server uses, beside the standard ones
/// (1001 going away, 1007 invalid payload, 1008 policy, 1009 too big).
pub mod close_code {
    /// The server is shutting down or restarting; reconnect (possibly elsewhere).
    pub const GOING_AWAY: u16 = 1001;
    /// A text frame was not valid UTF-8.
    pub const INVALID_PAYLOAD: u16 = 1007;
    /// A frame exceeded the server's frame-size limit.
    pub const TOO_BIG: u16 = 1009;
    /// No valid `hello` arrived in time, or its credentials were refused.
    pub const UNAUTHORIZED: u16 = 4001;
    /// The `hello` asked for a protocol version the server does not speak.
    pub const UNSUPPORTED_VERSION: u16 = 4002;
    /// The client did not answer heartbeats in time.
    pub const TIMED_OUT: u16 = 4003;
    /// The agent's session ended while the socket was open: a logout, a password change or
    /// reset, a role change, removal from a site, or deactivation. The token no longer works;
    /// log in again before reconnecting.
    pub const SESSION_ENDED: u16 = 4004;
    /// The client could not keep up with its outbound queue; it should reconnect and resume
    /// from the last sequence number it saw.
    pub const TOO_SLOW: u16 = 4008;
    /// The visitor or agent already has as many sockets open as the server allows (the `hello`
    /// was answered `error` `rate_limited`); reconnect later with back-off, or close another
    /// tab first.
    pub const TOO_MANY_SOCKETS: u16 = 4029;
}
