//! The wallboard scenario: 200 open chats served by 20 agents who keep changing state (away,
//! online, each at its own pace) while N supervisors watch the wallboard, pushed over their sockets, against the
//! baseline of the same supervisors polling the REST lists (open conversations and agents)
//! once a second, with the same agents changing state, on the same server in the same run.
//!
//! For each phase it measures what the supervisors received (updates per second and bytes),
//! the server's CPU time (from `/proc`) per second of the phase, and the statements the
//! server ran per second. Statements are counted from the server's own `sqlx::query` debug
//! log, which costs CPU itself, so the count comes from a second, separate server: its CPU
//! figures are not used.

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bellhop_protocol::PROTOCOL_VERSION;
use bellhop_protocol::api::{LoginResponse, SiteList, WidgetSessionResponse};
use bellhop_protocol::console::Feed;
use bellhop_protocol::frames::{AgentFrame, AgentStatus};
use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncBufReadExt;
use tokio_tungstenite::tungstenite::Message;

use crate::{ADMIN_PASSWORD, Options, Ws, connect};

const AGENTS: usize = 20;
const CHATS: usize = 200;
/// Agent `i` flips between away and online every `FLIP_BASE + i * FLIP_STEP`: each at its own
/// pace (400 to 1350 ms, about 27 changes a second in all), so the board really changes
/// between two pushes. (With one pace for all, every agent would be back where it was a
/// whole number of periods later, and a board computed once a second would rarely differ.)
const FLIP_BASE: Duration = Duration::from_millis(400);
const FLIP_STEP: Duration = Duration::from_millis(50);

/// One phase's figures.
struct Phase {
    updates_per_sec: f64,
    kib_per_sec: f64,
    cpu_percent: f64,
    statements_per_sec: Option<f64>,
}

pub(crate) async fn run(options: &Options) -> anyhow::Result<()> {
    let slowest = FLIP_BASE + FLIP_STEP * u32::try_from(AGENTS - 1).unwrap_or(0);
    println!(
        "{CHATS} open chats, {AGENTS} agents flipping away/online every {} to {} ms, \
         {} supervisors, {} s per phase; SQLite\n",
        FLIP_BASE.as_millis(),
        slowest.as_millis(),
        options.supervisors,
        options.seconds
    );
    let timed = scenario(options, false).await?;
    let counted = scenario(options, true).await?;
    println!(
        "| phase | updates/s received | KiB/s received | server CPU % | SQL statements/s |\n\
         |---|---:|---:|---:|---:|"
    );
    let names = [
        "wallboard pushed over the socket (coalesced, 1 s)",
        "baseline: polling the REST lists every second",
    ];
    for ((name, phase), counted) in names.iter().zip(&timed).zip(&counted) {
        println!(
            "| {name} | {:.1} | {:.1} | {:.1} | {:.0} |",
            phase.updates_per_sec,
            phase.kib_per_sec,
            phase.cpu_percent,
            counted.statements_per_sec.unwrap_or_default(),
        );
    }
    Ok(())
}

/// A server process, its address and (when asked for) its count of SQL statements.
struct Server {
    child: tokio::process::Child,
    port: u16,
    base: String,
    statements: Arc<AtomicU64>,
    _dir: tempfile::TempDir,
}

async fn start(options: &Options, count_statements: bool) -> anyhow::Result<Server> {
    let dir = tempfile::tempdir()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let log = if count_statements {
        "warn,sqlx::query=debug"
    } else {
        "warn"
    };
    let mut child = tokio::process::Command::new(&options.server)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .arg("--database-url")
        .arg(format!(
            "sqlite://{}",
            dir.path().join("bench.db").display()
        ))
        .env("BELLHOP_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("BELLHOP_LIMITS__WIDGET_SESSIONS_PER_MINUTE", "0")
        .env("BELLHOP_LIMITS__VISITOR_MESSAGES_PER_SECOND", "0")
        .env("BELLHOP_LIMITS__ADDRESS_CONVERSATIONS_PER_HOUR", "0")
        .env("BELLHOP_LIMITS__SOCKETS_PER_ADDRESS", "0")
        .env("RUST_LOG", log)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", options.server))?;
    let statements = Arc::new(AtomicU64::new(0));
    if let Some(stderr) = child.stderr.take() {
        let statements = statements.clone();
        tokio::spawn(async move {
            let mut lines = tokio::io::BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if line.contains("sqlx::query") {
                    statements.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    for _ in 0..200 {
        if http
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Ok(Server {
                child,
                port,
                base,
                statements,
                _dir: dir,
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("the server did not become ready")
}

/// The server's CPU time so far (user + system), from `/proc/PID/stat`.
fn cpu_time(pid: Option<u32>) -> Duration {
    let Some(pid) = pid else {
        return Duration::ZERO;
    };
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return Duration::ZERO;
    };
    // The fields after the command name (which may hold spaces), from `state` on.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return Duration::ZERO;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 from `state`; Linux counts
    // them in USER_HZ, 100 per second.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// An agent socket past its `welcome`.
async fn agent_socket(port: u16, token: &str) -> anyhow::Result<Ws> {
    let mut ws = connect(&format!("ws://127.0.0.1:{port}/ws/v1/agent"), None).await?;
    let hello = AgentFrame::Hello {
        v: PROTOCOL_VERSION,
        token: Some(token.to_owned()),
        resume: Vec::new(),
    };
    ws.send(Message::text(serde_json::to_string(&hello)?))
        .await?;
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) if text.contains(r#""type":"welcome""#) => return Ok(ws),
            Some(Ok(_)) => {}
            other => bail!("no welcome: {other:?}"),
        }
    }
}

async fn scenario(options: &Options, count_statements: bool) -> anyhow::Result<Vec<Phase>> {
    let mut server = start(options, count_statements).await?;
    let (port, base) = (server.port, server.base.clone());
    let http = reqwest::Client::new();
    let login = |email: String, password: &'static str| {
        let (http, base) = (http.clone(), base.clone());
        async move {
            let response: LoginResponse = http
                .post(format!("{base}/api/v1/auth/login"))
                .json(&serde_json::json!({ "email": email, "password": password }))
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            anyhow::Ok(response.token)
        }
    };
    let admin = login("admin@bellhop.local".into(), ADMIN_PASSWORD).await?;
    let sites: SiteList = http
        .get(format!("{base}/api/v1/sites"))
        .bearer_auth(&admin)
        .send()
        .await?
        .json()
        .await?;
    let site = sites.sites.first().context("no demo site")?.clone();
    let origin = site.allowed_origins.first().context("no origin")?.clone();
    let create = |email: String, role: &'static str, cap: usize| {
        let (http, base, admin, site) = (http.clone(), base.clone(), admin.clone(), site.id);
        async move {
            http.post(format!("{base}/api/v1/agents"))
                .bearer_auth(&admin)
                .json(&serde_json::json!({
                    "email": email, "display_name": email.replace('@', " at "),
                    "password": "agent-password", "role": role,
                    "max_chats": cap, "sites": [site],
                }))
                .send()
                .await?
                .error_for_status()?;
            anyhow::Ok(())
        }
    };

    // Agents with room for every chat, connected; each drains its socket and counts its
    // assignments until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let flipping = Arc::new(AtomicBool::new(false));
    let assigned = Arc::new(AtomicU64::new(0));
    let mut agents = Vec::new();
    for i in 0..AGENTS {
        let email = format!("agent{i}@loadgen.test");
        create(email.clone(), "agent", CHATS.div_ceil(AGENTS)).await?;
        let token = login(email, "agent-password").await?;
        let mut ws = agent_socket(port, &token).await?;
        let (stop, flipping, assigned) = (stop.clone(), flipping.clone(), assigned.clone());
        agents.push(tokio::spawn(async move {
            let every = FLIP_BASE + FLIP_STEP * u32::try_from(i).unwrap_or(0);
            let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            let mut away = false;
            while !stop.load(Ordering::Relaxed) {
                tokio::select! {
                    _ = ticks.tick() => {
                        if flipping.load(Ordering::Relaxed) {
                            away = !away;
                            let status = if away { AgentStatus::Away } else { AgentStatus::Online };
                            let frame = serde_json::to_string(&AgentFrame::SetStatus { status })?;
                            ws.send(Message::text(frame)).await?;
                        }
                    }
                    message = ws.next() => match message {
                        Some(Ok(Message::Text(text))) => {
                            if text.contains(r#""type":"conversation_assigned""#) {
                                assigned.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        Some(Ok(_)) => {}
                        _ => bail!("an agent socket closed"),
                    },
                }
            }
            anyhow::Ok(())
        }));
    }

    // The chats: every visitor opens one; their sockets stay open.
    let mut visitors = Vec::with_capacity(CHATS);
    for v in 0..CHATS {
        let session: WidgetSessionResponse = http
            .post(format!("{base}/api/v1/widget/session"))
            .header("Origin", &origin)
            .json(&serde_json::json!({ "widget_key": site.widget_key }))
            .send()
            .await?
            .json()
            .await?;
        let url = format!(
            "ws://127.0.0.1:{port}/ws/v1/visitor?key={}",
            site.widget_key
        );
        let mut ws = connect(&url, Some(&origin)).await?;
        let hello =
            serde_json::json!({ "type": "hello", "v": PROTOCOL_VERSION, "token": session.token });
        ws.send(Message::text(hello.to_string())).await?;
        let send = serde_json::json!({
            "type": "send", "client_id": format!("open-{v}"), "body": format!("Question {v}"),
        });
        ws.send(Message::text(send.to_string())).await?;
        visitors.push(tokio::spawn(async move {
            // Drain (and answer pings) until the socket closes.
            while let Some(Ok(_)) = ws.next().await {}
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while assigned.load(Ordering::Relaxed) < CHATS as u64 {
        if Instant::now() > deadline {
            bail!(
                "only {} of {CHATS} chats were assigned",
                assigned.load(Ordering::Relaxed)
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let mut supervisors = Vec::new();
    for i in 0..options.supervisors {
        let email = format!("supervisor{i}@loadgen.test");
        create(email.clone(), "supervisor", 0).await?;
        supervisors.push(login(email, "agent-password").await?);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    flipping.store(true, Ordering::Relaxed);
    let window = Duration::from_secs(options.seconds);
    let pid = server.child.id();

    // Phase 1: the supervisors subscribe to the wallboard and count what is pushed.
    let received = Arc::new(AtomicU64::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    let counting = Arc::new(AtomicBool::new(false));
    let mut watchers = Vec::new();
    for token in &supervisors {
        let mut ws = agent_socket(port, token).await?;
        let subscribe = AgentFrame::Subscribe {
            feed: Feed::Wallboard,
        };
        ws.send(Message::text(serde_json::to_string(&subscribe)?))
            .await?;
        let (received, bytes, counting) = (received.clone(), bytes.clone(), counting.clone());
        watchers.push(tokio::spawn(async move {
            while let Some(Ok(message)) = ws.next().await {
                if let Message::Text(text) = message
                    && text.contains(r#""type":"wallboard""#)
                    && counting.load(Ordering::Relaxed)
                {
                    received.fetch_add(1, Ordering::Relaxed);
                    bytes.fetch_add(text.len() as u64, Ordering::Relaxed);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut phases = Vec::new();
    let (cpu, statements, started) = (
        cpu_time(pid),
        server.statements.load(Ordering::Relaxed),
        Instant::now(),
    );
    counting.store(true, Ordering::Relaxed);
    tokio::time::sleep(window).await;
    counting.store(false, Ordering::Relaxed);
    phases.push(phase(
        &received,
        &bytes,
        started.elapsed(),
        cpu_time(pid).saturating_sub(cpu),
        server.statements.load(Ordering::Relaxed) - statements,
        count_statements,
    ));
    for watcher in watchers {
        watcher.abort();
    }
    tokio::time::sleep(Duration::from_secs(1)).await;

    // Phase 2, the baseline: the same supervisors poll the open conversations and the agents
    // every second (what a console without the feed would do to stay as fresh).
    received.store(0, Ordering::Relaxed);
    bytes.store(0, Ordering::Relaxed);
    let polling = Arc::new(AtomicBool::new(true));
    let mut pollers = Vec::new();
    for token in supervisors.clone() {
        let (http, base) = (http.clone(), base.clone());
        let (received, bytes, polling) = (received.clone(), bytes.clone(), polling.clone());
        pollers.push(tokio::spawn(async move {
            let mut ticks = tokio::time::interval(Duration::from_secs(1));
            while polling.load(Ordering::Relaxed) {
                ticks.tick().await;
                let mut size = 0;
                for path in [
                    "/api/v1/conversations?scope=site&limit=1000",
                    "/api/v1/agents",
                ] {
                    let body = http
                        .get(format!("{base}{path}"))
                        .bearer_auth(&token)
                        .send()
                        .await?
                        .error_for_status()?
                        .bytes()
                        .await?;
                    size += body.len() as u64;
                }
                received.fetch_add(1, Ordering::Relaxed);
                bytes.fetch_add(size, Ordering::Relaxed);
            }
            anyhow::Ok(())
        }));
    }
    let (cpu, statements, started) = (
        cpu_time(pid),
        server.statements.load(Ordering::Relaxed),
        Instant::now(),
    );
    tokio::time::sleep(window).await;
    polling.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed();
    let cpu = cpu_time(pid).saturating_sub(cpu);
    let statements = server.statements.load(Ordering::Relaxed) - statements;
    for poller in pollers {
        poller.await??;
    }
    phases.push(phase(
        &received,
        &bytes,
        elapsed,
        cpu,
        statements,
        count_statements,
    ));

    stop.store(true, Ordering::Relaxed);
    let _ = server.child.kill().await;
    for task in agents {
        task.abort();
    }
    for task in visitors {
        task.abort();
    }
    Ok(phases)
}

fn phase(
    received: &AtomicU64,
    bytes: &AtomicU64,
    elapsed: Duration,
    cpu: Duration,
    statements: u64,
    counted: bool,
) -> Phase {
    let secs = elapsed.as_secs_f64();
    Phase {
        updates_per_sec: received.load(Ordering::Relaxed) as f64 / secs,
        kib_per_sec: bytes.load(Ordering::Relaxed) as f64 / 1024.0 / secs,
        cpu_percent: cpu.as_secs_f64() / secs * 100.0,
        statements_per_sec: counted.then(|| statements as f64 / secs),
    }
}
