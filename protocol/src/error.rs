//! Stable machine-readable error codes. They appear in `error` frames and in REST error
//! bodies ([`ApiError`]); clients branch on the code, never on the human-readable message.

use serde::{Deserialize, Serialize};

use crate::wire_name::wire_names;

/// Defines [`ErrorCode`] and [`ErrorCode::ALL`] from one list, so neither can miss a code.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $code:ident,)*) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum ErrorCode {
            $($(#[$doc])* $code,)*
        }

        impl ErrorCode {
            /// Every code, for tests and documentation checks.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$code),*];
        }
    };
}

error_codes! {
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
    /// Too many requests, or sockets, from this client IP, visitor or agent: an abuse limit.
    /// REST answers (and a refused socket upgrade) say when to retry in `Retry-After`;
    /// nothing was done or stored. A refused `hello` is followed by close `4029`.
    RateLimited,
    /// An attachment whose type (found from its first bytes, never its name or declared
    /// type) is not one the site accepts, or the site accepts no attachments (`415`).
    UnsupportedFileType,
    /// An attachment larger than the site's limit, which the message names (`413`).
    FileTooLarge,
}

wire_names!(ErrorCode);

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
    fn wire_names_match_as_str_and_parse_back() {
        for &code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
        }
        assert_eq!(ErrorCode::OriginNotAllowed.as_str(), "origin_not_allowed");
        assert_eq!(ErrorCode::parse("OriginNotAllowed"), None);
    }

    #[test]
    fn all_lists_every_code_once() {
        let distinct: std::collections::HashSet<_> = ErrorCode::ALL.iter().collect();
        assert_eq!(distinct.len(), ErrorCode::ALL.len());
        assert_eq!(ErrorCode::ALL.len(), 23);
    }
}
