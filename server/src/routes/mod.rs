//! HTTP routes. Every body is a protocol-crate type; every error an [`crate::error::HttpError`].
//!
//! - `health` — `/healthz`, `/readyz`
//! - `console`, `panel` — the agent console's page and assets, the widget's loader, panel and
//!   assets
//! - `auth` — agent login, logout, `/api/v1/me`
//! - `widget` — visitor tokens for the widget (origin-checked), forms, ratings, transcripts by
//!   email
//! - `conversations` — lists, transcripts, notes, the visitor and the console's visitor panel,
//!   close
//! - `attachments` — uploads (visitor and serving agent) and downloads of files
//! - `leads` — the marketers' list and CSV export
//! - `canned` — canned replies
//! - `sites`, `agents` — administration (and inviting a live visitor to chat)
//! - `privacy` — a visitor's export and erasure, the audit log
//! - `my_sites` — the caller's sites and colleagues, for the console
//! - `reports` — chats, response times and ratings per day, agent or department (JSON, CSV)
//! - `session` — extractors that say who is calling

pub(crate) mod agents;
pub(crate) mod attachments;
pub(crate) mod auth;
pub(crate) mod canned;
pub(crate) mod console;
pub(crate) mod conversations;
pub(crate) mod health;
pub(crate) mod leads;
pub(crate) mod my_sites;
pub(crate) mod panel;
pub(crate) mod privacy;
pub(crate) mod reports;
pub(crate) mod session;
pub(crate) mod sites;
pub(crate) mod widget;

use actix_web::{HttpResponse, web};

use crate::app::AppState;
use crate::error::{HttpError, bad_request};

/// What every handler answers: a response, or an error with its status and code.
pub(crate) type Reply = Result<HttpResponse, HttpError>;
/// The shared application state, as handlers receive it.
pub(crate) type State = web::Data<AppState>;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(64 * 1024)
            .error_handler(|e, _| bad_request(e)),
    )
    .app_data(web::PathConfig::default().error_handler(|e, _| bad_request(e)))
    .app_data(web::QueryConfig::default().error_handler(|e, _| bad_request(e)))
    .route("/healthz", web::get().to(health::healthz))
    .route("/readyz", web::get().to(health::readyz))
    .route("/", web::get().to(console::to_console))
    .route("/about", web::get().to(index))
    .route("/console", web::get().to(console::to_console))
    .route("/console/", web::get().to(console::page))
    .route("/console/assets/{name}", web::get().to(console::asset))
    .route("/widget.js", web::get().to(panel::loader))
    .route("/widget/panel", web::get().to(panel::panel))
    .route("/widget/assets/{name}", web::get().to(panel::asset))
    // The widget's endpoints are called cross-origin from customers' pages: every answer,
    // errors included, carries CORS headers so the widget can read it.
    .service(
        web::scope("/api/v1/widget")
            .wrap(actix_web::middleware::from_fn(widget::cors))
            .route("/session", web::post().to(widget::session))
            .route("/config", web::get().to(widget::config))
            .route("/leads", web::post().to(widget::submit_lead))
            .route("/conversations/{id}/rating", web::post().to(widget::rate))
            .route(
                "/conversations/{id}/transcript",
                web::post().to(widget::email_transcript),
            )
            .route("/presence", web::post().to(widget::presence))
            .route("/attributes", web::post().to(widget::set_page_attributes))
            .route("/attachments", web::post().to(attachments::visitor_upload))
            .default_service(web::to(widget::preflight_or_not_found)),
    )
    .service(
        web::scope("/api/v1")
            .route("/auth/login", web::post().to(auth::login))
            .route("/auth/logout", web::post().to(auth::logout))
            .route("/me", web::get().to(auth::me))
            .route("/me/password", web::post().to(auth::change_password))
            .service(
                web::resource("/me/preferences")
                    .get(auth::preferences)
                    .put(auth::set_preferences),
            )
            .service(
                web::resource("/canned-replies")
                    .get(canned::list)
                    .post(canned::create),
            )
            .service(
                web::resource("/canned-replies/{id}")
                    .patch(canned::update)
                    .delete(canned::delete),
            )
            .route("/me/sites", web::get().to(my_sites::my_sites))
            .route("/reports", web::get().to(reports::json))
            .route("/reports.csv", web::get().to(reports::csv))
            .route("/leads", web::get().to(leads::list))
            .route("/leads.csv", web::get().to(leads::csv))
            .route("/conversations", web::get().to(conversations::list))
            .route("/conversations/{id}", web::get().to(conversations::get))
            .route(
                "/conversations/{id}/visitor",
                web::get().to(conversations::visitor),
            )
            .route(
                "/conversations/{id}/context",
                web::get().to(conversations::context),
            )
            .route(
                "/conversations/{id}/messages",
                web::get().to(conversations::transcript),
            )
            .route(
                "/conversations/{id}/notes",
                web::get().to(conversations::notes),
            )
            .route(
                "/conversations/{id}/attachments",
                web::post().to(attachments::agent_upload),
            )
            .route("/attachments/{id}", web::get().to(attachments::download))
            .route(
                "/conversations/{id}/close",
                web::post().to(conversations::close),
            )
            .route(
                "/conversations/{id}/routing",
                web::get().to(conversations::routing),
            )
            .service(web::resource("/sites").get(sites::list).post(sites::create))
            .service(
                web::resource("/sites/{id}")
                    .get(sites::get)
                    .patch(sites::update),
            )
            .route("/sites/{id}/visitors", web::get().to(sites::live_visitors))
            .route(
                "/sites/{id}/visitors/{browser_id}/invite",
                web::post().to(sites::invite),
            )
            .service(
                web::resource("/sites/{id}/departments")
                    .get(sites::departments)
                    .post(sites::create_department),
            )
            .service(
                web::resource("/agents")
                    .get(agents::list)
                    .post(agents::create),
            )
            .route("/agents/{id}", web::patch().to(agents::update))
            .route(
                "/agents/{id}/password",
                web::post().to(agents::reset_password),
            )
            .route("/agents/{id}/unlock", web::post().to(agents::unlock))
            .route("/visitors/{id}", web::delete().to(privacy::erase))
            .route("/visitors/{id}/export", web::get().to(privacy::export))
            .route("/audit", web::get().to(privacy::audit))
            .default_service(web::to(|| async {
                Err::<HttpResponse, _>(crate::error::HttpError::not_found("endpoint"))
            })),
    );
}

/// `/about`: what runs here and where to go next.
async fn index() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(include_str!("index.html"))
}
