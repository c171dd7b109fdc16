//! Graceful shutdown: every send the server took in is acknowledged before the `1001` close,
//! readiness answers `503` for the whole drain, and logs carry no colour codes when they are
//! not written to a terminal.

use std::process::Stdio;
use std::time::{Duration, Instant};

use bellhop_protocol::close_code;
use bellhop_protocol::frames::ServerFrame;
use bellhop_tests::child::free_port;
use bellhop_tests::ws::Ended;
use bellhop_tests::{
    ADMIN_PASSWORD, Backend, Client, TestDb, both_backends, is_ack_of, send_pipelined, spawn_app,
};

both_backends!(
    sends_taken_in_before_shutdown_are_acknowledged_before_the_close,
    readiness_answers_503_for_the_whole_drain,
);

const BINARY: &str = env!("CARGO_BIN_EXE_bellhop-under-test");

/// Stored visitor messages, counted from outside the server.
async fn visitor_messages(backend: Backend, url: &str) -> i64 {
    use sqlx::Connection;
    const SQL: &str = "SELECT COUNT(*) FROM messages WHERE author_kind = 'visitor'";
    match backend {
        Backend::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
            sqlx::query_scalar(SQL).fetch_one(&mut conn).await.unwrap()
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::query_scalar(SQL).fetch_one(&mut conn).await.unwrap()
        }
    }
}

/// A burst of pipelined sends, then shutdown at once: whatever the server stored, the client
/// holds the ack of, and the socket ends with `1001`.
async fn sends_taken_in_before_shutdown_are_acknowledged_before_the_close(backend: Backend) {
    const BURST: usize = 60;
    let mut app = spawn_app(backend).await;
    let (_visitor, mut ws, conversation) = app.open_chat(&app.demo_site, None, "first").await;
    ws.expect(
        "auto-reply",
        |f| matches!(f, ServerFrame::Message { message } if message.seq == 2),
    )
    .await;
    send_pipelined(&mut ws, "burst", BURST, Some(conversation)).await;
    // Stop as soon as the first of the burst is stored: the rest are in flight or unread.
    ws.expect("the first ack", is_ack_of("burst-0")).await;
    let stopper = app.stopper();
    stopper.stop();

    let mut acked = 1;
    let code = loop {
        match ws.try_next_frame(Duration::from_secs(15)).await {
            Some(Ok(ServerFrame::Ack { .. })) => acked += 1,
            Some(Ok(_)) => {}
            Some(Err(Ended::Closed(frame))) => break frame.map(|f| u16::from(f.code)),
            Some(Err(Ended::Error(e))) => panic!("the socket broke instead of closing: {e}"),
            None => panic!("the server did not close the socket"),
        }
    };
    app.stop().await;
    assert_eq!(code, Some(close_code::GOING_AWAY));
    // The opening message is the one visitor message outside the burst.
    let stored = visitor_messages(backend, app.db.url()).await - 1;
    println!("{backend:?}: {BURST} sent, {stored} stored, {acked} acknowledged before the close");
    assert_eq!(
        stored, acked,
        "every send stored during the drain must be acknowledged before the close"
    );
}

/// SIGTERM with a socket that never answers the close handshake (so the drain takes a while):
/// until the process exits, `/readyz` answers 503 — it never refuses the connection.
async fn readiness_answers_503_for_the_whole_drain(backend: Backend) {
    let db = TestDb::create(backend).await;
    let port = free_port();
    let mut child = tokio::process::Command::new(BINARY)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .args(["--database-url", db.url()])
        .env("BELLHOP_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    let readyz = format!("http://127.0.0.1:{port}/readyz");
    let started = Instant::now();
    loop {
        if let Ok(r) = http.get(&readyz).send().await
            && r.status() == 200
        {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "never ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let client = Client::attach(port).await;
    let visitor = client.new_visitor(&client.demo_site).await;
    // A connected socket that is never read again: its close handshake times out.
    let _stuck = client.connect_visitor(&visitor, Vec::new()).await;

    let pid = child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let mut answers = Vec::new();
    let exited = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break status;
        }
        let answer = match http
            .get(&readyz)
            .timeout(Duration::from_secs(5))
            .send()
            .await
        {
            Ok(r) => r.status().as_u16().to_string(),
            // Refused, or a pooled connection closed under the request as the process ends.
            Err(e) => format!("failed: {e}"),
        };
        if answer.starts_with("failed") {
            // Only the last moment before exit may fail: the listener closes as the very
            // last step, after the sockets and commits are done.
            let status = tokio::time::timeout(Duration::from_secs(1), child.wait()).await;
            match status {
                Ok(status) => break status.unwrap(),
                Err(_) => panic!("readiness failed mid-drain ({answer}): {answers:?}"),
            }
        }
        // The first polls may come before the signal is handled.
        if !(answers.is_empty() && answer == "200") {
            answers.push(answer);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exited.success(), "graceful shutdown exits 0: {exited}");
    assert!(
        answers.len() >= 3,
        "the drain should take a moment: {answers:?}"
    );
    assert!(
        answers.iter().all(|a| a == "503"),
        "readiness during the drain: {answers:?}"
    );

    // Logs written to a pipe carry no ANSI colour codes.
    let output = child.wait_with_output().await.unwrap();
    let logs = String::from_utf8_lossy(&output.stderr);
    assert!(logs.contains("shutting down"), "{logs}");
    assert!(
        !logs.contains('\u{1b}'),
        "colour codes in piped logs: {logs}"
    );
}
