//! Durable, ordered, exactly-once delivery between visitors and agents.

use std::collections::HashSet;
use std::time::Duration;

use bellhop_protocol::frames::{AuthorKind, ResumePoint, ServerFrame};
use bellhop_protocol::{ConversationId, ErrorCode, close_code};
use bellhop_tests::{
    Backend, WsClient, agent_says, agent_send, both_backends, is_ack_of, next_assignment,
    next_message, spawn_app, visitor_says, visitor_send,
};

both_backends!(
    visitor_and_agent_exchange_messages_in_order,
    a_resend_is_idempotent_and_a_changed_body_is_refused,
    resume_yields_exactly_the_missed_messages,
    shutdown_closes_sockets_with_going_away,
    a_silent_client_is_dropped_after_the_timeout,
    a_client_that_stops_reading_is_dropped_without_stalling_others,
    typing_reaches_the_other_side_only,
);

/// The visitor sends n messages; the agent receives seq 1..=n+1 (with the automatic
/// acknowledgement at seq 2) in order; the agent's reply reaches the visitor.
async fn visitor_and_agent_exchange_messages_in_order(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, mut agent_ws) = app.online_agent("Ann Agent", 3).await;
    let visitor = app.new_visitor(&app.demo_site).await;
    let mut visitor_ws = app.connect_visitor(&visitor, Vec::new()).await;

    const N: u64 = 25;
    // Pipelined: all sends go out before any ack is read.
    for i in 1..=N {
        visitor_ws
            .send(&visitor_send(
                &format!("v-{i}"),
                &format!("question {i}"),
                None,
            ))
            .await;
    }
    let mut acked = Vec::new();
    let mut visitor_seen = Vec::new();
    let mut served_by = None;
    while acked.len() < N as usize || visitor_seen.len() < (N + 1) as usize {
        match visitor_ws.next_frame().await {
            ServerFrame::Ack { client_id, seq, .. } => acked.push((client_id.to_string(), seq)),
            ServerFrame::Message { message } => visitor_seen.push(message),
            ServerFrame::ConversationAssigned { conversation } => served_by = conversation.agent,
            _ => {}
        }
    }
    // Acks come in send order; seq 2 is the automatic acknowledgement.
    let expected: Vec<(String, u64)> = (1..=N)
        .map(|i| (format!("v-{i}"), if i == 1 { 1 } else { i + 1 }))
        .collect();
    assert_eq!(acked, expected);
    let seqs: Vec<u64> = visitor_seen.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=N + 1).collect::<Vec<_>>());
    assert_eq!(visitor_seen[1].author, AuthorKind::System);
    assert_eq!(visitor_seen[1].body, app.demo_site.auto_reply);

    // The agent was assigned the chat and holds the whole of it, in order, once.
    let conversation = next_assignment(&mut agent_ws).await;
    assert_eq!(conversation.visitor_id, visitor.visitor_id);
    let mut agent_seen = Vec::new();
    while agent_seen.len() < (N + 1) as usize {
        agent_seen.push(next_message(&mut agent_ws).await);
    }
    let seqs: Vec<u64> = agent_seen.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=N + 1).collect::<Vec<_>>());
    assert_eq!(agent_seen[0].body, "question 1");
    assert_eq!(agent_seen[N as usize].body, format!("question {N}"));

    // The visitor hears who serves them, then the reply.
    if served_by.is_none() {
        let conversation = next_assignment(&mut visitor_ws).await;
        served_by = conversation.agent;
    }
    assert_eq!(
        served_by.map(|a| a.display_name),
        Some("Ann Agent".to_owned())
    );
    agent_ws
        .send(&agent_send(
            "a-1",
            "Hello, how can I help?",
            conversation.id,
        ))
        .await;
    let ack = agent_ws.expect("agent ack", is_ack_of("a-1")).await;
    assert!(matches!(ack, ServerFrame::Ack { seq, .. } if seq == N + 2));
    let reply = next_message(&mut visitor_ws).await;
    assert_eq!(reply.seq, N + 2);
    assert_eq!(reply.author, AuthorKind::Agent);
    assert_eq!(reply.author_name.as_deref(), Some("Ann Agent"));
    assert_eq!(reply.body, "Hello, how can I help?");
}

/// Resending with the same client id stores one message and returns the same seq, also from a
/// new connection; another body under that id is refused with `client_id_conflict`.
async fn a_resend_is_idempotent_and_a_changed_body_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let visitor = app.new_visitor(&app.demo_site).await;
    let mut ws = app.connect_visitor(&visitor, Vec::new()).await;

    ws.send(&visitor_send("same-id", "Where is my order?", None))
        .await;
    let first = ws.expect("first ack", is_ack_of("same-id")).await;
    let ServerFrame::Ack {
        seq,
        conversation_id,
        ..
    } = first
    else {
        unreachable!()
    };
    ws.send(&visitor_send("same-id", "Where is my order?", None))
        .await;
    let again = ws.expect("second ack", is_ack_of("same-id")).await;
    assert!(
        matches!(again, ServerFrame::Ack { seq: s, conversation_id: c, .. } if s == seq && c == conversation_id)
    );

    ws.send(&visitor_send("same-id", "Something else entirely", None))
        .await;
    assert_eq!(
        ws.expect_error().await,
        (ErrorCode::ClientIdConflict, Some("same-id".to_owned()))
    );

    // From a fresh connection (the client reconnected before seeing the ack).
    ws.close().await;
    let mut ws = app.connect_visitor(&visitor, Vec::new()).await;
    ws.send(&visitor_send(
        "same-id",
        "Where is my order?",
        Some(conversation_id),
    ))
    .await;
    let third = ws.expect("ack after reconnect", is_ack_of("same-id")).await;
    assert!(matches!(third, ServerFrame::Ack { seq: s, .. } if s == seq));

    let page = app.transcript(conversation_id, &visitor.token).await;
    let stored: Vec<_> = page
        .messages
        .iter()
        .filter(|m| m.client_id.as_ref().map(|c| c.as_str()) == Some("same-id"))
        .collect();
    assert_eq!(stored.len(), 1, "{:?}", page.messages);
    assert_eq!(stored[0].body, "Where is my order?");
    // The message and the automatic acknowledgement, nothing else.
    assert_eq!(page.messages.len(), 2);
}

/// A client that resumes with `last_seq = k` gets exactly k+1..n, in order, then live traffic.
async fn resume_yields_exactly_the_missed_messages(backend: Backend) {
    let app = spawn_app(backend).await;
    let (agent, mut agent_ws) = app.online_agent("Rita Resume", 3).await;
    // Six messages and the automatic acknowledgement: seq 1 to 7.
    let (visitor, ws, _) = app.chat_with_messages(7).await;
    let conversation = next_assignment(&mut agent_ws).await;
    ws.close().await;

    // While the visitor is away, the agent answers three times: seq 8, 9, 10.
    for i in 1..=3 {
        agent_says(
            &mut agent_ws,
            &format!("r{i}"),
            &format!("answer {i}"),
            conversation.id,
        )
        .await;
    }
    let mut n = 10;

    for k in [0u64, 4, 7, 9, 10] {
        let mut ws = app
            .connect_visitor(
                &visitor,
                vec![ResumePoint {
                    conversation_id: conversation.id,
                    last_seq: k,
                }],
            )
            .await;
        let mut got = Vec::new();
        while got.len() < (n - k) as usize {
            got.push(next_message(&mut ws).await.seq);
        }
        assert_eq!(got, (k + 1..=n).collect::<Vec<_>>(), "resume from {k}");
        // Nothing more is replayed: the next message is the next live one.
        let id = format!("after-{k}");
        ws.send(&visitor_send(&id, "still there?", Some(conversation.id)))
            .await;
        let next = next_message(&mut ws).await;
        n += 1;
        assert_eq!(next.seq, n);
        assert_eq!(next.client_id.as_ref().map(|c| c.to_string()), Some(id));
        ws.close().await;
    }

    // Every message the agent has is unique and in order.
    let page = app.transcript(conversation.id, &agent.token).await;
    let seqs: Vec<u64> = page.messages.iter().map(|m| m.seq).collect();
    let unique: HashSet<u64> = seqs.iter().copied().collect();
    assert_eq!(unique.len(), seqs.len());
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
}

/// Graceful shutdown tells every socket to go away (1001).
async fn shutdown_closes_sockets_with_going_away(backend: Backend) {
    let mut app = spawn_app(backend).await;
    let visitor = app.new_visitor(&app.demo_site).await;
    let mut ws = app.connect_visitor(&visitor, Vec::new()).await;
    visitor_says(&mut ws, "before-stop", "hello", None).await;
    let stopping = tokio::spawn(async move {
        app.stop().await;
        app
    });
    assert_eq!(ws.expect_close().await, Some(close_code::GOING_AWAY));
    let _app = tokio::time::timeout(Duration::from_secs(20), stopping)
        .await
        .expect("shutdown finishes")
        .expect("shutdown task");
}

/// A client that stops answering heartbeats is closed with 4003; others are unaffected.
async fn a_silent_client_is_dropped_after_the_timeout(backend: Backend) {
    let app = bellhop_tests::spawn_app_with(backend, |config| {
        config.ws.heartbeat_interval_ms = 100;
        config.ws.client_timeout_ms = 600;
    })
    .await;
    let visitor = app.new_visitor(&app.demo_site).await;
    let mut silent = app.connect_visitor(&visitor, Vec::new()).await;
    let mut lively = app.connect_visitor(&visitor, Vec::new()).await;
    // `lively` keeps reading, so its client answers pings; `silent` reads nothing for a while.
    let deadline = tokio::time::Instant::now() + Duration::from_millis(1500);
    while tokio::time::Instant::now() < deadline {
        let _ = lively.try_next_frame(Duration::from_millis(50)).await;
    }
    assert_eq!(silent.expect_close().await, Some(close_code::TIMED_OUT));
    visitor_says(&mut lively, "alive", "still here", None).await;
}

/// An agent whose console stops reading (TCP window full) is disconnected instead of holding
/// anything up: the visitor's sends keep being acknowledged, another chat carries on, and the
/// agent, once back, resumes with every message exactly once and in order.
async fn a_client_that_stops_reading_is_dropped_without_stalling_others(backend: Backend) {
    let app = bellhop_tests::spawn_app_with(backend, |config| {
        config.ws.outbound_queue = 64;
        // A client that reads nothing answers no ping either. The heartbeat timeout is kept far
        // beyond the flood's length so that the full queue, not the missing pongs, is what ends
        // the socket, however slowly a loaded machine commits (a silent client has its own test).
        config.ws.client_timeout_ms = 60_000;
    })
    .await;
    let (stuck_agent, mut stuck) = app.online_agent("Stuck Stan", 3).await;
    let (_, mut flood, conversation_id) = app.open_chat(&app.demo_site, None, "hello").await;
    // The stuck agent got the chat; from here on nobody reads its socket.
    let other_site = app
        .create_site("Elsewhere", &["https://elsewhere.example"])
        .await;
    let calm_agent = app.create_agent("Calm Cleo", 3, &[other_site.id]).await;
    let mut calm = app.connect_agent(&calm_agent).await;
    let calm_visitor = app.new_visitor(&other_site).await;
    let mut calm_ws = app.connect_visitor(&calm_visitor, Vec::new()).await;

    // 12 MB: more than the kernel's socket buffers hold for a client that never reads.
    const FLOOD: usize = 3000;
    let body = "x".repeat(4000);
    let mut sent = 0;
    let mut acked = 0;
    let mut round_trips = 0;
    while acked < FLOOD {
        while sent < FLOOD && sent - acked < 16 {
            sent += 1;
            flood
                .send(&visitor_send(
                    &format!("f-{sent}"),
                    &body,
                    Some(conversation_id),
                ))
                .await;
        }
        flood
            .expect("ack", |f| matches!(f, ServerFrame::Ack { .. }))
            .await;
        acked += 1;
        // The echoes of our own messages are not what this test is about.
        flood.clear_skipped();
        // Meanwhile the other chat goes on as usual.
        if acked % 500 == 0 {
            round_trips += 1;
            let id = format!("calm-{round_trips}");
            visitor_says(&mut calm_ws, &id, "all fine here?", None).await;
            calm.expect("the calm chat's message", |f| {
                matches!(f, ServerFrame::Message { message } if message.client_id.as_ref().map(|c| c.as_str()) == Some(id.as_str()))
            })
            .await;
        }
    }
    // The hub has given up on the stuck socket: reading it now yields what was already written
    // or queued, then the too-slow close.
    let mut received = 0usize;
    let ended = loop {
        match stuck.try_next_frame(Duration::from_secs(5)).await {
            Some(Ok(_)) => received += 1,
            Some(Err(ended)) => break ended,
            None => panic!("the stuck socket is still open after {received} frames"),
        }
    };
    match &ended {
        bellhop_tests::ws::Ended::Closed(Some(frame)) => {
            assert_eq!(u16::from(frame.code), close_code::TOO_SLOW);
        }
        other => panic!("the stuck socket ended without the too-slow close code: {other:?}"),
    }
    assert!(
        received < FLOOD,
        "the stuck client was sent everything ({received} frames)"
    );
    // Back online, the agent gets the whole conversation once, in order.
    let mut back = app.connect_agent(&stuck_agent).await;
    let total = FLOOD as u64 + 2;
    let mut seqs = Vec::with_capacity(total as usize);
    while seqs.len() < total as usize {
        let message = next_message(&mut back).await;
        assert_eq!(message.conversation_id, conversation_id);
        seqs.push(message.seq);
    }
    assert_eq!(seqs, (1..=total).collect::<Vec<_>>());
    back.expect_silence(Duration::from_millis(300)).await;
}

/// Waits for a `typing` frame; returns who types, whether they do, and where.
async fn next_typing(ws: &mut WsClient) -> (AuthorKind, bool, ConversationId) {
    let is_typing = |f: &ServerFrame| matches!(f, ServerFrame::Typing { .. });
    match ws.expect("typing", is_typing).await {
        ServerFrame::Typing {
            author,
            typing,
            conversation_id,
        } => (author, typing, conversation_id),
        _ => unreachable!(),
    }
}

/// Typing indicators go to the other side of the conversation and nowhere else.
async fn typing_reaches_the_other_side_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, mut agent_ws) = app.online_agent("Tina Typist", 3).await;
    let (_, mut ws, conversation_id) = app.assigned_chat(&mut agent_ws, "hello").await;

    ws.send(&bellhop_protocol::frames::VisitorFrame::Typing {
        conversation_id,
        typing: true,
    })
    .await;
    assert_eq!(
        next_typing(&mut agent_ws).await,
        (AuthorKind::Visitor, true, conversation_id)
    );
    agent_ws
        .send(&bellhop_protocol::frames::AgentFrame::Typing {
            conversation_id,
            typing: true,
        })
        .await;
    assert_eq!(
        next_typing(&mut ws).await,
        (AuthorKind::Agent, true, conversation_id)
    );

    // A stranger cannot type into it, and is told so.
    let stranger = app.new_visitor(&app.demo_site).await;
    let mut stranger_ws = app.connect_visitor(&stranger, Vec::new()).await;
    stranger_ws
        .send(&bellhop_protocol::frames::VisitorFrame::Typing {
            conversation_id,
            typing: true,
        })
        .await;
    assert_eq!(stranger_ws.next_error().await.0, ErrorCode::NotFound);
    agent_ws.clear_skipped();
    while let Some(frame) = agent_ws.try_next_frame(Duration::from_millis(300)).await {
        assert!(
            !matches!(frame, Ok(ServerFrame::Typing { .. })),
            "a stranger's typing reached the agent"
        );
    }
}
