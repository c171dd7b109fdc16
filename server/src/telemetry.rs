//! Structured logs via `tracing`: human-readable or JSON lines on stderr, filtered by
//! `RUST_LOG` (default `info`), and a span per HTTP request. Colours only when stderr is a
//! terminal, so piped and collected logs stay plain text.
//!
//! [`request_span`] wraps every request (REST and WebSocket upgrades) in a `request` span with
//! its method, path, a request id and, once answered, its status and latency, and logs one
//! line when it is answered. The id is also sent back as `x-request-id`, so an operator can
//! find the log lines of a request a user reports. Only the path is logged: no query string,
//! header or body, so no token or password reaches the log.

use std::io::IsTerminal;

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use tracing::Instrument;
use tracing::field::Empty;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// The response header that carries a request's id.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,actix_server=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Middleware (`actix_web::middleware::from_fn(request_span)`): one span and one log line per
/// request.
pub async fn request_span(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let request_id = format!("{:016x}", rand::random::<u64>());
    let span = tracing::info_span!(
        "request",
        method = %req.method(),
        path = %req.path(),
        request_id = %request_id,
        status = Empty,
        latency_ms = Empty,
    );
    let started = Instant::now();
    let result = next.call(req).instrument(span.clone()).await;
    let status = match &result {
        Ok(response) => response.status(),
        Err(error) => error.as_response_error().status_code(),
    };
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    span.record("status", status.as_u16());
    span.record("latency_ms", latency_ms);
    span.in_scope(|| {
        if status.is_server_error() {
            tracing::warn!("request failed");
        } else {
            tracing::info!("request answered");
        }
    });
    let mut response = result?;
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
    }
    Ok(response)
}
