//! REST errors: a stable [`ErrorCode`] and a message for people. The HTTP status follows from
//! the code in one place, [`status_of`]; internal causes are logged with their chain and never
//! sent.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use bellhop_protocol::ErrorCode;
use bellhop_protocol::error::ApiError;

use crate::chat::ChatError;
use crate::store::StoreError;

#[derive(Debug)]
pub struct HttpError {
    status: StatusCode,
    code: ErrorCode,
    message: String,
    /// Seconds for `Retry-After`.
    retry_after: Option<u64>,
}

/// The HTTP status of each error code. No wildcard arm: a new code must be given its status
/// here. Codes that only occur on sockets get the status they would have on REST.
pub(crate) fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::BadFrame
        | ErrorCode::UnknownFrame
        | ErrorCode::BinaryNotSupported
        | ErrorCode::InvalidBody
        | ErrorCode::UnsupportedVersion
        | ErrorCode::HelloRequired
        | ErrorCode::InvalidRequest => StatusCode::BAD_REQUEST,
        ErrorCode::Unauthorized | ErrorCode::InvalidCredentials => StatusCode::UNAUTHORIZED,
        ErrorCode::Forbidden | ErrorCode::OriginNotAllowed => StatusCode::FORBIDDEN,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::AlreadyAuthenticated
        | ErrorCode::ClientIdConflict
        | ErrorCode::ConversationClosed
        | ErrorCode::Conflict
        | ErrorCode::Offline
        | ErrorCode::AgentUnavailable
        | ErrorCode::AgentAtCapacity => StatusCode::CONFLICT,
        ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::UnsupportedFileType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorCode::FileTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl HttpError {
    /// An error with the status its code maps to ([`status_of`]).
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::with_status(status_of(code), code, message)
    }

    /// An error whose status differs from its code's usual one; for the few answers HTTP has
    /// a better word for (`503` while shutting down).
    pub fn with_status(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// `429` `rate_limited` with `Retry-After`: `what` is over its limit for `wait` more.
    pub fn rate_limited(what: &str, wait: std::time::Duration) -> Self {
        let secs = crate::limits::retry_after_secs(wait);
        Self {
            retry_after: Some(secs),
            ..Self::new(
                ErrorCode::RateLimited,
                format!("too many {what}; retry in {secs} s"),
            )
        }
    }

    pub fn unauthorized() -> Self {
        Self::new(ErrorCode::Unauthorized, "a valid session is required")
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("no such {what}"))
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }

    pub fn internal() -> Self {
        Self::new(ErrorCode::Internal, "internal error; see the server log")
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl ResponseError for HttpError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if let Some(secs) = self.retry_after {
            response.insert_header((actix_web::http::header::RETRY_AFTER, secs.to_string()));
        }
        response.json(ApiError {
            code: self.code,
            message: self.message.clone(),
        })
    }
}

impl From<StoreError> for HttpError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = ?e, "storage error");
        Self::internal()
    }
}

impl From<ChatError> for HttpError {
    fn from(e: ChatError) -> Self {
        let error = Self::new(e.code(), e.public_message());
        if error.status.is_server_error() {
            tracing::error!(error = ?e, "chat action failed");
        }
        error
    }
}

/// Turns actix's extractor errors (bad JSON, bad path or query) into our error body.
pub(crate) fn bad_request(err: impl std::fmt::Display) -> actix_web::Error {
    HttpError::invalid(err.to_string()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_the_status_the_protocol_documents() {
        for &code in ErrorCode::ALL {
            let status = status_of(code).as_u16();
            let expected = match code.as_str() {
                "unauthorized" | "invalid_credentials" => 401,
                "forbidden" | "origin_not_allowed" => 403,
                "not_found" => 404,
                "client_id_conflict"
                | "conversation_closed"
                | "conflict"
                | "offline"
                | "agent_unavailable"
                | "agent_at_capacity"
                | "already_authenticated" => 409,
                "rate_limited" => 429,
                "unsupported_file_type" => 415,
                "file_too_large" => 413,
                "internal" => 500,
                _ => 400,
            };
            assert_eq!(status, expected, "{code}");
        }
    }

    #[test]
    fn the_body_carries_the_code_and_message() {
        let error = HttpError::invalid("max_chats must be at most 100");
        assert_eq!(error.status_code(), StatusCode::BAD_REQUEST);
        assert_eq!(error.code(), ErrorCode::InvalidRequest);
        assert_eq!(
            error.to_string(),
            "invalid_request: max_chats must be at most 100"
        );
    }
}
