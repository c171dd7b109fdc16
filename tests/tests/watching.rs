//! Watching a conversation: the console's open chat is kept up to date (history after
//! `after_seq`, then its messages, typing, peeks, read marks, notes and state changes, each
//! frame once even for the agent who serves it), everyone looking hears who else is, and a
//! supervisor's watch is a read-only monitor.

use std::time::Duration;

use bellhop_protocol::frames::{
    AgentFrame, AuthorKind, ConversationStatus, Priority, ServerFrame, VisitorFrame,
};
use bellhop_protocol::{ConversationId, ErrorCode};
use bellhop_tests::staff::{
    drain, is_staff_frame, next_note, next_update, next_viewers, note, watch,
};
use bellhop_tests::{
    Backend, WsClient, agent_says, agent_send, both_backends, spawn_app, visitor_says,
};

both_backends!(
    a_watch_replays_after_its_point_then_follows_the_chat_once_per_frame,
    viewers_change_as_agents_open_the_chat_and_close_their_sockets,
    a_supervisors_monitor_cannot_send,
);

/// How many of `frames` match.
fn count(frames: &[ServerFrame], matches: impl Fn(&ServerFrame) -> bool) -> usize {
    frames.iter().filter(|f| matches(f)).count()
}

fn is_message(seq: u64) -> impl Fn(&ServerFrame) -> bool {
    move |f| matches!(f, ServerFrame::Message { message } if message.seq == seq)
}

fn is_typing(author: AuthorKind) -> impl Fn(&ServerFrame) -> bool {
    move |f| matches!(f, ServerFrame::Typing { author: a, typing: true, .. } if *a == author)
}

fn is_peek(f: &ServerFrame) -> bool {
    matches!(f, ServerFrame::Peek { .. })
}

fn is_note(f: &ServerFrame) -> bool {
    matches!(f, ServerFrame::NoteAdded { .. })
}

fn is_read(f: &ServerFrame) -> bool {
    matches!(
        f,
        ServerFrame::Read {
            reader: AuthorKind::Agent,
            ..
        }
    )
}

fn is_urgent(f: &ServerFrame) -> bool {
    matches!(f, ServerFrame::ConversationUpdated { conversation } if conversation.priority == Priority::Urgent)
}

/// What `ws` receives from now until `last` (included), then for a short while more.
async fn frames_until(
    ws: &mut WsClient,
    what: &str,
    last: impl Fn(&ServerFrame) -> bool,
) -> Vec<ServerFrame> {
    let end = ws.expect(what, last).await;
    let mut frames = drain(ws, Duration::from_millis(400)).await;
    frames.push(end);
    frames
}

/// Olga, a supervisor, watches Maya's chat from after seq 2: she gets the conversation, seqs
/// 3 and 4, and herself as viewer, in that order; Maya hears who views. Then everything the
/// chat does reaches Olga once. Maya then watches her own chat on the socket that serves it:
/// each frame still arrives there once, and her own typing not at all.
async fn a_watch_replays_after_its_point_then_follows_the_chat_once_per_frame(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, mut maya_ws) = app.online_agent("Maya Chen", 3).await;
    let (_, mut ws, chat) = app.assigned_chat(&mut maya_ws, "hello").await;
    agent_says(&mut maya_ws, "a-3", "Hi! How can I help?", chat).await;
    visitor_says(&mut ws, "v-4", "Where is my order?", Some(chat)).await;
    let (_, mut olga_ws) = app.online_supervisor("Olga Petrova").await;
    // Her client core holds nothing of the chat: seq 3 first is a gap to it, not to her.
    olga_ws.allow_disorder();

    olga_ws.send(&watch(Some(chat), 2)).await;
    match olga_ws.next_frame().await {
        ServerFrame::ConversationUpdated { conversation } => {
            assert_eq!(conversation.id, chat);
            assert_eq!(conversation.last_seq, 4);
            assert_eq!(conversation.status, ConversationStatus::Assigned);
        }
        other => panic!("expected conversation_updated, got {other:?}"),
    }
    for seq in [3, 4] {
        let frame = olga_ws.next_frame().await;
        assert!(is_message(seq)(&frame), "expected seq {seq}, got {frame:?}");
    }
    assert_eq!(next_viewers(&mut olga_ws).await, ["Olga Petrova"]);
    assert_eq!(next_viewers(&mut maya_ws).await, ["Olga Petrova"]);

    // The chat goes on: a message, both sides typing, a peek, a read mark, a note and a
    // change of priority.
    visitor_says(&mut ws, "v-5", "Order 48213", Some(chat)).await;
    let typing = |typing| VisitorFrame::Typing {
        conversation_id: chat,
        typing,
    };
    ws.send(&typing(true)).await;
    ws.send(&VisitorFrame::Peek {
        conversation_id: chat,
        text: "my card 4111 1111 1111 1111".into(),
    })
    .await;
    maya_ws
        .send(&AgentFrame::Typing {
            conversation_id: chat,
            typing: true,
        })
        .await;
    maya_ws
        .send(&AgentFrame::Read {
            conversation_id: chat,
            seq: 5,
        })
        .await;
    maya_ws
        .send(&note("n-1", chat, "checking the warehouse"))
        .await;
    next_note(&mut maya_ws).await;
    maya_ws
        .send(&AgentFrame::SetPriority {
            conversation_id: chat,
            priority: Priority::Urgent,
        })
        .await;
    let seen = frames_until(&mut olga_ws, "the new priority", is_urgent).await;
    assert_eq!(count(&seen, is_message(5)), 1, "{seen:#?}");
    assert_eq!(count(&seen, is_typing(AuthorKind::Visitor)), 1, "{seen:#?}");
    assert_eq!(count(&seen, is_typing(AuthorKind::Agent)), 1, "{seen:#?}");
    assert_eq!(count(&seen, is_peek), 1, "{seen:#?}");
    assert!(
        seen.iter()
            .any(|f| matches!(f, ServerFrame::Peek { text, .. } if !text.contains("4111"))),
        "the peek is masked: {seen:#?}"
    );
    assert_eq!(count(&seen, is_read), 1, "{seen:#?}");
    assert_eq!(count(&seen, is_note), 1, "{seen:#?}");
    assert_eq!(count(&seen, is_urgent), 1, "{seen:#?}");

    // Maya opens her own chat on the socket that serves it; she holds everything up to 5.
    drain(&mut maya_ws, Duration::from_millis(200)).await;
    maya_ws.send(&watch(Some(chat), 5)).await;
    assert_eq!(next_update(&mut maya_ws).await.priority, Priority::Urgent);
    assert_eq!(
        next_viewers(&mut maya_ws).await,
        ["Olga Petrova", "Maya Chen"]
    );
    assert_eq!(
        next_viewers(&mut olga_ws).await,
        ["Olga Petrova", "Maya Chen"]
    );
    // Her socket's client core fails the test on any repeated message.
    visitor_says(&mut ws, "v-6", "Any news?", Some(chat)).await;
    ws.send(&typing(false)).await;
    ws.send(&typing(true)).await;
    ws.send(&VisitorFrame::Peek {
        conversation_id: chat,
        text: "thanks".into(),
    })
    .await;
    maya_ws
        .send(&AgentFrame::Typing {
            conversation_id: chat,
            typing: false,
        })
        .await;
    maya_ws
        .send(&AgentFrame::Typing {
            conversation_id: chat,
            typing: true,
        })
        .await;
    olga_ws.send(&note("w-1", chat, "offer the express")).await;
    let seen = frames_until(&mut maya_ws, "the whisper", is_note).await;
    assert_eq!(count(&seen, is_message(6)), 1, "{seen:#?}");
    assert_eq!(count(&seen, is_typing(AuthorKind::Visitor)), 1, "{seen:#?}");
    assert_eq!(count(&seen, is_typing(AuthorKind::Agent)), 0, "{seen:#?}");
    assert_eq!(count(&seen, is_peek), 1, "{seen:#?}");
    assert_eq!(count(&seen, is_note), 1, "{seen:#?}");
    let seen = frames_until(&mut olga_ws, "the whisper", is_note).await;
    assert_eq!(count(&seen, is_typing(AuthorKind::Agent)), 1, "{seen:#?}");

    // Closing is a change of state for those watching; the visitor never got a staff frame.
    maya_ws
        .send(&AgentFrame::Close {
            conversation_id: chat,
        })
        .await;
    let closed = next_update(&mut olga_ws).await;
    assert_eq!(closed.status, ConversationStatus::Closed);
    let visitor_frames = drain(&mut ws, Duration::from_millis(300)).await;
    assert!(
        !visitor_frames.iter().any(is_staff_frame),
        "{visitor_frames:#?}"
    );
}

/// Olga watches Maya's chat, then Jonas: each time everyone looking, and Maya, hears the
/// viewers. Jonas's second tab on the same chat changes nothing; his viewers come to that tab
/// alone. Closing one of his tabs changes nothing, closing the last takes him out; Olga
/// watching nothing leaves none. Another site's chat cannot be watched.
async fn viewers_change_as_agents_open_the_chat_and_close_their_sockets(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, mut maya_ws) = app.online_agent("Maya Chen", 3).await;
    let (_, _ws, chat) = app.assigned_chat(&mut maya_ws, "hello").await;
    let (_, mut olga_ws) = app.online_supervisor("Olga Petrova").await;
    let (jonas, mut jonas_ws) = app.online_agent("Jonas Berg", 0).await;

    olga_ws.send(&watch(Some(chat), 0)).await;
    assert_eq!(next_update(&mut olga_ws).await.id, chat);
    assert_eq!(next_viewers(&mut olga_ws).await, ["Olga Petrova"]);
    assert_eq!(next_viewers(&mut maya_ws).await, ["Olga Petrova"]);

    jonas_ws.send(&watch(Some(chat), 0)).await;
    let both = ["Olga Petrova", "Jonas Berg"];
    assert_eq!(next_viewers(&mut jonas_ws).await, both);
    assert_eq!(next_viewers(&mut olga_ws).await, both);
    assert_eq!(next_viewers(&mut maya_ws).await, both);

    let mut jonas_tab = app.connect_agent(&jonas).await;
    jonas_tab.send(&watch(Some(chat), 0)).await;
    assert_eq!(next_viewers(&mut jonas_tab).await, both);
    jonas_ws.close().await;
    for ws in [&mut olga_ws, &mut maya_ws] {
        let frames = drain(ws, Duration::from_millis(400)).await;
        assert!(
            !frames
                .iter()
                .any(|f| matches!(f, ServerFrame::Viewers { .. })),
            "{frames:#?}"
        );
    }
    jonas_tab.close().await;
    assert_eq!(next_viewers(&mut olga_ws).await, ["Olga Petrova"]);
    assert_eq!(next_viewers(&mut maya_ws).await, ["Olga Petrova"]);

    olga_ws.send(&watch(None, 0)).await;
    assert!(next_viewers(&mut maya_ws).await.is_empty());

    let elsewhere = app
        .create_site("Elsewhere", &["https://elsewhere.example"])
        .await;
    let (_, _other_ws, other_chat) = app.open_chat(&elsewhere, None, "hi").await;
    olga_ws.send(&watch(Some(other_chat), 0)).await;
    assert_eq!(olga_ws.expect_error().await.0, ErrorCode::NotFound);
    let unknown = ConversationId::from_uuid(uuid::Uuid::now_v7());
    olga_ws.send(&watch(Some(unknown), 0)).await;
    assert_eq!(olga_ws.expect_error().await.0, ErrorCode::NotFound);
    // The refused watches joined nothing: the other site's chat tells Olga nothing.
    let elsa = app.create_agent("Elsa Else", 3, &[elsewhere.id]).await;
    let mut other_agent_ws = app.connect_agent(&elsa).await;
    other_agent_ws
        .expect("the other chat", |f| {
            matches!(f, ServerFrame::ConversationAssigned { .. })
        })
        .await;
    agent_says(&mut other_agent_ws, "e-1", "Hello!", other_chat).await;
    let frames = drain(&mut olga_ws, Duration::from_millis(400)).await;
    assert!(
        frames
            .iter()
            .all(|f| !matches!(f, ServerFrame::Message { .. })),
        "{frames:#?}"
    );
}

/// Watching gives no right to write: Olga's monitor and Jonas's watch are refused a message
/// and typing (`forbidden`, naming the send), and the visitor hears nothing of them.
async fn a_supervisors_monitor_cannot_send(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, mut maya_ws) = app.online_agent("Maya Chen", 3).await;
    let (_, mut ws, chat) = app.assigned_chat(&mut maya_ws, "hello").await;
    let (_, mut olga_ws) = app.online_supervisor("Olga Petrova").await;
    let (_, mut jonas_ws) = app.online_agent("Jonas Berg", 0).await;
    for (who, watcher) in [("olga", &mut olga_ws), ("jonas", &mut jonas_ws)] {
        watcher.send(&watch(Some(chat), 0)).await;
        next_update(watcher).await;
        let client_id = format!("{who}-1");
        watcher
            .send(&agent_send(&client_id, "I'll take it from here", chat))
            .await;
        let (code, refused) = watcher.expect_error().await;
        assert_eq!(code, ErrorCode::Forbidden);
        assert_eq!(refused.as_deref(), Some(client_id.as_str()));
        watcher
            .send(&AgentFrame::Typing {
                conversation_id: chat,
                typing: true,
            })
            .await;
        assert_eq!(watcher.expect_error().await.0, ErrorCode::Forbidden);
    }
    let frames = drain(&mut ws, Duration::from_millis(400)).await;
    let from_an_agent = |f: &ServerFrame| match f {
        ServerFrame::Message { message } => message.author == AuthorKind::Agent,
        ServerFrame::Typing { author, .. } => *author == AuthorKind::Agent,
        _ => false,
    };
    assert!(!frames.iter().any(from_an_agent), "{frames:#?}");
    let transcript = app.transcript(chat, &app.admin_token).await;
    assert_eq!(transcript.messages.len(), 2);
}
