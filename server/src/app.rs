//! Building and running the server: storage, hub, bus, assignment and chat service wired together
//! behind actix-web, plus graceful shutdown.
//!
//! Shutdown order (SIGINT/SIGTERM, or [`Stopper::stop`]): readiness turns 503; every socket
//! stops reading, lets the sends it took in commit, delivers their acks and closes with 1001
//! (so clients reconnect, elsewhere if need be); the group committer takes no more appends and
//! drains its queue; the mail sender finishes the mail it is sending (the others wait in the
//! outbox); only then does the HTTP server stop listening, so `/readyz` answers 503 (rather
//! than refusing connections) for the whole drain; then the process exits. Answers
//! given during shutdown close their connections, so idle keep-alive connections cannot hold
//! the process after the listener closes.
//!
//! Accepted connections have Nagle's algorithm off: a small frame (an ack) must not wait for
//! the client's next segment or its delayed-ACK timer. A connection is closed as soon as its
//! last response (or WebSocket) ends, without lingering; instead the kernel drops connections
//! whose peer leaves sent data unacknowledged for the client timeout.
//!
//! Every answer carries [`security_headers`]: no content sniffing, no referrer, a content
//! security policy that lets nothing load or run (the server's own page uses inline styles
//! only) and no framing by other pages.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{App, HttpServer, web};
use rand::RngCore;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::assignment::Assigner;
use crate::auth::visitor_token::TokenSigner;
use crate::bus::Bus;
use crate::bus::local::LocalBus;
use crate::chat::Chat;
use crate::config::Config;
use crate::hub::Hub;
use crate::store::{self, NodeId, Store};
use crate::{bootstrap, routes, ws};

/// What every handler and socket shares.
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub chat: Arc<Chat>,
    pub signer: TokenSigner,
    /// Cancelled when shutdown begins.
    pub shutdown: CancellationToken,
    /// Every running socket holds a token of this, so shutdown can wait for them.
    pub sockets: TaskTracker,
    /// Bounds on login's password hashing and its failure locks.
    pub login: Arc<crate::auth::limits::LoginGuard>,
    pub limits: crate::limits::Limits,
    /// The SMTP server's mailer, when one is configured (`[smtp]`).
    pub mail: Option<Arc<crate::mail::Mailer>>,
    /// Who is on each site's pages now (memory only).
    pub live_visitors: crate::live_visitors::LiveVisitors,
    /// Who has each conversation open on this node's agent sockets (memory only).
    pub viewers: crate::viewers::Viewers,
    /// Where attachments' bytes live.
    pub files: Arc<dyn crate::files::BlobStore>,
    /// Bytes of uploads held in memory at once.
    pub uploads: crate::files::UploadBudget,
    /// The console's live feeds (queue, wallboard).
    pub feeds: crate::feeds::Feeds,
}

pub struct Application {
    port: u16,
    server: actix_web::dev::Server,
    state: web::Data<AppState>,
    committer: JoinHandle<()>,
    stop: CancellationToken,
    /// The demo shop page's server, when `demo_host` is set.
    demo: Option<actix_web::dev::Server>,
    /// The mail sender, when SMTP is configured, and what stops it.
    mail_sender: Option<(JoinHandle<()>, CancellationToken)>,
}

/// Starts a graceful shutdown from elsewhere (tests, embedding).
#[derive(Clone)]
pub struct Stopper(CancellationToken);

impl Stopper {
    pub fn stop(&self) {
        self.0.cancel();
    }
}

impl Application {
    /// Opens the store (migrating it), prepares a first start, binds the listener.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(&config.bind)?;
        let port = listener.local_addr()?.port();
        let store = store::connect(&config.database_url, config.database_max_connections).await?;
        tracing::info!(
            backend = store.backend(),
            database = %crate::config::redact_url(&config.database_url),
            "store ready"
        );
        let files_dir = config.files.dir_for(&config.database_url);
        let files: Arc<dyn crate::files::BlobStore> =
            Arc::new(crate::files::folder::FolderBlobs::open(&files_dir));
        tracing::info!(folder = %files_dir.display(), "attachments folder ready");
        // This process is one node among any others sharing the database: it marks nobody
        // offline, and its agents stay online only while it renews its lease.
        let node = NodeId::new();
        let lease = config.routing.node_lease();
        let now = crate::clock::now_millis();
        store
            .register_node(node, now, now.saturating_add(millis(lease)))
            .await?;
        tracing::info!(%node, "node registered");
        let stop = CancellationToken::new();
        let _lease = store::keep_lease(store.clone(), node, lease, stop.clone());
        let secret = match &config.secret {
            Some(secret) => secrecy::ExposeSecret::expose_secret(secret)
                .as_bytes()
                .to_vec(),
            None => {
                let mut fresh = [0u8; 32];
                rand::thread_rng().fill_bytes(&mut fresh);
                store.secret("visitor_token", &fresh).await?
            }
        };
        let login = Arc::new(crate::auth::limits::LoginGuard::new(&config.auth));
        bootstrap::first_start(store.as_ref(), &config, &login.hasher, port).await?;
        let demo = match &config.demo_host {
            Some(address) => {
                let listener = TcpListener::bind(address)?;
                let demo_port = listener.local_addr()?.port();
                crate::demo::allow_on_demo_site(store.as_ref(), demo_port).await?;
                let server_url = own_url(&config, port);
                let demo = crate::demo::serve(listener, server_url.clone())?;
                println!("Bellhop is running at {server_url}/");
                println!("  agent console (sign in as the admin above): {server_url}/console/");
                println!(
                    "  demo shop page (the widget on another origin): http://127.0.0.1:{demo_port}/"
                );
                Some(demo)
            }
            None => None,
        };

        let hub = Hub::start(config.ws.outbound_queue);
        let bus: Arc<dyn Bus> = Arc::new(LocalBus::new(hub.clone()));
        let feeds = crate::feeds::Feeds::start(
            store.clone(),
            hub.clone(),
            bus.subscribe(),
            config.wallboard.interval(),
        );
        let assigner = Assigner::start(store.clone(), bus.clone());
        let (chat, committer) = Chat::start(
            store.clone(),
            hub,
            bus,
            assigner.clone(),
            config.commit.max_batch,
            node,
        );
        let _sweeper = chat.start_grace_sweeper(
            config.routing.agent_grace(),
            config.routing.grace_sweep_period(),
            config.routing.requeue_notice.clone(),
        );
        let _inactivity = chat.start_inactivity_sweeper(Duration::from_millis(
            config.routing.inactivity_sweep_ms.max(10),
        ));
        let _retention =
            chat.start_retention_sweeper(config.retention.sweep_period(), files.clone());
        // Conversations may have been waiting since before a restart.
        for site in store.sites(None).await? {
            assigner.kick(site.id);
        }

        let mail = config
            .smtp
            .as_ref()
            .map(crate::mail::Mailer::new)
            .transpose()?;
        let mail_sender = mail.as_ref().map(|mailer| {
            let stop = CancellationToken::new();
            let store: Arc<dyn crate::store::MailOutboxStore> = store.clone();
            (mailer.start_sender(store, stop.clone()), stop)
        });
        let shutdown_timeout = config.shutdown_timeout_secs;
        let stuck_peer = config.ws.client_timeout();
        let limits = crate::limits::Limits::new(&config.limits);
        let live_visitors = crate::live_visitors::LiveVisitors::new(&config.live_visitors);
        let uploads = crate::files::UploadBudget::new(
            config.files.max_bytes().saturating_mul(UPLOADS_IN_MEMORY),
        );
        let state = web::Data::new(AppState {
            config: Arc::new(config),
            store,
            chat,
            signer: TokenSigner::new(&secret),
            shutdown: CancellationToken::new(),
            sockets: TaskTracker::new(),
            login,
            limits,
            mail,
            live_visitors,
            viewers: crate::viewers::Viewers::default(),
            uploads,
            files,
            feeds,
        });
        let app_state = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .wrap(actix_web::middleware::from_fn(security_headers))
                .wrap(actix_web::middleware::from_fn(close_while_shutting_down))
                .wrap(actix_web::middleware::from_fn(
                    crate::telemetry::request_span,
                ))
                .app_data(app_state.clone())
                .configure(ws::configure)
                .configure(routes::configure)
        })
        .on_connect(move |connection, _| tune_connection(connection, stuck_peer))
        .listen(listener)?
        .disable_signals()
        .shutdown_timeout(shutdown_timeout)
        // No lingering after the last response: a WebSocket whose close handshake is done ends
        // its TCP connection at once instead of waiting for the client to close its side.
        // Peers that stop reading are cut off by the kernel instead (see `tune_connection`).
        .client_disconnect_timeout(Duration::ZERO)
        .run();
        tracing::info!(port, "listening");
        Ok(Self {
            port,
            server,
            state,
            committer,
            stop,
            demo,
            mail_sender,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn stopper(&self) -> Stopper {
        Stopper(self.stop.clone())
    }

    /// Serves until a signal or [`Stopper::stop`], then shuts down gracefully.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let Application {
            server,
            state,
            committer,
            stop,
            demo,
            mail_sender,
            ..
        } = self;
        let demo_handle = demo.as_ref().map(actix_web::dev::Server::handle);
        if let Some(demo) = demo {
            tokio::spawn(demo);
        }
        let handle = server.handle();
        let mut serving = tokio::spawn(server);
        tokio::select! {
            result = &mut serving => {
                result??;
                return Ok(());
            }
            () = stop.cancelled() => {}
            () = terminate_signal() => {}
        }
        tracing::info!("shutting down: closing sockets");
        state.shutdown.cancel();
        state.sockets.close();
        let grace = Duration::from_secs(state.config.shutdown_timeout_secs.max(1));
        if tokio::time::timeout(grace, state.sockets.wait())
            .await
            .is_err()
        {
            tracing::warn!("some sockets did not close in time");
        }
        state.chat.close_commits();
        if tokio::time::timeout(grace, committer).await.is_err() {
            tracing::warn!("commits still running at shutdown");
        }
        // The mail sender finishes the mail it is sending; the rest wait in the outbox.
        if let Some((sender, stop_sending)) = mail_sender {
            stop_sending.cancel();
            if tokio::time::timeout(grace, sender).await.is_err() {
                tracing::warn!("a mail was still being sent at shutdown");
            }
        }
        if let Some(demo) = demo_handle {
            demo.stop(false).await;
        }
        handle.stop(true).await;
        let _ = serving.await;
        drop(state);
        tracing::info!("stopped");
        Ok(())
    }
}

/// How many uploads of the largest size may be held in memory at once.
const UPLOADS_IN_MEMORY: u64 = 8;

/// The address browsers reach this server at: `public_url`, else the bound port on loopback.
fn own_url(config: &Config, port: u16) -> String {
    match &config.public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => format!("http://127.0.0.1:{port}"),
    }
}

/// The content security policy of every answer: JSON and CSV load nothing, and the landing
/// page needs only its inline styles. Nobody may frame the server's pages.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; \
     frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// Headers every answer carries unless its handler set them. A page whose own policy lets
/// some origins frame it (the widget panel) gets no `X-Frame-Options`, which could only say
/// "nobody".
async fn security_headers(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    use actix_web::http::header::{self, HeaderValue};
    let mut response = next.call(req).await?;
    let headers = response.headers_mut();
    let frameable = headers
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|csp| {
            csp.split(';').any(|d| {
                let d = d.trim();
                d.starts_with("frame-ancestors") && !d.contains("'none'")
            })
        });
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
    ] {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    if !frameable && !headers.contains_key(header::X_FRAME_OPTIONS) {
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    Ok(response)
}

/// During shutdown every answer closes its connection, so no idle keep-alive connection holds
/// the process once the listener closes.
async fn close_while_shutting_down(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let shutting_down = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|state| state.shutdown.is_cancelled());
    let mut response = next.call(req).await?;
    if shutting_down {
        response
            .response_mut()
            .head_mut()
            .set_connection_type(actix_web::http::ConnectionType::Close);
    }
    Ok(response)
}

/// Turns Nagle's algorithm off on an accepted connection, and has the kernel drop it when data
/// sent on it stays unacknowledged for `stuck_peer` (a client that stopped reading, or
/// vanished), so no connection can be held open by a peer that never reads.
fn tune_connection(connection: &dyn std::any::Any, stuck_peer: Duration) {
    let Some(tcp) = connection.downcast_ref::<actix_web::rt::net::TcpStream>() else {
        return;
    };
    if let Err(e) = tcp.set_nodelay(true) {
        tracing::warn!(error = %e, "could not set TCP_NODELAY");
    }
    if let Err(e) = socket2::SockRef::from(tcp).set_tcp_user_timeout(Some(stuck_peer)) {
        tracing::warn!(error = %e, "could not set TCP_USER_TIMEOUT");
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

async fn terminate_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn accepted_connections_get_no_delay_and_a_stuck_peer_timeout() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let address = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let _client = tokio::net::TcpStream::connect(address)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let (accepted, _) = listener.accept().await.unwrap_or_else(|e| panic!("{e}"));
        tune_connection(&accepted, Duration::from_secs(45));
        assert!(accepted.nodelay().unwrap_or(false));
        let user_timeout = socket2::SockRef::from(&accepted)
            .tcp_user_timeout()
            .ok()
            .flatten();
        assert_eq!(user_timeout, Some(Duration::from_secs(45)));
    }
}
