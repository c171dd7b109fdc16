//! Test support for Bellhop's black-box tests: start the real server on a free port with a
//! fresh database (a temporary SQLite file, or a fresh PostgreSQL database dropped afterwards),
//! and talk to it over real HTTP and WebSocket connections with typed helpers.
//!
//! PostgreSQL tests read `TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`)
//! and fail with instructions when the server is not reachable; they are never skipped.

#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod browser;
pub mod child;
pub mod console;
pub mod db;
pub mod files;
pub mod fixtures;
pub mod host_page;
pub mod smtp_sink;
pub mod staff;
pub mod ws;

use std::time::Duration;

use bellhop_client::{Credentials, Draft};
use bellhop_protocol::api::{
    AgentProfile, LoginResponse, NewAgentRequest, NewSiteRequest, Role, SiteList, SiteSettings,
    TranscriptPage, WidgetSessionResponse,
};
use bellhop_protocol::error::ApiError;
use bellhop_protocol::frames::{AgentFrame, ResumePoint, ServerFrame, VisitorFrame};
use bellhop_protocol::{AgentId, ChatCap, ErrorCode, PROTOCOL_VERSION, SiteId, VisitorId};
use bellhop_server::app::{Application, Stopper};
use bellhop_server::config::Config;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use db::{Backend, TestDb};
pub use ws::WsClient;

pub const ADMIN_EMAIL: &str = "admin@bellhop.local";
pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";
pub const AGENT_PASSWORD: &str = "agent-password-for-tests";

/// Runs a test body against SQLite and against PostgreSQL: `both_backends!(my_test);` makes
/// `my_test::sqlite` and `my_test::postgres` from `async fn my_test(backend: Backend)`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::Backend::Sqlite).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::Backend::Postgres).await;
                }
            }
        )*
    };
}

/// The server under test, running in this process. Its client helpers come from [`Client`].
pub struct TestApp {
    client: Client,
    stopper: Stopper,
    running: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    pub db: TestDb,
    /// The attachments folder of a PostgreSQL test (SQLite keeps it beside its file).
    pub files: Option<tempfile::TempDir>,
}

impl std::ops::Deref for TestApp {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

/// Typed HTTP and WebSocket helpers for a running server, logged in as its admin.
#[derive(Clone)]
pub struct Client {
    pub port: u16,
    pub address: String,
    pub http: reqwest::Client,
    pub admin_token: String,
    /// The site created on first start (widget key `demo`).
    pub demo_site: SiteSettings,
    /// The local address requests and sockets come from (see [`Client::from_address`]).
    pub local_ip: Option<std::net::IpAddr>,
}

/// A configuration for tests: free port, quick timeouts, known admin password.
pub fn test_config(database_url: &str) -> Config {
    let mut config = Config {
        bind: "127.0.0.1:0".into(),
        database_url: database_url.into(),
        admin_password: Some(ADMIN_PASSWORD.into()),
        shutdown_timeout_secs: 5,
        ..Config::default()
    };
    config.ws.hello_timeout_ms = 5_000;
    // Tests create visitors and pipeline sends far faster than people do, all from one
    // address: the abuse limits are off here, and on at their defaults in the tests of them.
    config.limits.widget_sessions_per_minute = 0;
    config.limits.leads_per_hour = 0;
    config.limits.visitor_messages_per_second = 0;
    config.limits.visitor_typing_per_second = 0;
    config.limits.visitor_conversations_per_hour = 0;
    config.limits.address_conversations_per_hour = 0;
    config.limits.sockets_per_address = 0;
    config.limits.sockets_per_visitor = 0;
    config.limits.sockets_per_agent = 0;
    config.limits.agent_typing_per_second = 0;
    config
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> TestApp {
    init_logs();
    let db = TestDb::create(backend).await;
    let mut config = test_config(db.url());
    let files = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => {
            let dir = tempfile::tempdir().expect("temporary attachments folder");
            config.files.dir = Some(dir.path().display().to_string());
            Some(dir)
        }
    };
    adjust(&mut config);
    let app = Application::build(config)
        .await
        .expect("the server failed to start");
    let port = app.port();
    let stopper = app.stopper();
    let running = tokio::spawn(app.run_until_stopped());
    TestApp {
        client: Client::attach(port).await,
        stopper,
        running: Some(running),
        db,
        files,
    }
}

fn init_logs() {
    if std::env::var_os("RUST_LOG").is_some() {
        bellhop_server::telemetry::init(bellhop_server::config::LogFormat::Text);
    }
}

/// An agent account with a logged-in session.
pub struct TestAgent {
    pub profile: AgentProfile,
    pub token: String,
}

impl TestAgent {
    pub fn id(&self) -> AgentId {
        self.profile.id
    }
}

/// A visitor with a token (not yet connected).
#[derive(Clone)]
pub struct TestVisitor {
    pub visitor_id: VisitorId,
    pub site_id: SiteId,
    pub token: String,
    pub origin: String,
    pub widget_key: String,
}

impl TestApp {
    /// Starts a graceful shutdown without waiting for it (see [`TestApp::stop`]).
    pub fn stopper(&self) -> Stopper {
        self.stopper.clone()
    }

    /// Gracefully stops the server and waits until it has.
    pub async fn stop(&mut self) {
        self.stopper.stop();
        if let Some(running) = self.running.take() {
            running.await.expect("server task").expect("server run");
        }
    }
}

impl Client {
    /// Logs in as the admin of the server listening on `port` and finds the demo site.
    pub async fn attach(port: u16) -> Self {
        let mut client = Client {
            port,
            address: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
            admin_token: String::new(),
            demo_site: SiteSettings {
                id: SiteId::from_uuid(uuid::Uuid::nil()),
                name: String::new(),
                widget_key: String::new(),
                allowed_origins: Vec::new(),
                auto_reply: String::new(),
                default_department_id: bellhop_protocol::DepartmentId::from_uuid(uuid::Uuid::nil()),
                config: Default::default(),
            },
            local_ip: None,
        };
        client.admin_token = client.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.token;
        let sites: SiteList = client.get_json("/api/v1/sites", &client.admin_token).await;
        client.demo_site = sites
            .sites
            .into_iter()
            .find(|s| s.widget_key == "demo")
            .expect("first start creates the demo site");
        client
    }

    /// The same client whose HTTP requests and WebSockets come from `ip` (any of 127.0.0.0/8
    /// on loopback), so tests can speak as different client addresses.
    pub fn from_address(&self, ip: &str) -> Client {
        let ip: std::net::IpAddr = ip.parse().expect("an IP address");
        Client {
            http: reqwest::Client::builder()
                .local_address(ip)
                .build()
                .expect("an HTTP client bound to the address"),
            local_ip: Some(ip),
            ..self.clone()
        }
    }

    /// How this client dials a socket from a page of `origin`.
    pub fn dial(&self, origin: Option<&str>) -> ws::Dial {
        ws::Dial {
            local: self.local_ip,
            ..ws::Dial::origin(origin)
        }
    }

    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://127.0.0.1:{}{path}", self.port)
    }

    pub async fn login(&self, email: &str, password: &str) -> LoginResponse {
        let response = self
            .http
            .post(format!("{}/api/v1/auth/login", self.address))
            .json(&serde_json::json!({ "email": email, "password": password }))
            .send()
            .await
            .expect("login request");
        assert_eq!(response.status(), 200, "login as {email} failed");
        response.json().await.expect("login body")
    }

    pub async fn get(&self, path: &str, token: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.address))
            .bearer_auth(token)
            .send()
            .await
            .expect("GET request")
    }

    pub async fn get_json<T: DeserializeOwned>(&self, path: &str, token: &str) -> T {
        let response = self.get(path, token).await;
        assert!(
            response.status().is_success(),
            "GET {path} answered {}",
            response.status()
        );
        response.json().await.expect("JSON body")
    }

    pub async fn post<B: Serialize>(&self, path: &str, token: &str, body: &B) -> reqwest::Response {
        self.send_json(reqwest::Method::POST, path, token, body)
            .await
    }

    /// Sends `body` as JSON with `method` and `token`.
    async fn send_json<B: Serialize>(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: &B,
    ) -> reqwest::Response {
        let request = format!("{method} {path}");
        self.http
            .request(method, format!("{}{path}", self.address))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{request}: {e}"))
    }

    /// The conversation's transcript (up to 500 messages), read with `token`.
    pub async fn transcript(
        &self,
        conversation: bellhop_protocol::ConversationId,
        token: &str,
    ) -> TranscriptPage {
        let path = format!("/api/v1/conversations/{conversation}/messages?limit=500");
        self.get_json(&path, token).await
    }

    /// Creates a site whose widget may be used from `origins`.
    pub async fn create_site(&self, name: &str, origins: &[&str]) -> SiteSettings {
        let response = self
            .post(
                "/api/v1/sites",
                &self.admin_token,
                &NewSiteRequest {
                    name: name.into(),
                    allowed_origins: origins.iter().map(|o| (*o).to_owned()).collect(),
                    auto_reply: None,
                },
            )
            .await;
        assert_eq!(response.status(), 201, "create site");
        response.json().await.expect("site body")
    }

    /// Creates an agent of `sites` with a chat cap and logs them in.
    pub async fn create_agent(&self, name: &str, max_chats: u32, sites: &[SiteId]) -> TestAgent {
        let email = format!(
            "{}-{}@example.test",
            name.to_lowercase().replace(' ', "."),
            uuid::Uuid::new_v4().simple()
        );
        let response = self
            .post(
                "/api/v1/agents",
                &self.admin_token,
                &NewAgentRequest {
                    email: email.parse().expect("a valid test email"),
                    display_name: name.parse().expect("a valid test name"),
                    password: AGENT_PASSWORD.into(),
                    role: Role::Agent,
                    max_chats: Some(ChatCap::new(max_chats).expect("a valid test cap")),
                    sites: sites.to_vec(),
                },
            )
            .await;
        assert_eq!(response.status(), 201, "create agent");
        let login = self.login(&email, AGENT_PASSWORD).await;
        TestAgent {
            profile: login.agent,
            token: login.token,
        }
    }

    /// A new visitor of `site`, as the widget on a page of the site's first origin would get.
    pub async fn new_visitor(&self, site: &SiteSettings) -> TestVisitor {
        let origin = site
            .allowed_origins
            .first()
            .cloned()
            .expect("the site allows an origin");
        let response = self
            .http
            .post(format!("{}/api/v1/widget/session", self.address))
            .header("Origin", &origin)
            .json(&serde_json::json!({ "widget_key": site.widget_key }))
            .send()
            .await
            .expect("widget session request");
        assert_eq!(response.status(), 200, "widget session");
        let session: WidgetSessionResponse = response.json().await.expect("widget session body");
        TestVisitor {
            visitor_id: session.visitor_id,
            site_id: session.site_id,
            token: session.token,
            origin,
            widget_key: site.widget_key.clone(),
        }
    }

    /// A widget session as the widget on a page of the site's first origin asks for it, the
    /// body's other fields (`token`, `page`, `time_zone`, `identity`) from `extra`, and the
    /// browser's `User-Agent` if given.
    pub async fn widget_session(
        &self,
        site: &SiteSettings,
        extra: serde_json::Value,
        user_agent: Option<&str>,
    ) -> TestVisitor {
        let origin = site
            .allowed_origins
            .first()
            .cloned()
            .expect("the site allows an origin");
        let mut body = extra;
        body["widget_key"] = site.widget_key.clone().into();
        let mut request = self
            .http
            .post(format!("{}/api/v1/widget/session", self.address))
            .header("Origin", &origin)
            .json(&body);
        if let Some(user_agent) = user_agent {
            request = request.header("User-Agent", user_agent);
        }
        let response = request.send().await.expect("widget session request");
        assert_eq!(response.status(), 200, "widget session");
        let session: WidgetSessionResponse = response.json().await.expect("widget session body");
        TestVisitor {
            visitor_id: session.visitor_id,
            site_id: session.site_id,
            token: session.token,
            origin,
            widget_key: site.widget_key.clone(),
        }
    }

    /// Opens the visitor's socket and says hello; returns after the `welcome`.
    pub async fn connect_visitor(
        &self,
        visitor: &TestVisitor,
        resume: Vec<ResumePoint>,
    ) -> WsClient {
        self.connect_visitor_welcome(visitor, resume).await.0
    }

    /// Like [`Client::connect_visitor`], also returning the open conversations the `welcome`
    /// listed.
    pub async fn connect_visitor_welcome(
        &self,
        visitor: &TestVisitor,
        resume: Vec<ResumePoint>,
    ) -> (WsClient, Vec<bellhop_protocol::frames::Conversation>) {
        let url = self.ws_url(&format!("/ws/v1/visitor?key={}", visitor.widget_key));
        let mut ws = WsClient::connect_with(&url, self.dial(Some(&visitor.origin)))
            .await
            .expect("visitor socket upgrade");
        ws.hello(
            Credentials::Visitor {
                token: visitor.token.clone(),
            },
            resume,
        )
        .await;
        match ws.next_frame().await {
            ServerFrame::Welcome { conversations, .. } => (ws, conversations),
            other => panic!("expected welcome, got {other:?}"),
        }
    }

    /// Opens the visitor's socket and says a hand-written `hello` with `token` and `resume`,
    /// past the client core; the test reads the answer itself.
    pub async fn visitor_hello(
        &self,
        visitor: &TestVisitor,
        token: &str,
        resume: Vec<ResumePoint>,
    ) -> WsClient {
        let url = self.ws_url(&format!("/ws/v1/visitor?key={}", visitor.widget_key));
        let mut ws = WsClient::connect_with(&url, self.dial(Some(&visitor.origin)))
            .await
            .expect("visitor socket upgrade");
        ws.send(&VisitorFrame::Hello {
            v: PROTOCOL_VERSION,
            token: token.to_owned(),
            resume,
        })
        .await;
        ws
    }

    /// Opens an agent socket and says a hand-written `hello` with `token` and `resume`, past
    /// the client core; the test reads the answer itself.
    pub async fn agent_hello(&self, token: Option<&str>, resume: Vec<ResumePoint>) -> WsClient {
        let mut ws = WsClient::connect_with(&self.ws_url("/ws/v1/agent"), self.dial(None))
            .await
            .expect("agent socket upgrade");
        ws.send(&AgentFrame::Hello {
            v: PROTOCOL_VERSION,
            token: token.map(str::to_owned),
            resume,
        })
        .await;
        ws
    }

    /// Opens an agent socket and says hello; returns after the `welcome`.
    pub async fn connect_agent(&self, agent: &TestAgent) -> WsClient {
        let mut ws = WsClient::connect_with(&self.ws_url("/ws/v1/agent"), self.dial(None))
            .await
            .expect("agent socket upgrade");
        ws.hello(
            Credentials::Agent {
                token: Some(agent.token.clone()),
            },
            Vec::new(),
        )
        .await;
        let welcome = ws.next_frame().await;
        assert!(
            matches!(welcome, ServerFrame::Welcome { .. }),
            "expected welcome, got {welcome:?}"
        );
        ws
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stopper.stop();
    }
}

/// How long a test waits for a frame it expects before failing.
pub const FRAME_TIMEOUT: Duration = Duration::from_secs(15);

/// A visitor `send` frame.
pub fn visitor_send(
    client_id: &str,
    body: &str,
    conversation_id: Option<bellhop_protocol::ConversationId>,
) -> VisitorFrame {
    VisitorFrame::Send {
        client_id: bellhop_protocol::ClientMessageId::parse(client_id.into()).unwrap(),
        conversation_id,
        department_id: None,
        body: bellhop_protocol::MessageBody::parse(body.into()).unwrap(),
    }
}

/// Writes `count` visitor sends without waiting for any ack (pipelined), with client ids
/// `{prefix}-0`, `{prefix}-1`, … and bodies `{prefix} 0`, `{prefix} 1`, ….
pub async fn send_pipelined(
    ws: &mut WsClient,
    prefix: &str,
    count: usize,
    conversation_id: Option<bellhop_protocol::ConversationId>,
) {
    for i in 0..count {
        let frame = visitor_send(
            &format!("{prefix}-{i}"),
            &format!("{prefix} {i}"),
            conversation_id,
        );
        ws.send(&frame).await;
    }
}

/// An agent `send` frame.
pub fn agent_send(
    client_id: &str,
    body: &str,
    conversation_id: bellhop_protocol::ConversationId,
) -> AgentFrame {
    AgentFrame::Send {
        client_id: bellhop_protocol::ClientMessageId::parse(client_id.into()).unwrap(),
        conversation_id,
        body: bellhop_protocol::MessageBody::parse(body.into()).unwrap(),
    }
}

/// The error body of a refused request, after checking its status.
pub async fn api_error(response: reqwest::Response, status: u16) -> ApiError {
    assert_eq!(response.status(), status);
    response.json().await.expect("error body")
}

/// The visitor on `ws` sends `body` as `client_id` (into `conversation_id`, or opening one)
/// and waits for its `ack`.
pub async fn visitor_says(
    ws: &mut WsClient,
    client_id: &str,
    body: &str,
    conversation_id: Option<bellhop_protocol::ConversationId>,
) {
    ws.send(&visitor_send(client_id, body, conversation_id))
        .await;
    ws.expect("ack", is_ack_of(client_id)).await;
}

/// The agent on `ws` sends `body` as `client_id` into `conversation_id` and waits for its
/// `ack`.
pub async fn agent_says(
    ws: &mut WsClient,
    client_id: &str,
    body: &str,
    conversation_id: bellhop_protocol::ConversationId,
) {
    ws.send(&agent_send(client_id, body, conversation_id)).await;
    ws.expect("ack", is_ack_of(client_id)).await;
}

/// An agent `transfer` frame handing `conversation_id` to the agent `to`, with `note`.
pub fn transfer_to_agent(
    conversation_id: bellhop_protocol::ConversationId,
    to: AgentId,
    note: Option<&str>,
) -> AgentFrame {
    AgentFrame::Transfer {
        conversation_id,
        to: bellhop_protocol::frames::TransferTarget::Agent { agent_id: to },
        note: note.map(str::to_owned),
    }
}

/// Whether a frame is the `ack` of `client_id`.
pub fn is_ack_of(client_id: &str) -> impl Fn(&ServerFrame) -> bool + '_ {
    move |frame| matches!(frame, ServerFrame::Ack { client_id: c, .. } if c.as_str() == client_id)
}

/// Waits for a `message` frame and returns the message.
pub async fn next_message(ws: &mut WsClient) -> bellhop_protocol::frames::Message {
    match ws
        .expect("a message", |f| matches!(f, ServerFrame::Message { .. }))
        .await
    {
        ServerFrame::Message { message } => message,
        _ => unreachable!(),
    }
}

/// Waits for a `conversation_assigned` frame and returns the conversation.
pub async fn next_assignment(ws: &mut WsClient) -> bellhop_protocol::frames::Conversation {
    match ws
        .expect("an assignment", |f| {
            matches!(f, ServerFrame::ConversationAssigned { .. })
        })
        .await
    {
        ServerFrame::ConversationAssigned { conversation } => conversation,
        _ => unreachable!(),
    }
}

/// Waits for a `conversation_assigned` frame and returns the agent it names, if any.
pub async fn next_assigned_agent(ws: &mut WsClient) -> Option<AgentId> {
    next_assignment(ws).await.agent.map(|agent| agent.id)
}

/// Waits for a `queue_status` frame; returns (position, estimate).
pub async fn next_queue_status(ws: &mut WsClient) -> (u32, Option<u64>) {
    match ws
        .expect("a queue status", |f| {
            matches!(f, ServerFrame::QueueStatus { .. })
        })
        .await
    {
        ServerFrame::QueueStatus {
            position,
            estimated_wait_secs,
            ..
        } => (position, estimated_wait_secs),
        _ => unreachable!(),
    }
}

impl Client {
    /// A visitor of `site` sends their first message; returns their socket and the new
    /// conversation's id.
    pub async fn open_chat(
        &self,
        site: &SiteSettings,
        department: Option<bellhop_protocol::DepartmentId>,
        text: &str,
    ) -> (TestVisitor, WsClient, bellhop_protocol::ConversationId) {
        let visitor = self.new_visitor(site).await;
        let ws = self.connect_visitor(&visitor, Vec::new()).await;
        let (ws, id) = self.reopen_chat(&visitor, ws, department, text).await;
        (visitor, ws, id)
    }

    /// A visitor of the demo site opens a chat and writes into it until its last seq is
    /// `last` (seq 2 being the automatic acknowledgement), each message acknowledged.
    pub async fn chat_with_messages(
        &self,
        last: u64,
    ) -> (TestVisitor, WsClient, bellhop_protocol::ConversationId) {
        let (visitor, mut ws, conversation) =
            self.open_chat(&self.demo_site, None, "message 1").await;
        for i in 3..=last {
            let id = format!("fill-{i}");
            visitor_says(&mut ws, &id, &format!("message {i}"), Some(conversation)).await;
        }
        (visitor, ws, conversation)
    }

    /// An already connected visitor sends a message that opens (or continues) their chat.
    pub async fn reopen_chat(
        &self,
        _visitor: &TestVisitor,
        mut ws: WsClient,
        department: Option<bellhop_protocol::DepartmentId>,
        text: &str,
    ) -> (WsClient, bellhop_protocol::ConversationId) {
        let mut draft = Draft::new(bellhop_protocol::MessageBody::parse(text.into()).unwrap());
        draft.department_id = department;
        let client_id = ws.send_message(draft).await;
        match ws.expect("ack", is_ack_of(client_id.as_str())).await {
            ServerFrame::Ack {
                conversation_id, ..
            } => (ws, conversation_id),
            _ => unreachable!(),
        }
    }

    /// GETs `path` with `token`, expects `status`, and returns the error code of the body.
    pub async fn get_error(&self, path: &str, token: &str, status: u16) -> ErrorCode {
        api_error(self.get(path, token).await, status).await.code
    }

    /// An agent of the demo site with room for `max_chats`, online on their own socket.
    pub async fn online_agent(&self, name: &str, max_chats: u32) -> (TestAgent, WsClient) {
        let agent = self
            .create_agent(name, max_chats, &[self.demo_site.id])
            .await;
        let ws = self.connect_agent(&agent).await;
        (agent, ws)
    }

    /// A visitor of the demo site opens a chat and the agent on `agent_ws` (online, the only
    /// one with room) is assigned it; both sides have seen the assignment.
    pub async fn assigned_chat(
        &self,
        agent_ws: &mut WsClient,
        text: &str,
    ) -> (TestVisitor, WsClient, bellhop_protocol::ConversationId) {
        let (visitor, mut ws, chat) = self.open_chat(&self.demo_site, None, text).await;
        assert_eq!(
            next_assignment(agent_ws).await.id,
            chat,
            "the agent's assignment"
        );
        assert_eq!(
            next_assignment(&mut ws).await.id,
            chat,
            "the visitor's assignment"
        );
        (visitor, ws, chat)
    }

    /// Replaces the demo site's configuration, as an admin; returns the response.
    pub async fn configure_demo_site(
        &self,
        config: bellhop_protocol::api::SiteConfig,
    ) -> reqwest::Response {
        self.configure_site(self.demo_site.id, config).await
    }

    /// A JSON `POST` as the visitor's widget makes it: their token, from their page's origin.
    pub async fn visitor_post<B: Serialize + ?Sized>(
        &self,
        visitor: &TestVisitor,
        path: &str,
        body: &B,
    ) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.address))
            .bearer_auth(&visitor.token)
            .header("Origin", &visitor.origin)
            .json(body)
            .send()
            .await
            .expect("the visitor's request")
    }

    /// Replaces a site's configuration, as an admin.
    pub async fn configure_site(
        &self,
        site: SiteId,
        config: bellhop_protocol::api::SiteConfig,
    ) -> reqwest::Response {
        let update = bellhop_protocol::api::SiteSettingsUpdate {
            config: Some(config),
            ..Default::default()
        };
        self.patch(&format!("/api/v1/sites/{site}"), &update).await
    }

    /// Submits a pre-chat or offline form as the visitor's widget would (visitor token, from
    /// the visitor's page origin).
    pub async fn post_lead(
        &self,
        visitor: &TestVisitor,
        submission: &bellhop_protocol::api::LeadSubmission,
    ) -> reqwest::Response {
        self.http
            .post(format!("{}/api/v1/widget/leads", self.address))
            .bearer_auth(&visitor.token)
            .header("Origin", &visitor.origin)
            .json(submission)
            .send()
            .await
            .expect("lead request")
    }

    /// Sends an admin PATCH.
    pub async fn patch<B: Serialize>(&self, path: &str, body: &B) -> reqwest::Response {
        self.patch_as(path, &self.admin_token, body).await
    }

    /// Sends a PUT with `token`.
    pub async fn put_as<B: Serialize>(
        &self,
        path: &str,
        token: &str,
        body: &B,
    ) -> reqwest::Response {
        self.send_json(reqwest::Method::PUT, path, token, body)
            .await
    }

    /// Sends a DELETE with `token`.
    pub async fn delete_as(&self, path: &str, token: &str) -> reqwest::Response {
        self.http
            .delete(format!("{}{path}", self.address))
            .bearer_auth(token)
            .send()
            .await
            .unwrap_or_else(|e| panic!("DELETE {path}: {e}"))
    }

    /// Creates an agent of `sites`, makes them a supervisor and logs them in (the new role
    /// ended the first session).
    pub async fn create_supervisor(&self, name: &str, sites: &[SiteId]) -> TestAgent {
        let agent = self.create_agent(name, 3, sites).await;
        let response = self
            .patch(
                &format!("/api/v1/agents/{}", agent.id()),
                &serde_json::json!({ "role": "supervisor" }),
            )
            .await;
        assert_eq!(response.status(), 200, "make {name} a supervisor");
        let login = self.login(&agent.profile.email, AGENT_PASSWORD).await;
        assert_eq!(login.agent.role, Role::Supervisor);
        TestAgent {
            profile: login.agent,
            token: login.token,
        }
    }

    /// Sends a PATCH with `token`.
    pub async fn patch_as<B: Serialize>(
        &self,
        path: &str,
        token: &str,
        body: &B,
    ) -> reqwest::Response {
        self.send_json(reqwest::Method::PATCH, path, token, body)
            .await
    }
}
