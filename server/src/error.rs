//! REST errors: each maps once to an HTTP status and a stable [`ErrorCode`]; internal causes
//! are logged with their chain and never sent.

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
}

impl HttpError {
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthorized,
            "a valid session is required",
        )
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, ErrorCode::Forbidden, message)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            format!("no such {what}"),
        )
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest, message)
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            "internal error; see the server log",
        )
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
        HttpResponse::build(self.status).json(ApiError {
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
        let status = match e.code() {
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::ConversationClosed
            | ErrorCode::ClientIdConflict
            | ErrorCode::AgentUnavailable
            | ErrorCode::AgentAtCapacity
            | ErrorCode::Offline => StatusCode::CONFLICT,
            ErrorCode::InvalidRequest => StatusCode::BAD_REQUEST,
            _ => {
                tracing::error!(error = ?e, "chat action failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        Self::new(status, e.code(), e.public_message())
    }
}

/// Turns actix's extractor errors (bad JSON, bad path or query) into our error body.
pub fn bad_request(err: impl std::fmt::Display) -> actix_web::Error {
    HttpError::new(
        StatusCode::BAD_REQUEST,
        ErrorCode::InvalidRequest,
        err.to_string(),
    )
    .into()
}
