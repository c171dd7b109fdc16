//! Stable machine-readable error codes. They appear in `error` frames and in REST error
//! bodies ([`ApiError`]); clients branch on the code, never on the human-readable message.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame or body is not valid JSON, or lacks a required field, or a field is invalid.
    BadFrame,
    /// The frame's `type` is not one this socket understands.
    UnknownFrame,
    /// Binary WebSocket frames are not part of the protocol.
    BinaryNotSupported,
    /// A message body is blank, too long or contains a forbidden character.
    InvalidBody,
    /// The `hello` asked for a protocol version the server does not speak.
    UnsupportedVersion,
    /// The first frame on a socket must be `hello`.
    HelloRequired,
    /// A second `hello` on an already authenticated socket.
    AlreadyAuthenticated,
    /// No credentials, or credentials that are invalid or expired.
    Unauthorized,
    /// Valid credentials that do not reach this resource.
    Forbidden,
    /// The resource does not exist (or is not visible to the caller).
    NotFound,
    /// The same client message id was already used for a different message.
    ClientIdConflict,
    /// The conversation is closed; a visitor's next message opens a new one.
    ConversationClosed,
    /// The request is well-formed but not acceptable (e.g. an unknown field value).
    InvalidRequest,
    /// The WebSocket upgrade came from an origin that is not on the site's allow-list.
    OriginNotAllowed,
    /// Login failed: unknown email or wrong password (deliberately not told apart).
    InvalidCredentials,
    /// Something already exists (e.g. an agent with this email).
    Conflict,
    /// The site (or department) is outside its business hours: no new chat now; offer the
    /// offline form.
    Offline,
    /// A transfer's target agent is offline or away.
    AgentUnavailable,
    /// A transfer's target agent has no room under their chat cap.
    AgentAtCapacity,
    /// The server failed; the cause is in its logs. Retrying later is safe.
    Internal,
}

impl ErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadFrame => "bad_frame",
            ErrorCode::UnknownFrame => "unknown_frame",
            ErrorCode::BinaryNotSupported => "binary_not_supported",
            ErrorCode::InvalidBody => "invalid_body",
            ErrorCode::UnsupportedVersion => "unsupported_version",
            ErrorCode::HelloRequired => "hello_required",
            ErrorCode::AlreadyAuthenticated => "already_authenticated",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::ClientIdConflict => "client_id_conflict",
            ErrorCode::ConversationClosed => "conversation_closed",
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::OriginNotAllowed => "origin_not_allowed",
            ErrorCode::InvalidCredentials => "invalid_credentials",
            ErrorCode::Conflict => "conflict",
            ErrorCode::Offline => "offline",
            ErrorCode::AgentUnavailable => "agent_unavailable",
            ErrorCode::AgentAtCapacity => "agent_at_capacity",
            ErrorCode::Internal => "internal",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The body of every REST error response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_match_as_str() {
        for code in [
            ErrorCode::BadFrame,
            ErrorCode::UnknownFrame,
            ErrorCode::ClientIdConflict,
            ErrorCode::OriginNotAllowed,
            ErrorCode::Internal,
        ] {
            let json = serde_json::to_string(&code).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
    }
}
