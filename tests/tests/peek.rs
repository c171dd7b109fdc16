//! Sneak peek: the serving agent sees what the visitor is typing, masked, and nobody else
//! does; nothing of it is stored.

use std::time::Duration;

use bellhop_protocol::ErrorCode;
use bellhop_protocol::frames::{ServerFrame, VisitorFrame};
use bellhop_tests::{Backend, WsClient, both_backends, spawn_app};

both_backends!(
    the_serving_agent_alone_sees_the_masked_draft_and_nothing_is_stored,
    a_flood_of_drafts_arrives_coalesced_with_the_last_one_intact,
    a_queued_chat_relays_nothing_and_a_strangers_chat_is_not_found,
);

fn peek(conversation_id: bellhop_protocol::ConversationId, text: &str) -> VisitorFrame {
    VisitorFrame::Peek {
        conversation_id,
        text: text.into(),
    }
}

/// The text of the next `peek` frame.
async fn next_peek(ws: &mut WsClient) -> String {
    match ws
        .expect("a peek", |f| matches!(f, ServerFrame::Peek { .. }))
        .await
    {
        ServerFrame::Peek { text, .. } => text,
        _ => unreachable!(),
    }
}

/// No `peek` frame arrives on `ws` for `wait`.
async fn no_peek(ws: &mut WsClient, wait: Duration, who: &str) {
    assert!(
        !ws.skipped().any(|f| matches!(f, ServerFrame::Peek { .. })),
        "{who} got a peek"
    );
    while let Some(frame) = ws.try_next_frame(wait).await {
        assert!(
            !matches!(frame, Ok(ServerFrame::Peek { .. })),
            "{who} got a peek: {frame:?}"
        );
    }
}

async fn the_serving_agent_alone_sees_the_masked_draft_and_nothing_is_stored(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, mut agent_ws) = app.online_agent("Petra Peek", 3).await;
    let (visitor, mut ws, chat) = app.assigned_chat(&mut agent_ws, "hello").await;
    // A colleague online on the same site, and the visitor's second tab.
    let (_, mut colleague) = app.online_agent("Colin Colleague", 3).await;
    let mut other_tab = app.connect_visitor(&visitor, Vec::new()).await;

    // Sent unmasked, as a widget that skipped its own masking would: the server masks it.
    ws.send(&peek(chat, "my card 4111 1111 1111 1111")).await;
    assert_eq!(
        next_peek(&mut agent_ws).await,
        "my card •••• •••• •••• ••••"
    );
    no_peek(&mut colleague, Duration::from_millis(300), "the colleague").await;
    no_peek(&mut other_tab, Duration::from_millis(100), "the other tab").await;
    no_peek(&mut ws, Duration::from_millis(100), "the sender").await;

    // An empty draft clears it.
    ws.send(&peek(chat, "")).await;
    assert_eq!(next_peek(&mut agent_ws).await, "");

    // No trace: the transcript holds only what was sent, and so does the database.
    let transcript = app.transcript(chat, &app.admin_token).await;
    assert!(
        transcript
            .messages
            .iter()
            .all(|m| !m.body.contains("card") && !m.body.contains("4111")),
        "{transcript:?}"
    );
    let stored = app
        .db
        .count("SELECT COUNT(*) FROM messages WHERE body LIKE '%card%' OR body LIKE '%4111%'")
        .await;
    assert_eq!(stored, 0);
    let messages = app.db.count("SELECT COUNT(*) FROM messages").await;
    assert_eq!(messages as usize, transcript.messages.len());
}

async fn a_flood_of_drafts_arrives_coalesced_with_the_last_one_intact(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, mut agent_ws) = app.online_agent("Fiona Flood", 3).await;
    let (_, mut ws, chat) = app.assigned_chat(&mut agent_ws, "hello").await;
    let sentence = "Do you ship hiking boots to Norway before Christmas?";
    let drafts: Vec<&str> = (1..=sentence.len())
        .filter(|&n| sentence.is_char_boundary(n))
        .map(|n| &sentence[..n])
        .collect();
    for draft in &drafts {
        ws.send(&peek(chat, draft)).await;
    }
    let mut seen = Vec::new();
    loop {
        let text = next_peek(&mut agent_ws).await;
        let last = text == sentence;
        seen.push(text);
        if last {
            break;
        }
    }
    assert!(
        seen.len() < drafts.len() / 2,
        "{} of {} drafts were relayed: {seen:?}",
        seen.len(),
        drafts.len()
    );
    // Each one relayed is one the visitor typed, in order, and nothing comes after the last.
    let mut at = 0;
    for text in &seen {
        let found = drafts[at..].iter().position(|d| d == text);
        at += found.unwrap_or_else(|| panic!("{text:?} was not typed, or out of order"));
    }
    no_peek(
        &mut agent_ws,
        Duration::from_millis(600),
        "the agent after the last",
    )
    .await;
}

async fn a_queued_chat_relays_nothing_and_a_strangers_chat_is_not_found(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, mut agent_ws) = app.online_agent("Quentin Queue", 1).await;
    let (_, mut served_ws, served) = app.assigned_chat(&mut agent_ws, "first").await;
    // The only agent is full: the next chat waits in the queue.
    let (_, mut waiting, queued) = app.open_chat(&app.demo_site, None, "second").await;
    waiting.send(&peek(queued, "still typing")).await;
    while let Some(frame) = waiting.try_next_frame(Duration::from_millis(300)).await {
        assert!(
            !matches!(frame, Ok(ServerFrame::Error { .. })),
            "a peek into a queued chat was refused: {frame:?}"
        );
    }
    no_peek(&mut agent_ws, Duration::from_millis(100), "the agent").await;

    // A peek into someone else's chat is refused as if it did not exist, and relays nothing.
    waiting.send(&peek(served, "psst")).await;
    let (code, _) = waiting.expect_error().await;
    assert_eq!(code, ErrorCode::NotFound);
    no_peek(&mut agent_ws, Duration::from_millis(300), "the agent").await;

    // Once the chat is closed, a draft goes nowhere either.
    served_ws
        .send(&VisitorFrame::Close {
            conversation_id: served,
        })
        .await;
    agent_ws
        .expect("the close", |f| {
            matches!(f, ServerFrame::ConversationClosed { conversation } if conversation.id == served)
        })
        .await;
    served_ws.send(&peek(served, "one more thing")).await;
    no_peek(
        &mut agent_ws,
        Duration::from_millis(300),
        "the agent after the close",
    )
    .await;
}
