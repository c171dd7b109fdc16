//! WebSocket endpoints: `/ws/v1/visitor?key=WIDGET_KEY` for the widget and `/ws/v1/agent` for the
//! console. The upgrade checks what can be checked before the socket exists (the visitor's
//! origin against the site's allow-list; a cookie-carrying agent's origin against this server;
//! the sockets already open from the client's address); then one task runs the socket, with
//! the client's address and its place in that count.
//!
//! The socket layer, split by job: [`transport`] (bounded writes, pings, the close handshake),
//! [`hello`] (the phase before and during `hello`, which yields a live connection), [`live`]
//! (the authenticated connection's `select!` loop, pipelined sends, shutdown drain),
//! [`delivery`] (what each connection has been sent: pure, unit-tested), the coalescing of
//! typing, sneak peeks and read marks ([`typing`], [`peek`], [`read_marks`]), what an agent
//! socket watches ([`watch`]), its live feed subscriptions ([`feeds`](mod@feeds)), and the frame
//! handlers [`visitor`](mod@visitor) and [`agent`](mod@agent). Store writes are built by the
//! chat service, not here.

mod agent;
mod delivery;
mod feeds;
mod hello;
mod live;
mod peek;
mod read_marks;
mod transport;
mod typing;
mod visitor;
mod watch;

use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, rt, web};
use bellhop_protocol::ErrorCode;
use bellhop_protocol::api::WidgetKeyQuery;
use tracing::Instrument;

use crate::app::AppState;
use crate::auth::origin;
use crate::auth::session::{COOKIE_NAME, token_hash};
use crate::error::HttpError;
use crate::routes::session::agent_for_token;
use crate::routes::widget::widget_site;
use hello::SocketKind;
use transport::Transport;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/ws/v1/visitor", web::get().to(visitor))
        .route("/ws/v1/agent", web::get().to(agent));
}

async fn visitor(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
    query: web::Query<WidgetKeyQuery>,
) -> Result<HttpResponse, HttpError> {
    let site = widget_site(&state, &req, &query.key).await?;
    upgrade(&req, body, state, SocketKind::Visitor { site: site.id })
}

async fn agent(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, HttpError> {
    // Browsers send cookies with cross-site WebSocket upgrades, so a cookie only counts when
    // the page is this server's own.
    let cookie_agent = match req.cookie(COOKIE_NAME) {
        Some(cookie) => {
            if !origin::same_origin(&req) {
                return Err(HttpError::new(
                    ErrorCode::OriginNotAllowed,
                    "the session cookie is only accepted from this server's own pages",
                ));
            }
            agent_for_token(&state, cookie.value())
                .await
                .ok()
                .map(|agent| (agent, token_hash(cookie.value())))
        }
        None => None,
    };
    upgrade(&req, body, state, SocketKind::Agent { cookie_agent })
}

fn upgrade(
    req: &HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
    kind: SocketKind,
) -> Result<HttpResponse, HttpError> {
    if state.shutdown.is_cancelled() {
        return Err(HttpError::with_status(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal,
            "the server is shutting down",
        ));
    }
    // Counted from the upgrade: a visitor's socket for its whole life, an agent's until its
    // `hello` names the agent (see `hello::run`).
    let address = crate::limits::client_ip(req, state.limits.client_ip_header.as_deref());
    let Some(slot) = state.limits.address_sockets.acquire(&address) else {
        return Err(HttpError::rate_limited(
            "sockets from this address",
            crate::limits::SOCKETS_RETRY_AFTER,
        ));
    };
    let (response, session, stream) = actix_ws::handle(req, body).map_err(|e| {
        HttpError::with_status(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRequest,
            format!("not a WebSocket upgrade: {e}"),
        )
    })?;
    let max = state.config.ws.max_frame_bytes;
    let stream = stream
        .max_frame_size(max)
        .aggregate_continuations()
        .max_continuation_size(max);
    let running = state.sockets.token();
    let span = socket_span(&kind);
    let transport = Transport::new(session, stream, state.config.ws.client_timeout());
    rt::spawn(
        async move {
            let _running = running;
            hello::run(state, transport, kind, hello::Address { ip: address, slot }).await;
        }
        .instrument(span),
    );
    Ok(response)
}

/// Every log line of a socket carries its connection id, its role and its site or agent.
fn socket_span(kind: &SocketKind) -> tracing::Span {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let connection = NEXT.fetch_add(1, Ordering::Relaxed);
    match kind {
        SocketKind::Visitor { site } => {
            tracing::info_span!("socket", connection, role = "visitor", %site)
        }
        SocketKind::Agent { .. } => tracing::info_span!(
            "socket",
            connection,
            role = "agent",
            agent = tracing::field::Empty
        ),
    }
}
