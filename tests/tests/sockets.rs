//! The socket layer's edges: repeated and impossible resume points, a store that fails during
//! `hello`, ack latency on a busy socket (Nagle) and closing without lingering.

use std::time::{Duration, Instant};

use bellhop_protocol::frames::{ResumePoint, ServerFrame, VisitorFrame};
use bellhop_protocol::{ConversationId, ErrorCode, PROTOCOL_VERSION};
use bellhop_tests::{
    Backend, TestApp, TestVisitor, WsClient, agent_says, both_backends, next_assignment, spawn_app,
    visitor_send,
};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

both_backends!(
    repeated_resume_points_replay_each_message_once,
    a_resume_point_beyond_the_end_is_clamped_and_live_messages_still_arrive,
    a_store_error_during_hello_is_an_internal_error_not_an_empty_welcome,
    acks_are_not_held_back_by_nagle_on_a_busy_socket,
    a_client_close_ends_the_connection_at_once,
);

/// Opens a chat and sends until the conversation holds `last` messages (the automatic
/// acknowledgement is seq 2); returns the visitor, its socket and the conversation.
/// Every `message` frame's seq until nothing arrives for `quiet`.
async fn seqs_until_quiet(ws: &mut WsClient, quiet: Duration) -> Vec<u64> {
    let mut seqs = Vec::new();
    while let Some(frame) = ws.try_next_frame(quiet).await {
        match frame {
            Ok(ServerFrame::Message { message }) => seqs.push(message.seq),
            Ok(_) => {}
            Err(ended) => panic!("the connection ended: {ended:?}"),
        }
    }
    seqs
}

fn point(conversation_id: ConversationId, last_seq: u64) -> ResumePoint {
    ResumePoint {
        conversation_id,
        last_seq,
    }
}

/// After a hand-written `hello`: the `welcome`, then the seqs of the messages replayed.
async fn replay_after_welcome(ws: &mut WsClient) -> Vec<u64> {
    let welcome = ws.next_frame().await;
    assert!(
        matches!(welcome, ServerFrame::Welcome { .. }),
        "{welcome:?}"
    );
    seqs_until_quiet(ws, Duration::from_millis(700)).await
}

/// A `hello` naming one conversation twice is served from the lower point, each message once.
async fn repeated_resume_points_replay_each_message_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let (agent, mut agent_ws) = app.online_agent("Rita Resume", 3).await;
    let (visitor, visitor_ws, conversation) = app.chat_with_messages(12).await;
    next_assignment(&mut agent_ws).await;
    visitor_ws.close().await;
    agent_ws.close().await;

    // The client core does not know these points, so this test checks the order itself.
    let resume = vec![point(conversation, 5), point(conversation, 8)];
    let mut ws = app.visitor_hello(&visitor, &visitor.token, resume).await;
    ws.allow_disorder();
    assert_eq!(
        replay_after_welcome(&mut ws).await,
        (6..=12).collect::<Vec<_>>(),
        "the visitor gets 6..=12, each once"
    );

    let resume = vec![point(conversation, 10), point(conversation, 11)];
    let mut ws = app.agent_hello(Some(&agent.token), resume).await;
    ws.allow_disorder();
    assert_eq!(
        replay_after_welcome(&mut ws).await,
        vec![11, 12],
        "the agent gets 11 and 12, each once"
    );
}

/// A `last_seq` past the conversation's last message is clamped to it: `welcome` says so, and
/// the socket still receives the conversation's next messages.
async fn a_resume_point_beyond_the_end_is_clamped_and_live_messages_still_arrive(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, mut agent_ws) = app.online_agent("Cleo Clamp", 3).await;
    let (visitor, visitor_ws, conversation) = app.chat_with_messages(4).await;
    next_assignment(&mut agent_ws).await;
    visitor_ws.close().await;

    // The client core does not know this point, so this test checks the order itself.
    let resume = vec![point(conversation, 1 << 40)];
    let mut ws = app.visitor_hello(&visitor, &visitor.token, resume).await;
    ws.allow_disorder();
    match ws.next_frame().await {
        ServerFrame::Welcome { clamped, .. } => {
            assert_eq!(clamped, vec![point(conversation, 4)]);
        }
        other => panic!("expected welcome, got {other:?}"),
    }
    assert_eq!(
        seqs_until_quiet(&mut ws, Duration::from_millis(500)).await,
        Vec::<u64>::new(),
        "nothing after the real end to replay"
    );

    agent_says(&mut agent_ws, "reply-1", "Still there?", conversation).await;
    assert_eq!(
        seqs_until_quiet(&mut ws, Duration::from_millis(700)).await,
        vec![5],
        "the live reply reaches the resumed socket"
    );
}

/// Runs one statement against the test's database from outside the server.
async fn execute(backend: Backend, url: &str, sql: &str) {
    use sqlx::Connection;
    match backend {
        Backend::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
            sqlx::query(sql).execute(&mut conn).await.unwrap();
            conn.close().await.unwrap();
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::query(sql).execute(&mut conn).await.unwrap();
            conn.close().await.unwrap();
        }
    }
}

/// The next frame after `hello` must be `error internal`, then close 1011 (so the client
/// retries), never a `welcome` that lists no conversations.
async fn expect_internal_and_1011(ws: &mut WsClient, who: &str) {
    match ws.next_frame().await {
        ServerFrame::Error { code, .. } => assert_eq!(code, ErrorCode::Internal, "{who}"),
        other => panic!("{who}: expected error internal, got {other:?}"),
    }
    assert_eq!(ws.expect_close().await, Some(1011), "{who}");
}

async fn a_store_error_during_hello_is_an_internal_error_not_an_empty_welcome(backend: Backend) {
    let app = spawn_app(backend).await;
    let agent = app
        .create_agent("Ivy Internal", 3, &[app.demo_site.id])
        .await;
    let (visitor, visitor_ws, _conversation) =
        app.open_chat(&app.demo_site, None, "are you there?").await;
    visitor_ws.close().await;

    execute(
        backend,
        app.db.url(),
        "ALTER TABLE conversations RENAME TO conversations_unavailable",
    )
    .await;
    let mut ws = app
        .visitor_hello(&visitor, &visitor.token, Vec::new())
        .await;
    expect_internal_and_1011(&mut ws, "visitor").await;
    let mut ws = app.agent_hello(Some(&agent.token), Vec::new()).await;
    expect_internal_and_1011(&mut ws, "agent").await;

    // Once the database is back, the retry gets the conversation.
    execute(
        backend,
        app.db.url(),
        "ALTER TABLE conversations_unavailable RENAME TO conversations",
    )
    .await;
    let (_ws, open) = app.connect_visitor_welcome(&visitor, Vec::new()).await;
    assert_eq!(open.len(), 1);
}

/// A visitor socket with Nagle's algorithm off on the client, so only the server's side is
/// measured.
async fn connect_no_delay(
    app: &TestApp,
    visitor: &TestVisitor,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let url = app.ws_url(&format!("/ws/v1/visitor?key={}", visitor.widget_key));
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Origin", HeaderValue::from_str(&visitor.origin).unwrap());
    let (ws, _) = tokio_tungstenite::connect_async_with_config(request, None, true)
        .await
        .unwrap();
    ws
}

fn text<T: serde::Serialize>(frame: &T) -> WsMessage {
    WsMessage::text(serde_json::to_string(frame).unwrap())
}

/// With a send every 30 ms, each ack used to wait for the client's next frame or the ~40 ms
/// delayed-ACK timer (p50 ≈ 31 ms). The figures go to docs/benchmarks.md; the assertion only
/// catches that stall (a median far below it), not a speed.
async fn acks_are_not_held_back_by_nagle_on_a_busy_socket(backend: Backend) {
    const SENDS: usize = 40;
    let app = spawn_app(backend).await;
    let (visitor, ws, conversation) = app.open_chat(&app.demo_site, None, "hello").await;
    ws.close().await;
    let mut ws = connect_no_delay(&app, &visitor).await;
    ws.send(text(&VisitorFrame::Hello {
        v: PROTOCOL_VERSION,
        token: visitor.token.clone(),
        resume: vec![point(conversation, 2)],
    }))
    .await
    .unwrap();

    let (mut sink, mut stream) = ws.split();
    let sender = tokio::spawn(async move {
        let mut sent_at = Vec::with_capacity(SENDS);
        let mut tick = tokio::time::interval(Duration::from_millis(30));
        for i in 0..SENDS {
            tick.tick().await;
            sent_at.push(Instant::now());
            sink.send(text(&visitor_send(
                &format!("lat-{i}"),
                &format!("ping {i}"),
                Some(conversation),
            )))
            .await
            .unwrap();
        }
        (sink, sent_at)
    });
    let mut acked_at = vec![None; SENDS];
    let deadline = Instant::now() + Duration::from_secs(30);
    while acked_at.iter().any(Option::is_none) && Instant::now() < deadline {
        let Ok(Some(Ok(WsMessage::Text(json)))) =
            tokio::time::timeout(Duration::from_secs(10), stream.next()).await
        else {
            continue;
        };
        if let Ok(ServerFrame::Ack { client_id, .. }) = serde_json::from_str(&json)
            && let Some(i) = client_id
                .as_str()
                .strip_prefix("lat-")
                .and_then(|n| n.parse::<usize>().ok())
        {
            acked_at[i] = Some(Instant::now());
        }
    }
    let (_sink, sent_at) = sender.await.unwrap();
    let mut latencies: Vec<Duration> = sent_at
        .iter()
        .zip(&acked_at)
        .map(|(sent, acked)| acked.expect("every send is acked") - *sent)
        .collect();
    latencies.sort();
    let median = latencies[SENDS / 2];
    let p90 = latencies[SENDS * 9 / 10];
    println!(
        "{backend:?}: send→ack with a send every 30 ms: median {median:?}, p90 {p90:?}, max {:?}",
        latencies[SENDS - 1]
    );
    assert!(
        median < Duration::from_millis(20),
        "acks wait for the client's next frame (median {median:?}): is TCP_NODELAY set?"
    );
}

/// After the client's close frame the server answers and closes the TCP connection right away
/// (RFC 6455 §7.1.1), instead of keeping it for seconds.
async fn a_client_close_ends_the_connection_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let visitor = app.new_visitor(&app.demo_site).await;
    let mut ws = connect_no_delay(&app, &visitor).await;
    ws.send(text(&VisitorFrame::Hello {
        v: PROTOCOL_VERSION,
        token: visitor.token.clone(),
        resume: Vec::new(),
    }))
    .await
    .unwrap();
    let welcome = ws.next().await;
    assert!(matches!(welcome, Some(Ok(WsMessage::Text(_)))));

    let started = Instant::now();
    ws.close(None).await.unwrap();
    // Read until the server's close frame and then the end of the TCP stream.
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
    let lingered = started.elapsed();
    println!("{backend:?}: the TCP connection ended {lingered:?} after the client's close");
    assert!(ended.is_ok(), "the server never closed the connection");
    assert!(
        lingered < Duration::from_millis(1000),
        "the connection stayed open {lingered:?} after the close handshake"
    );
}
