//! The `bellhop` command line: `agent add` creates an agent who can then log in.

use bellhop_protocol::api::Role;
use bellhop_tests::child::ChildServer;
use bellhop_tests::{Backend, Client, TestDb, both_backends};

both_backends!(agent_add_creates_an_agent_who_can_log_in);

const BINARY: &str = env!("CARGO_BIN_EXE_bellhop-under-test");

fn bellhop(args: &[&str], database_url: &str) -> std::process::Output {
    std::process::Command::new(BINARY)
        .args(args)
        .args(["--database-url", database_url])
        .env("RUST_LOG", "warn")
        .output()
        .expect("run the bellhop binary")
}

async fn agent_add_creates_an_agent_who_can_log_in(backend: Backend) {
    let db = TestDb::create(backend).await;
    // The first start creates the demo site.
    ChildServer::start(BINARY, db.url()).await.kill().await;

    let added = bellhop(
        &[
            "agent",
            "add",
            "--email",
            "Nina@Example.test",
            "--name",
            "Nina Night",
            "--role",
            "supervisor",
            "--site",
            "demo",
            "--max-chats",
            "5",
            "--password",
            "nina-password",
        ],
        db.url(),
    );
    let stdout = String::from_utf8_lossy(&added.stdout);
    assert!(
        added.status.success(),
        "agent add failed: {stdout}{}",
        String::from_utf8_lossy(&added.stderr)
    );
    assert!(stdout.contains("created nina@example.test"), "{stdout}");

    // Without --password one is generated and printed once.
    let generated = bellhop(
        &[
            "agent",
            "add",
            "--email",
            "gen@example.test",
            "--name",
            "Gen",
            "--site",
            "demo",
        ],
        db.url(),
    );
    assert!(generated.status.success());
    let stdout = String::from_utf8_lossy(&generated.stdout).into_owned();
    let password = stdout
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .expect("a generated password is printed")
        .to_owned();

    // Bad input is refused with a clear message and a failing exit code.
    let refused = bellhop(
        &[
            "agent",
            "add",
            "--email",
            "not-an-email",
            "--name",
            "X",
            "--password",
            "long-enough",
        ],
        db.url(),
    );
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not an email address"));
    let unknown_site = bellhop(
        &[
            "agent",
            "add",
            "--email",
            "y@example.test",
            "--name",
            "Y",
            "--site",
            "no-such-site",
        ],
        db.url(),
    );
    assert!(!unknown_site.status.success());

    let server = ChildServer::start(BINARY, db.url()).await;
    let client = Client::attach(server.port).await;
    let nina = client.login("nina@example.test", "nina-password").await;
    assert_eq!(nina.agent.role, Role::Supervisor);
    assert_eq!(nina.agent.max_chats, 5);
    assert_eq!(nina.agent.sites, vec![client.demo_site.id]);
    let gen_agent = client.login("gen@example.test", &password).await;
    assert_eq!(gen_agent.agent.role, Role::Agent);
    assert_eq!(gen_agent.agent.max_chats, 3);
    server.kill().await;
}
