//! Crash safety: the server is killed with SIGKILL while several clients stream messages; after
//! a restart on the same database, every message it had acknowledged is stored exactly once and
//! replayed on resume, and resending everything stores nothing twice.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bellhop_protocol::ConversationId;
use bellhop_protocol::frames::ServerFrame;
use bellhop_tests::child::ChildServer;
use bellhop_tests::{Backend, Client, TestDb, TestVisitor, both_backends, visitor_send};

both_backends!(acknowledged_messages_survive_sigkill);

const VISITORS: usize = 8;
const PER_VISITOR: usize = 200;
const WINDOW: usize = 16;
/// Kill once this many messages are acknowledged (well before all are sent).
const KILL_AFTER: usize = 500;

type Acks = Arc<Mutex<HashMap<String, (ConversationId, u64)>>>;

fn client_id(visitor: usize, i: usize) -> String {
    format!("v{visitor}-m{i}")
}

fn body(visitor: usize, i: usize) -> String {
    format!("message {i} from visitor {visitor}")
}

/// Streams this visitor's messages with up to WINDOW unacknowledged; records every ack; stops
/// when the connection breaks or all are acknowledged.
async fn stream_messages(
    client: Client,
    visitor: TestVisitor,
    n: usize,
    acks: Acks,
    acked: Arc<AtomicUsize>,
) {
    let mut ws = client.connect_visitor(&visitor, Vec::new()).await;
    let (mut next, mut in_flight) = (1, 0);
    loop {
        while in_flight < WINDOW && next <= PER_VISITOR {
            if ws
                .try_send(&visitor_send(&client_id(n, next), &body(n, next), None))
                .await
                .is_err()
            {
                return;
            }
            next += 1;
            in_flight += 1;
        }
        match ws.try_next_frame(Duration::from_secs(20)).await {
            Some(Ok(ServerFrame::Ack {
                client_id,
                conversation_id,
                seq,
                ..
            })) => {
                acks.lock()
                    .unwrap()
                    .insert(client_id.to_string(), (conversation_id, seq));
                acked.fetch_add(1, Ordering::SeqCst);
                in_flight -= 1;
            }
            Some(Ok(ServerFrame::Error { code, message, .. })) => {
                panic!("send refused: {code} {message}")
            }
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return,
        }
        if next > PER_VISITOR && in_flight == 0 {
            return;
        }
    }
}

async fn acknowledged_messages_survive_sigkill(backend: Backend) {
    let binary = env!("CARGO_BIN_EXE_bellhop-under-test");
    let db = TestDb::create(backend).await;
    let server = ChildServer::start(binary, db.url()).await;
    let client = Client::attach(server.port).await;
    let mut visitors = Vec::new();
    for _ in 0..VISITORS {
        visitors.push(client.new_visitor(&client.demo_site).await);
    }

    let acks: Acks = Arc::default();
    let acked = Arc::new(AtomicUsize::new(0));
    let streams: Vec<_> = visitors
        .iter()
        .enumerate()
        .map(|(n, visitor)| {
            tokio::spawn(stream_messages(
                client.clone(),
                visitor.clone(),
                n,
                acks.clone(),
                acked.clone(),
            ))
        })
        .collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while acked.load(Ordering::SeqCst) < KILL_AFTER {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} acks in 120 s",
            acked.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    server.kill().await;
    for stream in streams {
        tokio::time::timeout(Duration::from_secs(30), stream)
            .await
            .expect("client stops after the kill")
            .expect("client task");
    }
    let acked_before_kill = acks.lock().unwrap().clone();
    assert!(
        acked_before_kill.len() >= KILL_AFTER && acked_before_kill.len() < VISITORS * PER_VISITOR,
        "the kill must land mid-stream ({} acknowledged)",
        acked_before_kill.len()
    );

    // Restart on the same database.
    let server = ChildServer::start(binary, db.url()).await;
    let client = Client::attach(server.port).await;
    for (n, visitor) in visitors.iter().enumerate() {
        let mine: HashMap<String, (ConversationId, u64)> = acked_before_kill
            .iter()
            .filter(|(id, _)| id.starts_with(&format!("v{n}-")))
            .map(|(id, ack)| (id.clone(), *ack))
            .collect();

        // Resume from nothing: the whole conversation, in order, once.
        let (mut ws, open) = client.connect_visitor_welcome(visitor, Vec::new()).await;
        let replayed = match open.as_slice() {
            [] => Vec::new(),
            [conversation] => {
                let mut messages = Vec::new();
                while messages.len() < conversation.last_seq as usize {
                    if let ServerFrame::Message { message } = ws.next_frame().await {
                        messages.push(message);
                    }
                }
                messages
            }
            more => panic!("visitor {n} has {} open conversations", more.len()),
        };
        let seqs: Vec<u64> = replayed.iter().map(|m| m.seq).collect();
        assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
        let by_client_id: HashMap<String, u64> = replayed
            .iter()
            .filter_map(|m| m.client_id.as_ref().map(|c| (c.to_string(), m.seq)))
            .collect();
        assert_eq!(
            by_client_id.len(),
            replayed.iter().filter(|m| m.client_id.is_some()).count(),
            "visitor {n}: a client id is stored twice"
        );
        for (id, (_, seq)) in &mine {
            assert_eq!(
                by_client_id.get(id),
                Some(seq),
                "visitor {n}: acknowledged message {id} lost or moved"
            );
        }

        // Resend everything: acknowledged ones get their original seq back, the rest are
        // stored now, and nothing is stored twice.
        for i in 1..=PER_VISITOR {
            ws.send(&visitor_send(&client_id(n, i), &body(n, i), None))
                .await;
        }
        let mut conversation = None;
        let mut answered = 0;
        while answered < PER_VISITOR {
            match ws.next_frame().await {
                ServerFrame::Ack {
                    client_id,
                    seq,
                    conversation_id,
                    ..
                } => {
                    answered += 1;
                    conversation = Some(conversation_id);
                    if let Some((_, original)) = mine.get(client_id.as_str()) {
                        assert_eq!(seq, *original, "resend of {client_id} got a new seq");
                    }
                }
                ServerFrame::Error { code, message, .. } => {
                    panic!("resend refused: {code} {message}")
                }
                _ => {}
            }
        }
        let conversation = conversation.expect("at least one ack");
        let page = client.transcript(conversation, &visitor.token).await;
        let mut ids: Vec<String> = page
            .messages
            .iter()
            .filter_map(|m| m.client_id.as_ref().map(|c| c.to_string()))
            .collect();
        ids.sort();
        let mut expected: Vec<String> = (1..=PER_VISITOR).map(|i| client_id(n, i)).collect();
        expected.sort();
        assert_eq!(ids, expected, "visitor {n}: every message exactly once");
        // Plus the one automatic acknowledgement.
        assert_eq!(page.messages.len(), PER_VISITOR + 1);
    }
    server.kill().await;
}
