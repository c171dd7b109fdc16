//! Presence per node: several server processes share one database. A node that starts marks
//! nobody offline; a node that dies without shutting down releases its agents once its lease
//! has run out, and only those.

use std::process::Stdio;
use std::time::{Duration, Instant};

use bellhop_protocol::AgentId;
use bellhop_protocol::api::AgentProfile;
use bellhop_protocol::frames::AgentStatus;
use bellhop_server::app::{Application, Stopper};
use bellhop_tests::child::free_port;
use bellhop_tests::{ADMIN_PASSWORD, Backend, Client, TestDb, both_backends, test_config};
use tokio::process::{Child, Command};

both_backends!(nodes_share_presence_and_a_dead_node_releases_its_agents);

const CLI: &str = env!("CARGO_BIN_EXE_bellhop-under-test");
const LEASE_MS: u64 = 600;

/// A node in this process on the shared database.
async fn start_node(db: &TestDb) -> (Client, Stopper) {
    let mut config = test_config(db.url());
    config.routing.node_lease_ms = LEASE_MS;
    let app = Application::build(config)
        .await
        .expect("the node failed to start");
    let (port, stopper) = (app.port(), app.stopper());
    tokio::spawn(app.run_until_stopped());
    (Client::attach(port).await, stopper)
}

/// A node as a child process, to be killed with SIGKILL (no shutdown code runs).
async fn start_child_node(db: &TestDb) -> (Child, Client) {
    let port = free_port();
    let mut child = Command::new(CLI)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .args(["--database-url", db.url()])
        .env("BELLHOP_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("BELLHOP_ROUTING__NODE_LEASE_MS", LEASE_MS.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start the server binary");
    let ready = format!("http://127.0.0.1:{port}/readyz");
    for _ in 0..300 {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the child node exited during start-up: {status}");
        }
        if let Ok(response) = reqwest::get(&ready).await
            && response.status().is_success()
        {
            return (child, Client::attach(port).await);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the child node did not become ready in 15 s");
}

async fn status(client: &Client, agent: AgentId) -> AgentStatus {
    let agents: Vec<AgentProfile> = client.get_json("/api/v1/agents", &client.admin_token).await;
    agents
        .into_iter()
        .find(|a| a.id == agent)
        .expect("the agent is listed")
        .status
}

async fn wait_for_status(client: &Client, agent: AgentId, wanted: AgentStatus) -> Duration {
    let start = Instant::now();
    while status(client, agent).await != wanted {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "agent {agent} did not become {wanted:?} within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    start.elapsed()
}

async fn nodes_share_presence_and_a_dead_node_releases_its_agents(backend: Backend) {
    let db = TestDb::create(backend).await;
    let (a, stop_a) = start_node(&db).await;
    let ann = a.create_agent("Ann on A", 3, &[a.demo_site.id]).await;
    let _ann_ws = a.connect_agent(&ann).await;
    wait_for_status(&a, ann.id(), AgentStatus::Online).await;

    // Node B starts on the same database: Ann, connected to A, stays online.
    let (b, stop_b) = start_node(&db).await;
    assert_eq!(status(&b, ann.id()).await, AgentStatus::Online);

    // Node C, a separate process, serves Bob; both nodes see him online.
    let (mut c_process, c) = start_child_node(&db).await;
    let bob = a.create_agent("Bob on C", 3, &[a.demo_site.id]).await;
    let _bob_ws = c.connect_agent(&bob).await;
    wait_for_status(&a, bob.id(), AgentStatus::Online).await;

    // Several leases later, every live node has renewed its own: nothing changed.
    tokio::time::sleep(Duration::from_millis(3 * LEASE_MS)).await;
    assert_eq!(status(&b, ann.id()).await, AgentStatus::Online);
    assert_eq!(status(&b, bob.id()).await, AgentStatus::Online);

    // C dies without shutting down: its socket to Bob is gone but nothing marks him offline
    // until C's lease has run out; then A or B releases him. Ann is untouched.
    c_process.kill().await.expect("kill node C");
    let killed = Instant::now();
    wait_for_status(&b, bob.id(), AgentStatus::Offline).await;
    let released_after = killed.elapsed();
    // C renewed at most a third of a lease before it died.
    assert!(
        released_after >= Duration::from_millis(LEASE_MS / 3),
        "Bob was released {released_after:?} after his node died, before its lease could end"
    );
    assert!(
        released_after < Duration::from_millis(5 * LEASE_MS),
        "Bob was released {released_after:?} after his node died; the lease is {LEASE_MS} ms"
    );
    assert_eq!(status(&a, ann.id()).await, AgentStatus::Online);
    assert_eq!(status(&b, ann.id()).await, AgentStatus::Online);

    stop_b.stop();
    stop_a.stop();
}
