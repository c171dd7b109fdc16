//! Liveness (`/healthz`: the process answers) and readiness (`/readyz`: the database answers).

use actix_web::HttpResponse;
use bellhop_protocol::api::Health;

use super::State;

fn health(status: &str) -> Health {
    Health {
        status: status.into(),
        version: env!("CARGO_PKG_VERSION").into(),
    }
}

pub(crate) async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(health("ok"))
}

pub(crate) async fn readyz(state: State) -> HttpResponse {
    if state.shutdown.is_cancelled() {
        return HttpResponse::ServiceUnavailable().json(health("shutting_down"));
    }
    match state.store.ping().await {
        Ok(()) => HttpResponse::Ok().json(health("ok")),
        Err(e) => {
            tracing::warn!(error = ?e, "readiness check failed");
            HttpResponse::ServiceUnavailable().json(health("database_unavailable"))
        }
    }
}
