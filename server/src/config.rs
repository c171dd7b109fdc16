//! Configuration, layered: built-in defaults → an optional TOML file → `BELLHOP_*` environment
//! variables (nested keys with `__`, e.g. `BELLHOP_WS__MAX_FRAME_BYTES`) → command-line flags.
//!
//! Secrets (`secret`, `admin_password`, `smtp.password`) are `secrecy` strings: `Debug` redacts them, they are
//! wiped from memory on drop, and they are never serialised.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use bellhop_protocol::frames::Millis;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on. Port 0 picks a free port.
    pub bind: String,
    /// `sqlite://FILE` (created if missing) or `postgres://...`.
    pub database_url: String,
    /// Pool size for the database.
    pub database_max_connections: u32,
    /// The URL people use to reach this server; its origin is allowed for the demo site.
    pub public_url: Option<String>,
    /// `text` or `json` log lines.
    pub log_format: LogFormat,
    /// Key for signing visitor tokens. If unset, one is generated on first start and kept in
    /// the database, so tokens survive restarts.
    #[serde(skip_serializing)]
    pub secret: Option<SecretString>,
    /// The admin account created on first start with an empty database.
    pub admin_email: String,
    /// The first admin's password; generated and printed once when unset.
    #[serde(skip_serializing)]
    pub admin_password: Option<SecretString>,
    /// How long an agent login session lasts.
    pub session_ttl_hours: u64,
    /// How long graceful shutdown may take before connections are dropped.
    pub shutdown_timeout_secs: u64,
    /// Also serve the demo shop page (with the widget embedded) on this address, e.g.
    /// `127.0.0.1:8081`; the demo site then accepts its origin.
    pub demo_host: Option<String>,
    pub ws: WsConfig,
    pub routing: RoutingConfig,
    pub commit: CommitConfig,
    pub limits: LimitsConfig,
    pub auth: AuthConfig,
    /// The SMTP server mails go out through ("email me the transcript"). Absent: no mails,
    /// and the widget does not offer transcripts by email.
    pub smtp: Option<SmtpConfig>,
    pub live_visitors: LiveVisitorsConfig,
    pub files: FilesConfig,
    pub retention: RetentionConfig,
    pub wallboard: WallboardConfig,
}

/// How often closed conversations past their site's `retention_days` are deleted.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionConfig {
    /// How often the retention sweep runs.
    pub sweep_ms: u64,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            sweep_ms: 3_600_000,
        }
    }
}

impl RetentionConfig {
    pub fn sweep_period(&self) -> Duration {
        Duration::from_millis(self.sweep_ms.max(10))
    }
}

/// The console's live feeds (`queue`, `wallboard`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WallboardConfig {
    /// A feed is pushed to its subscribers at most once per this many milliseconds (changes
    /// in between are coalesced into the next push).
    pub interval_ms: u64,
}

impl Default for WallboardConfig {
    fn default() -> Self {
        Self { interval_ms: 1000 }
    }
}

impl WallboardConfig {
    pub fn interval(&self) -> Duration {
        Duration::from_millis(self.interval_ms.max(10))
    }
}

/// Who is on a site's pages now (see `live_visitors`): kept in memory only.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LiveVisitorsConfig {
    /// A browser not heard from for this long has left (the loader beats every 30 s while
    /// the tab is visible).
    pub ttl_ms: u64,
    /// Browsers kept per site; beyond it the one heard from longest ago is forgotten.
    pub max_per_site: usize,
    /// How long an invitation to chat waits for its browser's next beat.
    pub invite_ttl_ms: u64,
}

impl Default for LiveVisitorsConfig {
    fn default() -> Self {
        Self {
            ttl_ms: 90_000,
            max_per_site: 5_000,
            invite_ttl_ms: 120_000,
        }
    }
}

/// How mails reach the SMTP server, and how failed sends are retried.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// The SMTP server's host name or address.
    pub host: String,
    /// Its port; unset: 25 without TLS, 587 with `starttls`, 465 with `tls`.
    #[serde(default)]
    pub port: Option<u16>,
    /// The sender of every mail, e.g. `Support <support@example.com>`.
    pub from: String,
    /// `none` (plain text, for a relay on the same host), `starttls` (upgrade after
    /// connecting; required) or `tls` (TLS from the first byte).
    #[serde(default)]
    pub tls: SmtpTls,
    /// Log in with these credentials (both or neither).
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default, skip_serializing)]
    pub password: Option<SecretString>,
    /// How long one SMTP conversation may take.
    #[serde(default = "SmtpConfig::default_timeout_secs")]
    pub timeout_secs: u64,
    /// Attempts at one mail before it is given up (and logged).
    #[serde(default = "SmtpConfig::default_max_attempts")]
    pub max_attempts: u32,
    /// The wait after the first failed attempt; each further one doubles it, with jitter.
    #[serde(default = "SmtpConfig::default_retry_base_ms")]
    pub retry_base_ms: u64,
    /// The longest wait between attempts.
    #[serde(default = "SmtpConfig::default_retry_max_ms")]
    pub retry_max_ms: u64,
    /// How often the outbox is looked at for due mails (a new mail on this node is sent at
    /// once; this picks up retries and other nodes' mails).
    #[serde(default = "SmtpConfig::default_poll_ms")]
    pub poll_ms: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    None,
    #[default]
    Starttls,
    Tls,
}

impl SmtpConfig {
    fn default_timeout_secs() -> u64 {
        30
    }

    fn default_max_attempts() -> u32 {
        10
    }

    fn default_retry_base_ms() -> u64 {
        30_000
    }

    fn default_retry_max_ms() -> u64 {
        3_600_000
    }

    fn default_poll_ms() -> u64 {
        5_000
    }

    /// The port to connect to: the configured one, or the usual one for the TLS mode.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.tls {
            SmtpTls::None => 25,
            SmtpTls::Starttls => 587,
            SmtpTls::Tls => 465,
        })
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs.max(1))
    }

    /// A plain configuration for `host:port` without TLS or login, sending as `from`.
    pub fn plain(host: &str, port: u16, from: &str) -> Self {
        Self {
            host: host.into(),
            port: Some(port),
            from: from.into(),
            tls: SmtpTls::None,
            username: None,
            password: None,
            timeout_secs: Self::default_timeout_secs(),
            max_attempts: Self::default_max_attempts(),
            retry_base_ms: Self::default_retry_base_ms(),
            retry_max_ms: Self::default_retry_max_ms(),
            poll_ms: Self::default_poll_ms(),
        }
    }
}

/// Where attachments' bytes are kept, and the largest any site may accept.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FilesConfig {
    /// The folder for attachments. Unset: `<database file>.files` beside a SQLite database,
    /// `bellhop-files` in the working folder with PostgreSQL.
    pub dir: Option<String>,
    /// The largest attachment the server takes, whatever a site allows; `0` means the
    /// built-in cap of 25 MiB.
    pub max_bytes: u64,
}

impl FilesConfig {
    /// The built-in hard cap on one attachment.
    pub const DEFAULT_MAX_BYTES: u64 = 25 * 1024 * 1024;

    pub fn max_bytes(&self) -> u64 {
        match self.max_bytes {
            0 => Self::DEFAULT_MAX_BYTES,
            n => n,
        }
    }

    /// The folder attachments go to for this database URL.
    pub fn dir_for(&self, database_url: &str) -> std::path::PathBuf {
        if let Some(dir) = &self.dir {
            return dir.into();
        }
        let sqlite_file = database_url
            .strip_prefix("sqlite://")
            .or_else(|| database_url.strip_prefix("sqlite:"))
            .map(|rest| rest.split('?').next().unwrap_or_default())
            .filter(|file| !file.is_empty() && !file.starts_with(':'));
        match sqlite_file {
            Some(file) => format!("{file}.files").into(),
            None => "bellhop-files".into(),
        }
    }
}

/// Limits on login: how much password hashing runs at once, and when repeated failures lock
/// an account or a client address.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Argon2 hashes running at once; `0` means one per CPU core.
    pub hash_concurrency: usize,
    /// How long a login waits for a turn to hash before it is answered `429`.
    pub hash_wait_ms: u64,
    /// Failed logins for one account (by email) within the window that lock it.
    pub account_max_failures: u32,
    /// Failed logins from one client address within the window that lock it.
    pub address_max_failures: u32,
    /// The window failures are counted in.
    pub failure_window_secs: u64,
    /// The first lock's length; each further lock without a success doubles it.
    pub lock_secs: u64,
    /// The longest lock.
    pub max_lock_secs: u64,
    /// A session unused for this long ends (REST calls and an open console socket count as
    /// use); `0` turns the idle timeout off, leaving only `session_ttl_hours`. An open socket
    /// records its use every heartbeat, so keep this well above `ws.heartbeat_interval_ms`.
    pub session_idle_secs: u64,
}

impl AuthConfig {
    /// Sessions last used at or before this have ended for idleness (`i64::MIN`: never).
    pub fn idle_cutoff(&self, now: Millis) -> Millis {
        match self.session_idle_secs {
            0 => i64::MIN,
            secs => now.saturating_sub(self.idle_ms(secs)),
        }
    }

    /// How stale a session's recorded last use may get before a use records it again: a
    /// minute, or a quarter of the idle timeout when that is shorter.
    pub fn touch_every_ms(&self) -> Millis {
        match self.session_idle_secs {
            0 => 60_000,
            secs => (self.idle_ms(secs) / 4).min(60_000),
        }
    }

    fn idle_ms(&self, secs: u64) -> Millis {
        i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX)
    }

    pub fn hash_concurrency(&self) -> usize {
        match self.hash_concurrency {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            hash_concurrency: 0,
            hash_wait_ms: 2_000,
            account_max_failures: 5,
            address_max_failures: 50,
            failure_window_secs: 900,
            lock_secs: 60,
            max_lock_secs: 3_600,
            session_idle_secs: 0,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WsConfig {
    /// Interval between server pings.
    pub heartbeat_interval_ms: u64,
    /// A socket silent for this long is considered dead and closed.
    pub client_timeout_ms: u64,
    /// Time allowed between the upgrade and a valid `hello`.
    pub hello_timeout_ms: u64,
    /// Largest accepted frame, in bytes.
    pub max_frame_bytes: usize,
    /// Frames queued for one connection before it is disconnected as too slow.
    pub outbound_queue: usize,
    /// Sends from one connection awaiting their commit at once.
    pub max_in_flight: usize,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RoutingConfig {
    /// Open chats an agent gets at most, unless their own cap says otherwise.
    pub default_agent_cap: u32,
    /// The automatic acknowledgement for new sites.
    pub default_auto_reply: String,
    /// How long an agent whose connections all dropped keeps their chats.
    pub agent_grace_ms: u64,
    /// What a visitor is told when their chat goes back to the queue after that.
    pub requeue_notice: String,
    /// How often to look for chats past their site's inactivity timeout.
    pub inactivity_sweep_ms: u64,
    /// How long this node's presence lasts without renewal (renewed every third of it): a
    /// node that dies without shutting down releases its agents this long after its last
    /// renewal.
    pub node_lease_ms: u64,
}

impl RoutingConfig {
    pub fn agent_grace(&self) -> Duration {
        Duration::from_millis(self.agent_grace_ms)
    }

    pub fn node_lease(&self) -> Duration {
        Duration::from_millis(self.node_lease_ms.max(30))
    }

    /// How often to look for agents past their grace period: a fraction of it, within 50 ms
    /// to 1 s.
    pub fn grace_sweep_period(&self) -> Duration {
        Duration::from_millis((self.agent_grace_ms / 4).clamp(50, 1000))
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CommitConfig {
    /// Most sends committed in one shared transaction.
    pub max_batch: usize,
}

/// Abuse limits on the public endpoints (see `limits`). `0` turns a limit off.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// The header a trusted reverse proxy writes the client's address into (its last entry
    /// counts), e.g. `X-Forwarded-For`. Unset: the TCP peer's address. Only set it when every
    /// request comes through that proxy.
    pub client_ip_header: Option<String>,
    /// Widget sessions (`POST /api/v1/widget/session`) per client IP per minute, also the
    /// burst.
    pub widget_sessions_per_minute: u32,
    /// Form submissions (`POST /api/v1/widget/leads`) per client IP per hour, also the burst.
    pub leads_per_hour: u32,
    /// A visitor's `send` frames per second, over all their sockets, after the burst.
    pub visitor_messages_per_second: u32,
    /// `send` frames a visitor may send at once before the per-second rate applies.
    pub visitor_message_burst: u32,
    /// A visitor's typing frames passed on to the agent per second (also the burst); the
    /// rest are dropped.
    pub visitor_typing_per_second: u32,
    /// Sneak peeks passed on to the agent per second, per socket and conversation; the newest
    /// draft held back goes out when its turn comes, so the last one always arrives.
    pub visitor_peeks_per_second: u32,
    /// Presence beats (`POST /api/v1/widget/presence`) per client IP per minute, also the
    /// burst.
    pub presence_beats_per_minute: u32,
    /// Conversations one visitor opens per hour, also the burst.
    pub visitor_conversations_per_hour: u32,
    /// Conversations opened from one client IP per hour, also the burst.
    pub address_conversations_per_hour: u32,
    /// Sockets open at once from one client IP: every visitor socket, and every agent socket
    /// until its `hello` is accepted. Checked at the upgrade.
    pub sockets_per_address: u32,
    /// Sockets one visitor has open at once. Checked at `hello`.
    pub sockets_per_visitor: u32,
    /// Sockets one agent has open at once. Checked at `hello`.
    pub sockets_per_agent: u32,
    /// Resume points one `hello` may name, after merging duplicates.
    pub resume_points_per_hello: u32,
    /// An agent's typing frames passed on to visitors per second (also the burst); the rest
    /// are dropped.
    pub agent_typing_per_second: u32,
    /// Transcripts by email one visitor asks for per hour, also the burst.
    pub transcripts_per_hour: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            client_ip_header: None,
            widget_sessions_per_minute: 60,
            leads_per_hour: 20,
            visitor_messages_per_second: 5,
            visitor_message_burst: 20,
            visitor_typing_per_second: 3,
            visitor_peeks_per_second: 4,
            presence_beats_per_minute: 240,
            visitor_conversations_per_hour: 20,
            address_conversations_per_hour: 60,
            sockets_per_address: 100,
            sockets_per_visitor: 10,
            sockets_per_agent: 20,
            resume_points_per_hello: 100,
            agent_typing_per_second: 3,
            transcripts_per_hour: 5,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            database_url: "sqlite://bellhop.db".into(),
            database_max_connections: 10,
            public_url: None,
            log_format: LogFormat::Text,
            secret: None,
            admin_email: "admin@bellhop.local".into(),
            admin_password: None,
            session_ttl_hours: 24 * 14,
            shutdown_timeout_secs: 10,
            demo_host: None,
            ws: WsConfig::default(),
            routing: RoutingConfig::default(),
            commit: CommitConfig::default(),
            auth: AuthConfig::default(),
            limits: LimitsConfig::default(),
            smtp: None,
            live_visitors: LiveVisitorsConfig::default(),
            files: FilesConfig::default(),
            retention: RetentionConfig::default(),
            wallboard: WallboardConfig::default(),
        }
    }
}

impl Default for WsConfig {
    fn default() -> Self {
        Self {
            heartbeat_interval_ms: 15_000,
            client_timeout_ms: 45_000,
            hello_timeout_ms: 10_000,
            max_frame_bytes: 64 * 1024,
            outbound_queue: 512,
            max_in_flight: 64,
        }
    }
}

impl Default for RoutingConfig {
    fn default() -> Self {
        Self {
            default_agent_cap: 3,
            default_auto_reply:
                "Thanks for your message! We got it and an agent will be with you shortly.".into(),
            agent_grace_ms: 60_000,
            inactivity_sweep_ms: 5_000,
            node_lease_ms: 15_000,
            requeue_notice: "Your agent got disconnected. You are back at the front of the \
                             queue; the next available agent will continue this conversation."
                .into(),
        }
    }
}

impl Default for CommitConfig {
    fn default() -> Self {
        Self { max_batch: 512 }
    }
}

impl WsConfig {
    pub fn heartbeat_interval(&self) -> Duration {
        Duration::from_millis(self.heartbeat_interval_ms)
    }

    pub fn client_timeout(&self) -> Duration {
        Duration::from_millis(self.client_timeout_ms)
    }

    pub fn hello_timeout(&self) -> Duration {
        Duration::from_millis(self.hello_timeout_ms)
    }
}

impl Config {
    /// Defaults, then `file` if given (or `bellhop.toml` if it exists), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, Box<figment::Error>> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) => figment = figment.merge(Toml::file_exact(path)),
            None => figment = figment.merge(Toml::file("bellhop.toml")),
        }
        figment
            .merge(Env::prefixed("BELLHOP_").split("__"))
            .extract()
            .map_err(Box::new)
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |s: &Option<SecretString>| s.as_ref().map(|_| "<redacted>");
        f.debug_struct("Config")
            .field("bind", &self.bind)
            .field("database_url", &redact_url(&self.database_url))
            .field("database_max_connections", &self.database_max_connections)
            .field("public_url", &self.public_url)
            .field("log_format", &self.log_format)
            .field("secret", &redacted(&self.secret))
            .field("admin_email", &self.admin_email)
            .field("admin_password", &redacted(&self.admin_password))
            .field("session_ttl_hours", &self.session_ttl_hours)
            .field("shutdown_timeout_secs", &self.shutdown_timeout_secs)
            .field("demo_host", &self.demo_host)
            .field("ws", &self.ws)
            .field("routing", &self.routing)
            .field("commit", &self.commit)
            .field("auth", &self.auth)
            .field("limits", &self.limits)
            .field("smtp", &self.smtp)
            .field("live_visitors", &self.live_visitors)
            .field("files", &self.files)
            .field("retention", &self.retention)
            .field("wallboard", &self.wallboard)
            .finish()
    }
}

/// Hides a password in a database URL (`postgres://user:secret@host/db`).
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:<redacted>{}",
                    &url[..scheme_end + 3],
                    &userinfo[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn redacts_database_passwords() {
        assert_eq!(
            redact_url("postgres://bob:hunter2@db:5432/chat"),
            "postgres://bob:<redacted>@db:5432/chat"
        );
        assert_eq!(redact_url("sqlite://bellhop.db"), "sqlite://bellhop.db");
    }

    #[test]
    fn attachments_live_beside_the_sqlite_file_by_default() {
        let files = FilesConfig::default();
        let dir = |url: &str| files.dir_for(url).display().to_string();
        assert_eq!(dir("sqlite://bellhop.db"), "bellhop.db.files");
        assert_eq!(
            dir("sqlite:///var/lib/b.db?mode=rwc"),
            "/var/lib/b.db.files"
        );
        assert_eq!(dir("sqlite::memory:"), "bellhop-files");
        assert_eq!(dir("postgres://db/chat"), "bellhop-files");
        let set = FilesConfig {
            dir: Some("/srv/files".into()),
            ..FilesConfig::default()
        };
        assert_eq!(
            set.dir_for("sqlite://x.db").display().to_string(),
            "/srv/files"
        );
        assert_eq!(files.max_bytes(), FilesConfig::DEFAULT_MAX_BYTES);
    }

    #[test]
    fn debug_output_hides_secrets() {
        let config = Config {
            secret: Some("token-signing-key-1234".into()),
            admin_password: Some("first-admin-pass".into()),
            database_url: "postgres://bob:hunter2@db/chat".into(),
            smtp: Some(SmtpConfig {
                username: Some("mailer".into()),
                password: Some("smtp-pass-5678".into()),
                ..SmtpConfig::plain("mail.example.test", 25, "help@example.test")
            }),
            ..Config::default()
        };
        let shown = format!("{config:?}");
        for secret in [
            "token-signing-key-1234",
            "first-admin-pass",
            "hunter2",
            "smtp-pass-5678",
        ] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    #[expect(
        clippy::result_large_err,
        reason = "figment's Jail API returns its own large error"
    )]
    fn environment_overrides_file_and_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "custom.toml",
                "bind = \"0.0.0.0:9000\"\n[ws]\nmax_frame_bytes = 1000\n",
            )?;
            jail.set_env("BELLHOP_BIND", "127.0.0.1:7000");
            jail.set_env("BELLHOP_ROUTING__DEFAULT_AGENT_CAP", "5");
            jail.set_env("BELLHOP_SECRET", "from-the-environment");
            jail.set_env("BELLHOP_LIMITS__SOCKETS_PER_VISITOR", "4");
            let config = Config::load(Some(Path::new("custom.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(config.bind, "127.0.0.1:7000");
            assert_eq!(config.ws.max_frame_bytes, 1000);
            assert_eq!(config.routing.default_agent_cap, 5);
            assert_eq!(config.limits.sockets_per_visitor, 4);
            assert_eq!(
                config.limits.sockets_per_agent,
                LimitsConfig::default().sockets_per_agent
            );
            assert_eq!(
                config.secret.as_ref().map(|s| s.expose_secret()),
                Some("from-the-environment")
            );
            assert!(config.admin_password.is_none());
            assert_eq!(config.ws.outbound_queue, WsConfig::default().outbound_queue);
            Ok(())
        });
    }

    #[test]
    #[expect(
        clippy::result_large_err,
        reason = "figment's Jail API returns its own large error"
    )]
    fn smtp_is_off_unless_configured_and_takes_its_defaults() {
        figment::Jail::expect_with(|jail| {
            let config = Config::load(None).map_err(|e| e.to_string())?;
            assert!(config.smtp.is_none());
            jail.create_file(
                "mail.toml",
                "[smtp]\nhost = \"mail.example.test\"\nfrom = \"Help <help@example.test>\"\n",
            )?;
            jail.set_env("BELLHOP_SMTP__PASSWORD", "from-the-environment");
            let config = Config::load(Some(Path::new("mail.toml"))).map_err(|e| e.to_string())?;
            let smtp = config.smtp.ok_or("no smtp section")?;
            assert_eq!(smtp.tls, SmtpTls::Starttls);
            assert_eq!(smtp.port(), 587);
            assert_eq!(smtp.max_attempts, 10);
            assert_eq!(
                smtp.password.as_ref().map(|s| s.expose_secret()),
                Some("from-the-environment")
            );
            Ok(())
        });
    }
}
