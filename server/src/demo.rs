//! The demo host page: a small shop page on a second port (so a different origin from the
//! server's) with the widget embedded as a customer would embed it. `bellhop serve
//! --demo-host 127.0.0.1:8081` (what `cargo xtask run` does) starts it and lets the demo site
//! accept that origin.

use std::net::TcpListener;

use actix_web::{App, HttpResponse, HttpServer, web};
use bellhop_protocol::api::SiteSettingsUpdate;

use crate::bootstrap::DEMO_WIDGET_KEY;
use crate::store::Store;

/// The origins the demo host page is reached by, for a listener on `port`.
pub(crate) fn origins(port: u16) -> [String; 2] {
    [
        format!("http://127.0.0.1:{port}"),
        format!("http://localhost:{port}"),
    ]
}

/// Adds the demo page's origins to the demo site's allow-list when they are missing (the site
/// may have been made on an earlier start, without the demo page).
pub(crate) async fn allow_on_demo_site(store: &dyn Store, port: u16) -> anyhow::Result<()> {
    let Some(site) = store.site_by_widget_key(DEMO_WIDGET_KEY).await? else {
        return Ok(());
    };
    let mut allowed = site.allowed_origins.clone();
    for origin in origins(port) {
        if !allowed.contains(&origin) {
            allowed.push(origin);
        }
    }
    if allowed != site.allowed_origins {
        store
            .update_site(
                site.id,
                SiteSettingsUpdate {
                    allowed_origins: Some(allowed),
                    ..SiteSettingsUpdate::default()
                },
            )
            .await?;
    }
    Ok(())
}

/// The demo shop page, with the widget of the demo site loaded from `server_url`.
fn page(server_url: &str, file: &'static str) -> HttpResponse {
    let html = file
        .replace("{{SERVER}}", server_url)
        .replace("{{KEY}}", DEMO_WIDGET_KEY);
    // A strict policy, as a careful customer would set: scripts and frames only from Bellhop.
    let policy = format!(
        "default-src 'none'; script-src {server_url}; frame-src {server_url}; \
         connect-src {server_url}; style-src 'unsafe-inline'; img-src data:"
    );
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-cache"))
        .insert_header(("Content-Security-Policy", policy))
        .body(html)
}

/// Serves the demo pages on `listener` until the returned server is stopped.
pub(crate) fn serve(
    listener: TcpListener,
    server_url: String,
) -> std::io::Result<actix_web::dev::Server> {
    let server_url = web::Data::new(server_url);
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(server_url.clone())
            .route(
                "/",
                web::get().to(|url: web::Data<String>| async move {
                    page(&url, include_str!("demo/shop.html"))
                }),
            )
            .route(
                "/product",
                web::get().to(|url: web::Data<String>| async move {
                    page(&url, include_str!("demo/product.html"))
                }),
            )
    })
    .workers(1)
    .listen(listener)?
    .disable_signals()
    .shutdown_timeout(1)
    .run())
}
