//! Another process writing the same database makes sends wait, never fail: while a second
//! process holds the write lock for a second (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: an
//! exclusive lock on `messages`), a visitor's sends are all acknowledged once it lets go, and
//! `bellhop agent add` run meanwhile succeeds too.

use std::process::Stdio;
use std::time::{Duration, Instant};

use bellhop_protocol::frames::ServerFrame;
use bellhop_tests::{Backend, both_backends, send_pipelined, spawn_app, visitor_send};
use sqlx::Connection;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

both_backends!(sends_wait_for_another_process_holding_the_write_lock);

const CLI: &str = env!("CARGO_BIN_EXE_bellhop-under-test");
/// Set for the lock-holding child: the database URL whose write lock it takes.
const HOLDER_ENV: &str = "BELLHOP_TEST_LOCK_HOLDER_URL";
const HOLD: Duration = Duration::from_secs(1);
const SENDS: usize = 5;

async fn sends_wait_for_another_process_holding_the_write_lock(backend: Backend) {
    let app = spawn_app(backend).await;
    let visitor = app.new_visitor(&app.demo_site).await;
    let mut ws = app.connect_visitor(&visitor, Vec::new()).await;
    // The conversation exists before the lock, so every send below is a plain append.
    ws.send(&visitor_send("before", "hello", None)).await;
    let opened = ws
        .expect("the first ack", |f| matches!(f, ServerFrame::Ack { .. }))
        .await;
    let ServerFrame::Ack {
        conversation_id, ..
    } = opened
    else {
        unreachable!()
    };

    // The second process: this test binary, running only the holder below.
    let mut holder = Command::new(std::env::current_exe().expect("the test binary"))
        .args(["--exact", "locking::hold_the_write_lock", "--ignored"])
        .args(["--nocapture", "--test-threads=1"])
        .env(HOLDER_ENV, app.db.url())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the lock holder");
    let mut lines = BufReader::new(holder.stdout.take().expect("holder stdout")).lines();
    loop {
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("the holder takes the lock within 30 s")
            .expect("read the holder's output")
            .expect("the holder says when it holds the lock");
        // The test harness prints `test locking::hold_the_write_lock ... ` before it.
        if line.ends_with("LOCKED") {
            break;
        }
    }
    let locked_at = Instant::now();

    let cli = Command::new(CLI)
        .args([
            "agent",
            "add",
            "--email",
            "lock@example.test",
            "--name",
            "Lock",
        ])
        .args(["--site", "demo", "--password", "lock-password-1"])
        .args(["--database-url", app.db.url()])
        .env("RUST_LOG", "warn")
        .output();
    let cli = tokio::spawn(cli);
    send_pipelined(&mut ws, "during", SENDS, Some(conversation_id)).await;
    let (mut acked, mut failed) = (Vec::new(), Vec::new());
    while acked.len() + failed.len() < SENDS {
        match ws.next_frame().await {
            ServerFrame::Ack { client_id, .. } => acked.push((client_id, locked_at.elapsed())),
            ServerFrame::Error {
                code,
                client_id: Some(client_id),
                ..
            } => failed.push((client_id, code, locked_at.elapsed())),
            _ => {}
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {SENDS} sends failed while another process held the lock: {failed:?}",
        failed.len()
    );
    // They waited for the other writer, then went through.
    let first = acked[0].1;
    assert!(
        first >= HOLD / 2,
        "the first send was acknowledged {first:?} after the lock was taken: the lock did not \
         hold it up, so this test tested nothing"
    );

    let status = holder.wait().await.expect("the holder exits");
    assert!(status.success(), "the lock holder failed: {status}");
    let cli = cli.await.expect("join").expect("run bellhop agent add");
    assert!(
        cli.status.success(),
        "agent add failed while another process held the lock: {}{}",
        String::from_utf8_lossy(&cli.stdout),
        String::from_utf8_lossy(&cli.stderr)
    );
    let transcript = app
        .get(
            &format!("/api/v1/conversations/{conversation_id}/messages"),
            &app.admin_token,
        )
        .await;
    assert_eq!(transcript.status(), 200);
    let body = transcript.text().await.unwrap();
    for i in 0..SENDS {
        assert!(body.contains(&format!("\"during {i}\"")), "{body}");
    }
}

/// Not a scenario of its own: the second process of the test above, which runs this binary
/// again with only this function and [`HOLDER_ENV`] set. Takes the database's write lock,
/// says `LOCKED`, holds it for [`HOLD`] and commits.
#[tokio::test]
#[ignore = "run as a child process by sends_wait_for_another_process_holding_the_write_lock"]
async fn hold_the_write_lock() {
    let url = std::env::var(HOLDER_ENV).expect("run by the locking test");
    if url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut conn)
            .await
            .unwrap();
        println!("LOCKED");
        tokio::time::sleep(HOLD).await;
        sqlx::query("COMMIT").execute(&mut conn).await.unwrap();
    } else {
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        let mut tx = conn.begin().await.unwrap();
        sqlx::query("LOCK TABLE messages, agents IN EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await
            .unwrap();
        println!("LOCKED");
        tokio::time::sleep(HOLD).await;
        tx.commit().await.unwrap();
    }
}
