//! First routing: assignment under caps, the FIFO queue, and draining it when a slot frees.

use bellhop_protocol::frames::{AgentFrame, ServerFrame};
use bellhop_protocol::{ConversationId, ErrorCode};
use bellhop_tests::{Backend, WsClient, both_backends, spawn_app};

both_backends!(
    a_third_chat_waits_for_a_cap_of_two_and_gets_the_freed_slot,
    a_waiting_chat_is_assigned_when_an_agent_comes_online,
);

async fn assigned_id(ws: &mut WsClient) -> ConversationId {
    match ws
        .expect("assignment", |f| {
            matches!(f, ServerFrame::ConversationAssigned { .. })
        })
        .await
    {
        ServerFrame::ConversationAssigned { conversation } => conversation.id,
        _ => unreachable!(),
    }
}

/// An agent with cap 2 gets chats 1 and 2; chat 3 waits (position 1) and is assigned the moment
/// chat 1 closes.
async fn a_third_chat_waits_for_a_cap_of_two_and_gets_the_freed_slot(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, mut agent_ws) = app.online_agent("Cap Two", 2).await;

    let mut visitors = Vec::new();
    let mut chats = Vec::new();
    for i in 1..=3 {
        let text = format!("I am visitor {i}");
        let (_, mut ws, conversation_id) = app.open_chat(&app.demo_site, None, &text).await;
        chats.push(conversation_id);
        if i <= 2 {
            assert_eq!(assigned_id(&mut ws).await, conversation_id);
            assert_eq!(assigned_id(&mut agent_ws).await, conversation_id);
        } else {
            let status = ws
                .expect("queue status", |f| {
                    matches!(f, ServerFrame::QueueStatus { .. })
                })
                .await;
            assert!(
                matches!(status, ServerFrame::QueueStatus { position: 1, conversation_id: c, .. } if c == conversation_id),
                "{status:?}"
            );
        }
        visitors.push(ws);
    }
    // Chat 3 stays queued while the agent is full.
    visitors[2]
        .expect_silence(std::time::Duration::from_millis(500))
        .await;
    assert!(
        !visitors[2]
            .skipped()
            .any(|f| matches!(f, ServerFrame::ConversationAssigned { .. })),
        "chat 3 was assigned beyond the cap"
    );

    agent_ws
        .send(&AgentFrame::Close {
            conversation_id: chats[0],
        })
        .await;
    let closed = visitors[0]
        .expect("close", |f| {
            matches!(f, ServerFrame::ConversationClosed { .. })
        })
        .await;
    assert!(
        matches!(closed, ServerFrame::ConversationClosed { conversation } if conversation.id == chats[0])
    );
    assert_eq!(assigned_id(&mut visitors[2]).await, chats[2]);
    assert_eq!(assigned_id(&mut agent_ws).await, chats[2]);

    // Closing again is refused with a clear code; nothing else changes.
    agent_ws
        .send(&AgentFrame::Close {
            conversation_id: chats[0],
        })
        .await;
    assert_eq!(
        agent_ws.expect_error().await.0,
        ErrorCode::ConversationClosed
    );
}

/// A chat that arrives while nobody is online waits, and goes to the first agent who connects.
async fn a_waiting_chat_is_assigned_when_an_agent_comes_online(backend: Backend) {
    let app = spawn_app(backend).await;
    let agent = app.create_agent("Late Larry", 3, &[app.demo_site.id]).await;
    let (_, mut ws, conversation_id) = app.open_chat(&app.demo_site, None, "anyone there?").await;
    ws.expect("queue status", |f| {
        matches!(f, ServerFrame::QueueStatus { position: 1, .. })
    })
    .await;

    let mut agent_ws = app.connect_agent(&agent).await;
    assert_eq!(assigned_id(&mut agent_ws).await, conversation_id);
    assert_eq!(assigned_id(&mut ws).await, conversation_id);
}
