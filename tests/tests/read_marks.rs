//! Read marks: each side says how far it has read; the other side hears it, the position is
//! stored (it survives a reconnect) and it never moves back or past the last message.

use std::time::Duration;

use bellhop_protocol::ErrorCode;
use bellhop_protocol::frames::{AgentFrame, AuthorKind, Conversation, ServerFrame, VisitorFrame};
use bellhop_tests::{Backend, WsClient, agent_says, both_backends, spawn_app};

both_backends!(
    each_side_hears_the_others_read_mark_and_it_survives_a_reconnect,
    only_the_parties_may_mark,
);

/// The next `read` frame's reader and seq.
async fn next_read(ws: &mut WsClient) -> (AuthorKind, u64) {
    match ws
        .expect("a read mark", |f| matches!(f, ServerFrame::Read { .. }))
        .await
    {
        ServerFrame::Read { reader, seq, .. } => (reader, seq),
        _ => unreachable!(),
    }
}

/// No `read` frame arrives on `ws` for `wait`.
async fn no_read(ws: &mut WsClient, wait: Duration, who: &str) {
    assert!(
        !ws.skipped().any(|f| matches!(f, ServerFrame::Read { .. })),
        "{who} got a read mark"
    );
    while let Some(frame) = ws.try_next_frame(wait).await {
        assert!(
            !matches!(frame, Ok(ServerFrame::Read { .. })),
            "{who} got a read mark: {frame:?}"
        );
    }
}

fn visitor_read(conversation_id: bellhop_protocol::ConversationId, seq: u64) -> VisitorFrame {
    VisitorFrame::Read {
        conversation_id,
        seq,
    }
}

fn agent_read(conversation_id: bellhop_protocol::ConversationId, seq: u64) -> AgentFrame {
    AgentFrame::Read {
        conversation_id,
        seq,
    }
}

async fn each_side_hears_the_others_read_mark_and_it_survives_a_reconnect(backend: Backend) {
    let app = spawn_app(backend).await;
    let (agent, mut agent_ws) = app.online_agent("Rita Reader", 3).await;
    // seq 1 "hello", seq 2 the automatic acknowledgement, seq 3 the agent's answer.
    let (visitor, mut ws, chat) = app.assigned_chat(&mut agent_ws, "hello").await;
    agent_says(&mut agent_ws, "answer", "Hi! How can I help?", chat).await;
    let mut other_tab = app.connect_visitor(&visitor, Vec::new()).await;
    let mut agent_tab = app.connect_agent(&agent).await;

    // The visitor read everything: the agent hears it, and so does the visitor's other tab.
    ws.send(&visitor_read(chat, 3)).await;
    assert_eq!(next_read(&mut agent_ws).await, (AuthorKind::Visitor, 3));
    assert_eq!(next_read(&mut other_tab).await, (AuthorKind::Visitor, 3));
    no_read(
        &mut ws,
        Duration::from_millis(200),
        "the tab that marked it",
    )
    .await;

    // The agent read the visitor's message: the visitor hears it, and the agent's other tab.
    agent_ws.send(&agent_read(chat, 1)).await;
    assert_eq!(next_read(&mut ws).await, (AuthorKind::Agent, 1));
    // (The agent's other tab heard the visitor's mark too.)
    assert_eq!(next_read(&mut agent_tab).await, (AuthorKind::Visitor, 3));
    assert_eq!(next_read(&mut agent_tab).await, (AuthorKind::Agent, 1));

    // A lower mark moves nothing and tells nobody; one beyond the last message is clamped.
    other_tab.send(&visitor_read(chat, 2)).await;
    agent_ws.send(&agent_read(chat, 99)).await;
    assert_eq!(next_read(&mut ws).await, (AuthorKind::Agent, 3));
    no_read(&mut agent_ws, Duration::from_millis(300), "the agent").await;

    // Both positions are stored: the visitor's welcome and the agent's REST view carry them.
    let (_, conversations) = app.connect_visitor_welcome(&visitor, Vec::new()).await;
    let open: Vec<&Conversation> = conversations.iter().filter(|c| c.id == chat).collect();
    assert_eq!(open.len(), 1, "{conversations:?}");
    assert_eq!((open[0].visitor_read_seq, open[0].agent_read_seq), (3, 3));
    let seen: Conversation = app
        .get_json(&format!("/api/v1/conversations/{chat}"), &agent.token)
        .await;
    assert_eq!((seen.visitor_read_seq, seen.agent_read_seq), (3, 3));
}

async fn only_the_parties_may_mark(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, mut agent_ws) = app.online_agent("Olga Owner", 3).await;
    let (_, _ws, chat) = app.assigned_chat(&mut agent_ws, "hello").await;

    // Another visitor: as if the conversation did not exist.
    let stranger = app.new_visitor(&app.demo_site).await;
    let mut stranger_ws = app.connect_visitor(&stranger, Vec::new()).await;
    stranger_ws.send(&visitor_read(chat, 1)).await;
    assert_eq!(stranger_ws.expect_error().await.0, ErrorCode::NotFound);

    // A colleague on the same site who does not serve it: forbidden.
    let (_, mut colleague) = app.online_agent("Carl Colleague", 3).await;
    colleague.send(&agent_read(chat, 1)).await;
    assert_eq!(colleague.expect_error().await.0, ErrorCode::Forbidden);

    no_read(
        &mut agent_ws,
        Duration::from_millis(300),
        "the serving agent",
    )
    .await;
    let seen: Conversation = app
        .get_json(&format!("/api/v1/conversations/{chat}"), &app.admin_token)
        .await;
    assert_eq!((seen.visitor_read_seq, seen.agent_read_seq), (0, 0));
}
