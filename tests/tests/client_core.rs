//! The client core against the real server: a visitor streaming through the core's outbox
//! loses nothing when the server is killed mid-stream. After a restart on the same database the
//! core reconnects (with its backoff), resumes from the last message it showed and resends
//! what was not confirmed, and the visitor ends up with every message once and in order.

use std::collections::HashSet;
use std::time::Duration;

use bellhop_client::Draft;
use bellhop_protocol::{ClientMessageId, MessageBody};
use bellhop_tests::child::ChildServer;
use bellhop_tests::{Backend, Client, TestDb, both_backends};

both_backends!(the_core_resumes_and_resends_across_a_server_kill);

/// Sent before the kill, and while the server is down.
const MESSAGES: usize = 40;
const WHILE_DOWN: usize = 5;

async fn the_core_resumes_and_resends_across_a_server_kill(backend: Backend) {
    let binary = env!("CARGO_BIN_EXE_bellhop-under-test");
    let db = TestDb::create(backend).await;
    let server = ChildServer::start(binary, db.url()).await;
    let client = Client::attach(server.port).await;
    let visitor = client.new_visitor(&client.demo_site).await;
    let mut ws = client.connect_visitor(&visitor, Vec::new()).await;

    // The first message opens the conversation; the rest are pipelined into it.
    let body = |i: usize| MessageBody::parse(format!("line {i}")).unwrap();
    let mut sent: Vec<ClientMessageId> = vec![ws.send_message(Draft::new(body(0))).await];
    while ws.confirmed().is_empty() {
        ws.next_frame().await;
    }
    let conversation = ws.confirmed()[0].1;
    for i in 1..MESSAGES {
        sent.push(ws.send_message(Draft::new(body(i)).to(conversation)).await);
    }
    // Kill the server while they stream in: some are stored, some not, and some acks
    // never reach the client.
    server.kill().await;
    while let Some(Ok(_)) = ws.try_next_frame(Duration::from_secs(5)).await {}
    // The visitor keeps typing while the server is down: those wait in the outbox.
    for i in MESSAGES..MESSAGES + WHILE_DOWN {
        sent.push(ws.send_message(Draft::new(body(i)).to(conversation)).await);
    }
    let unconfirmed = ws.core().outbox().len();
    let shown_before = ws.shown().len();
    assert!(unconfirmed >= WHILE_DOWN);

    let server = ChildServer::start(binary, db.url()).await;
    let client = Client::attach(server.port).await;
    let open = ws
        .reconnect_to(&client.ws_url(&format!("/ws/v1/visitor?key={}", visitor.widget_key)))
        .await;
    assert_eq!(open.len(), 1, "the conversation is still open");
    // Every message once: the visitor's, plus the automatic acknowledgement at seq 2.
    let total = MESSAGES + WHILE_DOWN + 1;
    while ws.shown().len() < total || !ws.core().outbox().is_empty() {
        ws.next_frame().await;
    }
    let seqs: Vec<u64> = ws.shown().iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=total as u64).collect::<Vec<_>>());
    let confirmed: Vec<&ClientMessageId> = ws.confirmed().iter().map(|(id, ..)| id).collect();
    assert_eq!(
        confirmed.iter().copied().collect::<HashSet<_>>(),
        sent.iter().collect::<HashSet<_>>(),
        "every send confirmed ({unconfirmed} were unconfirmed at the kill, {shown_before} shown)"
    );
    assert_eq!(confirmed.len(), sent.len(), "each send confirmed once");
    assert_eq!(ws.core().resume_points()[0].last_seq, total as u64);

    let page = client.transcript(conversation, &visitor.token).await;
    let stored: Vec<String> = page
        .messages
        .iter()
        .filter_map(|m| m.client_id.as_ref().map(|c| c.to_string()))
        .collect();
    assert_eq!(
        stored,
        sent.iter().map(|c| c.to_string()).collect::<Vec<_>>()
    );
    server.kill().await;
}
