//! Login that cannot be abused: a burst of logins neither grows the server's memory nor slows
//! other chats (password hashing is bounded; the overflow gets `429` with `Retry-After`), and
//! repeated failures lock an account, even for the right password, until the lock expires.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bellhop_protocol::ErrorCode;
use bellhop_protocol::error::ApiError;
use bellhop_tests::child::ChildServer;
use bellhop_tests::{
    AGENT_PASSWORD, Backend, Client, TestDb, both_backends, spawn_app_with, visitor_says,
};

both_backends!(a_login_burst_keeps_memory_flat_and_chats_moving);
both_backends!(failed_logins_lock_the_account_until_the_lock_expires);

const BURST: usize = 200;

async fn login_status(
    http: &reqwest::Client,
    address: &str,
    email: &str,
    password: &str,
) -> (u16, Option<u64>, Option<ErrorCode>) {
    let response = http
        .post(format!("{address}/api/v1/auth/login"))
        .json(&serde_json::json!({ "email": email, "password": password }))
        .send()
        .await
        .expect("login request");
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let code = response.json::<ApiError>().await.ok().map(|e| e.code);
    (status, retry_after, code)
}

async fn a_login_burst_keeps_memory_flat_and_chats_moving(backend: Backend) {
    let binary = env!("CARGO_BIN_EXE_bellhop-under-test");
    let db = TestDb::create(backend).await;
    // Only the hashing bound is measured here: the per-address lock would end the burst early.
    let server = ChildServer::start_with_env(
        binary,
        db.url(),
        &[("BELLHOP_AUTH__ADDRESS_MAX_FAILURES", "1000000")],
    )
    .await;
    let client = Client::attach(server.port).await;
    let (_visitor, mut chat, conversation) = client.open_chat(&client.demo_site, None, "hi").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let idle = server.rss_kib().expect("the server's VmRSS");

    // A chat keeps sending while the burst runs; every ack's latency is recorded.
    let done = Arc::new(AtomicBool::new(false));
    let chatting = {
        let done = done.clone();
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut i = 0;
            while !done.load(Ordering::Relaxed) {
                i += 1;
                let started = Instant::now();
                visitor_says(
                    &mut chat,
                    &format!("during-{i}"),
                    "still here",
                    Some(conversation),
                )
                .await;
                latencies.push(started.elapsed());
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            latencies
        })
    };

    let address = format!("http://127.0.0.1:{}", server.port);
    let started = Instant::now();
    let mut attempts = Vec::new();
    for n in 0..BURST {
        let address = address.clone();
        attempts.push(tokio::spawn(async move {
            // One connection each, as independent attackers would have.
            let http = reqwest::Client::new();
            let email = format!("nobody-{}@example.test", n % 20);
            login_status(&http, &address, &email, "wrong-password").await
        }));
    }
    let mut peak = idle;
    let mut outcomes = Vec::new();
    let sampling = async {
        loop {
            if let Some(rss) = server.rss_kib() {
                peak = peak.max(rss);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let collecting = async {
        for attempt in attempts {
            outcomes.push(attempt.await.expect("login task"));
        }
    };
    tokio::select! {
        () = collecting => {}
        () = sampling => unreachable!(),
    }
    let burst_took = started.elapsed();
    done.store(true, Ordering::Relaxed);
    let latencies = chatting.await.expect("the chat task");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = server.rss_kib().expect("the server's VmRSS");

    let refused = outcomes
        .iter()
        .filter(|(status, ..)| *status == 401)
        .count();
    let limited: Vec<_> = outcomes
        .iter()
        .filter(|(status, ..)| *status == 429)
        .collect();
    let worst = latencies.iter().max().copied().unwrap_or_default();
    println!(
        "{backend:?}: {BURST} concurrent wrong-password logins in {burst_took:?}: {refused} × 401, \
         {} × 429; VmRSS idle {} MiB, peak {} MiB (+{} MiB), after {} MiB; \
         {} chat acks meanwhile, slowest {worst:?}",
        limited.len(),
        idle / 1024,
        peak / 1024,
        peak.saturating_sub(idle) / 1024,
        after / 1024,
        latencies.len(),
    );
    assert_eq!(
        refused + limited.len(),
        BURST,
        "every attempt is 401 or 429"
    );
    assert!(!limited.is_empty(), "the overflow is answered 429");
    for (_, retry_after, code) in &limited {
        assert_eq!(*code, Some(ErrorCode::RateLimited));
        assert!(
            retry_after.is_some_and(|s| s >= 1),
            "429 carries Retry-After"
        );
    }
    // Hashing runs on a fixed set of threads, each reusing one work area: the growth is at
    // most a work area per hashing thread (19 MiB each) plus connection buffers.
    assert!(
        peak.saturating_sub(idle) < 100 * 1024,
        "memory grew by {} MiB",
        peak.saturating_sub(idle) / 1024
    );
    assert!(!latencies.is_empty(), "the chat was acknowledged meanwhile");
    assert!(worst < Duration::from_secs(1), "an ack took {worst:?}");
    server.kill().await;
}

async fn failed_logins_lock_the_account_until_the_lock_expires(backend: Backend) {
    let app = spawn_app_with(backend, |config| {
        config.auth.account_max_failures = 3;
        config.auth.lock_secs = 2;
    })
    .await;
    let client: &Client = &app;
    let locked = client
        .create_agent("Locked", 3, &[client.demo_site.id])
        .await;
    let other = client
        .create_agent("Other", 3, &[client.demo_site.id])
        .await;
    let http = reqwest::Client::new();
    let address = format!("http://127.0.0.1:{}", client.port);

    for _ in 0..3 {
        let (status, _, code) =
            login_status(&http, &address, &locked.profile.email, "wrong-guess").await;
        assert_eq!((status, code), (401, Some(ErrorCode::InvalidCredentials)));
    }
    // Locked: even the right password gets 429 now.
    let (status, retry_after, code) =
        login_status(&http, &address, &locked.profile.email, AGENT_PASSWORD).await;
    assert_eq!((status, code), (429, Some(ErrorCode::RateLimited)));
    let retry_after = retry_after.expect("Retry-After");
    assert!((1..=2).contains(&retry_after), "Retry-After {retry_after}");
    // An unknown email is locked the same way: a lock tells nothing about the account.
    for _ in 0..3 {
        login_status(&http, &address, "nobody@example.test", "wrong-guess").await;
    }
    let (status, _, _) = login_status(&http, &address, "nobody@example.test", "x").await;
    assert_eq!(status, 429);
    // Other accounts are unaffected.
    client.login(&other.profile.email, AGENT_PASSWORD).await;

    tokio::time::sleep(Duration::from_secs(retry_after) + Duration::from_millis(200)).await;
    let (status, _, _) = login_status(&http, &address, &locked.profile.email, AGENT_PASSWORD).await;
    assert_eq!(status, 200, "the lock has expired");
}
