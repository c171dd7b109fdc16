//! Bellhop's load generator. It starts the real `bellhop` binary on a fresh SQLite database,
//! connects visitors and agents over real WebSockets on loopback, and measures:
//!
//! - messages committed per second (acks received by the senders), and
//! - visitor → agent latency (send until the agent's socket delivers it), p50 / p99 / max,
//!
//! for each scenario in the same run, so every figure stands beside its baseline: group commit
//! (the default) against one transaction per message (`commit.max_batch = 1`).
//!
//! Every visitor and agent is a client core (`bellhop-client`) on a real socket, as the widget
//! and console are: the core numbers the sends, keeps them in its outbox until acknowledged
//! (the in-flight window is the outbox), drops duplicates and holds gaps, and reconnects with
//! backoff, resuming and resending, should a socket drop mid-run.
//!
//! Run it with `cargo xtask bench` (release build). Arguments:
//! `--server PATH --visitors N --messages M --window W`.
//!
//! `--scenario wallboard` runs the console's live wallboard instead (see [`wallboard`]):
//! supervisors watching it pushed over their sockets against the same supervisors polling the
//! REST lists, with `--supervisors N` (default 20) and `--seconds S` per phase (default 10).

mod wallboard;

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bellhop_client::{Action, ClientCore, Config, Credentials, Draft, Event, State};
use bellhop_protocol::api::{LoginResponse, SiteList, WidgetSessionResponse};
use bellhop_protocol::frames::{AuthorKind, ServerFrame};
use bellhop_protocol::{ClientMessageId, ConversationId, MessageBody};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

const ADMIN_PASSWORD: &str = "loadgen-admin-password";
const AGENTS: usize = 4;

struct Options {
    server: String,
    visitors: usize,
    messages: usize,
    window: usize,
    /// `messages` (the default) or `wallboard`.
    scenario: String,
    supervisors: usize,
    seconds: u64,
}

fn options() -> anyhow::Result<Options> {
    let mut options = Options {
        server: "target/release/bellhop".into(),
        visitors: 200,
        messages: 50,
        window: 8,
        scenario: "messages".into(),
        supervisors: 20,
        seconds: 10,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--server" => options.server = value,
            "--visitors" => options.visitors = value.parse()?,
            "--messages" => options.messages = value.parse()?,
            "--window" => options.window = value.parse()?,
            "--scenario" => options.scenario = value,
            "--supervisors" => options.supervisors = value.parse()?,
            "--seconds" => options.seconds = value.parse::<u64>()?.clamp(1, 120),
            other => bail!("unknown argument {other}"),
        }
    }
    Ok(options)
}

struct Outcome {
    committed_per_sec: f64,
    delivered_per_sec: f64,
    latency: Histogram<u64>,
    sent: u64,
    /// Duplicate or out-of-order messages the client cores caught (the server promises none).
    disorder: u64,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let options = options()?;
    match options.scenario.as_str() {
        "messages" => {}
        "wallboard" => return wallboard::run(&options).await,
        other => bail!("unknown scenario {other} (messages, wallboard)"),
    }
    let scenarios = [
        ("group commit (default, max_batch 512)", 512),
        ("baseline: one commit per message (max_batch 1)", 1),
    ];
    println!(
        "{} visitors x {} messages, {} in flight each, {AGENTS} agents; SQLite, synchronous=FULL\n",
        options.visitors, options.messages, options.window
    );
    println!(
        "| scenario | committed msg/s | delivered msg/s | p50 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|---:|"
    );
    for (name, batch) in scenarios {
        let outcome = run(&options, batch).await?;
        let ms = |q: f64| outcome.latency.value_at_quantile(q) as f64 / 1000.0;
        println!(
            "| {name} | {:.0} | {:.0} | {:.2} | {:.2} | {:.2} |",
            outcome.committed_per_sec,
            outcome.delivered_per_sec,
            ms(0.5),
            ms(0.99),
            outcome.latency.max() as f64 / 1000.0,
        );
        if outcome.latency.len() != outcome.sent {
            println!(
                "(only {} of {} messages reached an agent)",
                outcome.latency.len(),
                outcome.sent
            );
        }
        if outcome.disorder > 0 {
            println!(
                "({} duplicate or out-of-order messages were caught and not shown)",
                outcome.disorder
            );
        }
    }
    Ok(())
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(url: &str, origin: Option<&str>) -> anyhow::Result<Ws> {
    let mut request = url.into_client_request()?;
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("Origin", HeaderValue::from_str(origin)?);
    }
    Ok(tokio_tungstenite::connect_async(request).await?.0)
}

/// One visitor or agent: a client core on a socket. The core decides; this only does the I/O.
struct Peer {
    ws: Ws,
    url: String,
    origin: Option<String>,
    core: ClientCore,
    clock: Instant,
    /// Duplicates and gaps the core reported (the server promises none).
    disorder: u64,
}

impl Peer {
    async fn open(
        url: String,
        origin: Option<String>,
        credentials: Credentials,
    ) -> anyhow::Result<Self> {
        let ws = connect(&url, origin.as_deref()).await?;
        let seed = uuid::Uuid::new_v4().as_u64_pair().0;
        let mut peer = Peer {
            ws,
            url,
            origin,
            core: ClientCore::new(credentials, Config::default(), seed),
            clock: Instant::now(),
            disorder: 0,
        };
        let mut actions = peer.core.connect();
        actions.extend(peer.core.handle(Event::Opened { now: peer.now() }));
        peer.carry_out(actions).await?;
        Ok(peer)
    }

    fn now(&self) -> i64 {
        i64::try_from(self.clock.elapsed().as_millis()).unwrap_or(i64::MAX)
    }

    /// Writes the frames the core asks for; returns the rest for the caller.
    async fn carry_out(&mut self, actions: Vec<Action>) -> anyhow::Result<Vec<Action>> {
        let mut rest = Vec::new();
        for action in actions {
            match action {
                Action::Send(frame) => {
                    // A failed write means the socket is gone; the next read reports the close.
                    let _ = self.ws.send(Message::text(frame.to_json()?)).await;
                }
                Action::Disconnect => {
                    let _ = self.ws.close(None).await;
                }
                Action::Duplicate { .. } | Action::Gap { .. } => self.disorder += 1,
                other => rest.push(other),
            }
        }
        Ok(rest)
    }

    async fn send(&mut self, draft: Draft) -> anyhow::Result<()> {
        let (_, actions) = self.core.send(draft, self.now())?;
        self.carry_out(actions).await?;
        Ok(())
    }

    /// Waits for the next frame and returns what the core made of it. A closed socket is
    /// reopened after the core's backoff (it resumes and resends); one the core will not
    /// reopen is an error.
    async fn next(&mut self) -> anyhow::Result<Vec<Action>> {
        loop {
            let wait = match self.core.next_wakeup() {
                Some(at) => Duration::from_millis(u64::try_from(at - self.now()).unwrap_or(0)),
                None => Duration::from_secs(30),
            };
            let event = match tokio::time::timeout(wait, self.ws.next()).await {
                Err(_) if self.core.next_wakeup().is_some() => Event::Tick { now: self.now() },
                Err(_) => bail!("no frame in 30 s"),
                Ok(Some(Ok(Message::Text(text)))) => Event::Frame {
                    frame: serde_json::from_str::<ServerFrame>(&text)?,
                    now: self.now(),
                },
                Ok(Some(Ok(Message::Close(frame)))) => Event::Closed {
                    code: frame.map(|f| u16::from(f.code)),
                    now: self.now(),
                },
                Ok(Some(Ok(_))) => continue,
                Ok(Some(Err(_)) | None) => Event::Closed {
                    code: None,
                    now: self.now(),
                },
            };
            let actions = self.core.handle(event);
            let reconnect = actions.contains(&Action::Connect);
            let rest = self.carry_out(actions).await?;
            if reconnect {
                self.reopen().await?;
            } else if matches!(self.core.state(), State::Waiting { .. }) {
                let at = self.core.next_wakeup().unwrap_or_default();
                let wait = u64::try_from(at - self.now()).unwrap_or(0);
                tokio::time::sleep(Duration::from_millis(wait)).await;
                let actions = self.core.handle(Event::Tick { now: self.now() });
                if actions.contains(&Action::Connect) {
                    self.reopen().await?;
                }
            } else if matches!(
                self.core.state(),
                State::Stopped(_) | State::NeedsCredentials
            ) {
                bail!(
                    "the server ended the connection for good: {:?}",
                    self.core.state()
                );
            }
            if !rest.is_empty() {
                return Ok(rest);
            }
        }
    }

    async fn reopen(&mut self) -> anyhow::Result<()> {
        let event = match connect(&self.url, self.origin.as_deref()).await {
            Ok(ws) => {
                self.ws = ws;
                Event::Opened { now: self.now() }
            }
            Err(_) => Event::Closed {
                code: None,
                now: self.now(),
            },
        };
        let actions = self.core.handle(event);
        self.carry_out(actions).await?;
        Ok(())
    }
}

fn draft(id: &str, conversation: Option<ConversationId>) -> anyhow::Result<Draft> {
    Ok(Draft {
        body: MessageBody::parse(format!("load test message {id}"))?,
        conversation_id: conversation,
        department_id: None,
        client_id: Some(ClientMessageId::parse(id.into())?),
    })
}

/// One scenario: a fresh server process and database, everyone connected and assigned, then the
/// measured burst.
async fn run(options: &Options, max_batch: usize) -> anyhow::Result<Outcome> {
    let dir = tempfile::tempdir()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut server = tokio::process::Command::new(&options.server)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .arg("--database-url")
        .arg(format!(
            "sqlite://{}",
            dir.path().join("bench.db").display()
        ))
        .env("BELLHOP_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("BELLHOP_COMMIT__MAX_BATCH", max_batch.to_string())
        // Every simulated visitor comes from this one address and sends as fast as its window
        // allows: the abuse limits would measure themselves, not the server.
        .env("BELLHOP_LIMITS__WIDGET_SESSIONS_PER_MINUTE", "0")
        .env("BELLHOP_LIMITS__VISITOR_MESSAGES_PER_SECOND", "0")
        .env("BELLHOP_LIMITS__ADDRESS_CONVERSATIONS_PER_HOUR", "0")
        .env("BELLHOP_LIMITS__SOCKETS_PER_ADDRESS", "0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", options.server))?;
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..200 {
        if http
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if !ready {
        bail!("the server did not become ready");
    }
    let login = |email: String, password: String| {
        let http = http.clone();
        let base = base.clone();
        async move {
            let response: LoginResponse = http
                .post(format!("{base}/api/v1/auth/login"))
                .json(&serde_json::json!({ "email": email, "password": password }))
                .send()
                .await?
                .json()
                .await?;
            anyhow::Ok(response.token)
        }
    };
    let admin = login("admin@bellhop.local".into(), ADMIN_PASSWORD.into()).await?;
    let sites: SiteList = http
        .get(format!("{base}/api/v1/sites"))
        .bearer_auth(&admin)
        .send()
        .await?
        .json()
        .await?;
    let site = sites.sites.first().context("no demo site")?.clone();
    let origin = site.allowed_origins.first().context("no origin")?.clone();
    let cap = options.visitors.div_ceil(AGENTS) + 1;

    // Agents: each socket records when visitors' messages arrive.
    let sent_at: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let latency = Arc::new(Mutex::new(Histogram::<u64>::new(3)?));
    let received = Arc::new(AtomicU64::new(0));
    let assigned = Arc::new(AtomicU64::new(0));
    let disorder = Arc::new(AtomicU64::new(0));
    let mut agent_tasks = Vec::new();
    for i in 0..AGENTS {
        let email = format!("agent{i}@loadgen.test");
        http.post(format!("{base}/api/v1/agents"))
            .bearer_auth(&admin)
            .json(&serde_json::json!({
                "email": email, "display_name": format!("Agent {i}"),
                "password": "agent-password", "role": "agent",
                "max_chats": cap, "sites": [site.id],
            }))
            .send()
            .await?
            .error_for_status()?;
        let token = login(email, "agent-password".into()).await?;
        let mut agent = Peer::open(
            format!("ws://127.0.0.1:{port}/ws/v1/agent"),
            None,
            Credentials::Agent { token: Some(token) },
        )
        .await?;
        let (sent_at, latency, received, assigned, disorder) = (
            sent_at.clone(),
            latency.clone(),
            received.clone(),
            assigned.clone(),
            disorder.clone(),
        );
        agent_tasks.push(tokio::spawn(async move {
            while let Ok(actions) = agent.next().await {
                for action in actions {
                    match action {
                        Action::Show(message) if message.author == AuthorKind::Visitor => {
                            let now = Instant::now();
                            let started = message
                                .client_id
                                .and_then(|id| sent_at.lock().ok()?.remove(id.as_str()));
                            if let Some(started) = started {
                                let micros = now.duration_since(started).as_micros();
                                if let Ok(mut histogram) = latency.lock() {
                                    let _ =
                                        histogram.record(u64::try_from(micros).unwrap_or(u64::MAX));
                                }
                                received.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        Action::Frame(ServerFrame::ConversationAssigned { .. }) => {
                            assigned.fetch_add(1, Ordering::Relaxed);
                        }
                        _ => {}
                    }
                }
                disorder.fetch_add(std::mem::take(&mut agent.disorder), Ordering::Relaxed);
            }
        }));
    }

    // Visitors: open a conversation each, and wait until every one is assigned.
    let mut visitors = Vec::with_capacity(options.visitors);
    for v in 0..options.visitors {
        let session: WidgetSessionResponse = http
            .post(format!("{base}/api/v1/widget/session"))
            .header("Origin", &origin)
            .json(&serde_json::json!({ "widget_key": site.widget_key }))
            .send()
            .await?
            .json()
            .await?;
        let mut visitor = Peer::open(
            format!(
                "ws://127.0.0.1:{port}/ws/v1/visitor?key={}",
                site.widget_key
            ),
            Some(origin.clone()),
            Credentials::Visitor {
                token: session.token,
            },
        )
        .await?;
        visitor.send(draft(&format!("open-{v}"), None)?).await?;
        let conversation = 'opened: loop {
            for action in visitor.next().await? {
                if let Action::Confirmed {
                    conversation_id, ..
                } = action
                {
                    break 'opened conversation_id;
                }
            }
        };
        visitors.push((visitor, conversation));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while assigned.load(Ordering::Relaxed) < options.visitors as u64 {
        if Instant::now() > deadline {
            bail!("not every conversation was assigned");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    // The measured burst.
    let started = Instant::now();
    let committed = Arc::new(AtomicU64::new(0));
    let mut senders = Vec::new();
    for (v, (mut visitor, conversation)) in visitors.into_iter().enumerate() {
        let (sent_at, committed) = (sent_at.clone(), committed.clone());
        let (messages, window) = (options.messages, options.window);
        senders.push(tokio::spawn(async move {
            let mut next = 0;
            // The in-flight window is the core's outbox: sends not yet acknowledged (or
            // echoed), resent by the core after any reconnect.
            while next < messages || !visitor.core.outbox().is_empty() {
                while next < messages && visitor.core.outbox().len() < window {
                    let id = format!("v{v}-{next}");
                    if let Ok(mut map) = sent_at.lock() {
                        map.insert(id.clone(), Instant::now());
                    }
                    visitor.send(draft(&id, Some(conversation))?).await?;
                    next += 1;
                }
                for action in visitor.next().await? {
                    if matches!(action, Action::Confirmed { .. }) {
                        committed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            anyhow::Ok(visitor)
        }));
    }
    let mut sockets = Vec::new();
    for sender in senders {
        let visitor = sender.await??;
        disorder.fetch_add(visitor.disorder, Ordering::Relaxed);
        sockets.push(visitor);
    }
    let commit_time = started.elapsed();
    let sent = (options.visitors * options.messages) as u64;
    let deadline = Instant::now() + Duration::from_secs(60);
    while received.load(Ordering::Relaxed) < sent && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let delivery_time = started.elapsed();
    let _ = server.kill().await;
    drop(sockets);
    for task in agent_tasks {
        task.abort();
    }
    let latency = latency
        .lock()
        .map_err(|_| anyhow::anyhow!("histogram lock poisoned"))?
        .clone();
    Ok(Outcome {
        committed_per_sec: committed.load(Ordering::Relaxed) as f64 / commit_time.as_secs_f64(),
        delivered_per_sec: received.load(Ordering::Relaxed) as f64 / delivery_time.as_secs_f64(),
        latency,
        sent,
        disorder: disorder.load(Ordering::Relaxed),
    })
}
