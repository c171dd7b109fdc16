//! Private notes and whispers: the serving agent's notes and a supervisor's whispers reach
//! agents only — never a visitor's socket, transcript, resume, mail or rating — with the
//! kinds and permissions of who writes, idempotent resends, and the note a transfer carries.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use bellhop_protocol::api::{RatingRequest, Role};
use bellhop_protocol::console::NoteKind;
use bellhop_protocol::frames::{ResumePoint, ServerFrame, VisitorFrame};
use bellhop_protocol::{ConversationId, ErrorCode, PROTOCOL_VERSION};
use bellhop_server::config::{Config, SmtpConfig};
use bellhop_tests::smtp_sink::SmtpSink;
use bellhop_tests::staff::{drain, is_staff_frame, next_note, note};
use bellhop_tests::{
    Backend, Client, TestVisitor, agent_says, both_backends, spawn_app, spawn_app_with,
    transfer_to_agent, visitor_says,
};

both_backends!(
    notes_and_whispers_reach_agents_and_no_visitor_path_carries_them,
    who_may_write_which_kind,
    a_resend_answers_the_same_note_and_stores_it_once,
    a_transfer_note_is_kept_in_the_timeline_and_the_receiver_sees_it,
);

const NOTE: &str = "Customer since 2019; offer the free return label.";
const WHISPER: &str = "Offer the express replacement, it is on me.";

/// The server sends mail through `sink`.
fn through(sink: &SmtpSink) -> impl FnOnce(&mut Config) + use<> {
    let port = sink.port();
    move |config: &mut Config| {
        config.smtp = Some(SmtpConfig {
            retry_base_ms: 200,
            retry_max_ms: 1_000,
            poll_ms: 50,
            timeout_secs: 5,
            ..SmtpConfig::plain("127.0.0.1", port, "Bellhop Help <help@bellhop.test>")
        });
    }
}

/// A visitor's socket read as raw text: every frame exactly as the server wrote it, from the
/// `welcome` and its replay on.
struct RawTap {
    texts: Arc<Mutex<Vec<String>>>,
    reader: tokio::task::JoinHandle<()>,
}

impl RawTap {
    async fn open(app: &Client, visitor: &TestVisitor) -> Self {
        let url = app.ws_url(&format!("/ws/v1/visitor?key={}", visitor.widget_key));
        let mut request = url.into_client_request().unwrap();
        request
            .headers_mut()
            .insert("Origin", HeaderValue::from_str(&visitor.origin).unwrap());
        let (mut stream, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        let hello = VisitorFrame::Hello {
            v: PROTOCOL_VERSION,
            token: visitor.token.clone(),
            resume: Vec::new(),
        };
        let hello = serde_json::to_string(&hello).unwrap();
        stream.send(WsMessage::text(hello)).await.unwrap();
        let texts: Arc<Mutex<Vec<String>>> = Arc::default();
        let kept = Arc::clone(&texts);
        let reader = tokio::spawn(async move {
            while let Some(Ok(message)) = stream.next().await {
                if let WsMessage::Text(text) = message {
                    kept.lock().unwrap().push(text.to_string());
                }
            }
        });
        Self { texts, reader }
    }

    /// Every frame so far; none may be a staff frame or name a note's text.
    fn assert_clean(&self) -> usize {
        let texts = self.texts.lock().unwrap();
        for text in texts.iter() {
            let frame: serde_json::Value = serde_json::from_str(text).unwrap();
            let kind = frame["type"].as_str().unwrap_or_default();
            assert!(
                ![
                    "note_added",
                    "viewers",
                    "conversation_updated",
                    "queue",
                    "wallboard"
                ]
                .contains(&kind),
                "the visitor got {text}"
            );
            for secret in [
                NOTE,
                WHISPER,
                "return label",
                "express replacement",
                "whisper",
            ] {
                assert!(!text.contains(secret), "the visitor got a note: {text}");
            }
        }
        texts.len()
    }
}

impl Drop for RawTap {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// No frame the visitor got is a staff frame or carries a note's text: checked on every
/// frame decoded and re-encoded to its JSON.
fn assert_no_note_in(frames: &[ServerFrame], who: &str) {
    for frame in frames {
        let json = serde_json::to_string(frame).unwrap();
        assert!(!is_staff_frame(frame), "{who} got {json}");
        for text in [NOTE, WHISPER, "return label", "express replacement"] {
            assert!(!json.contains(text), "{who} got a note's text: {json}");
        }
    }
}

/// Maya serves the chat and writes a note; Olga, a supervisor, whispers to her. Both agents
/// hear both, with their kinds, ids and places in the timeline; the visitor's socket (and
/// a second tab of theirs) gets neither, nor do their transcript page, a resume from the
/// start, the transcript mail or the rating; the notes list has both, oldest first.
async fn notes_and_whispers_reach_agents_and_no_visitor_path_carries_them(backend: Backend) {
    let sink = SmtpSink::start().await;
    let app = spawn_app_with(backend, through(&sink)).await;
    let (maya, mut maya_ws) = app.online_agent("Maya Chen", 3).await;
    let (visitor, mut ws, chat) = app.assigned_chat(&mut maya_ws, "Where is my order?").await;
    // A second tab of the visitor's, read byte for byte.
    let tap = RawTap::open(&app, &visitor).await;
    let (olga, mut olga_ws) = app.online_supervisor("Olga Petrova").await;
    agent_says(&mut maya_ws, "a-1", "Let me check.", chat).await;

    maya_ws.send(&note("n-1", chat, NOTE)).await;
    let written = next_note(&mut maya_ws).await;
    assert_eq!(written.kind, NoteKind::Note);
    assert_eq!(written.body, NOTE);
    assert_eq!(written.author.id, maya.id());
    assert_eq!(written.client_id.as_ref().map(|c| c.as_str()), Some("n-1"));
    // After the agent's answer, seq 3.
    assert_eq!(written.after_seq, 3);

    olga_ws.send(&note("w-1", chat, WHISPER)).await;
    let whisper = next_note(&mut olga_ws).await;
    assert_eq!(whisper.kind, NoteKind::Whisper);
    assert_eq!(whisper.author.display_name, "Olga Petrova");
    let heard = next_note(&mut maya_ws).await;
    assert_eq!(heard, whisper);

    // The chat goes on for the visitor as if nothing happened: the next seq is 4.
    visitor_says(&mut ws, "v-2", "Thanks", Some(chat)).await;
    let frames = drain(&mut ws, Duration::from_millis(500)).await;
    let got_message = frames
        .iter()
        .any(|f| matches!(f, ServerFrame::Message { message } if message.seq == 4));
    assert!(got_message, "{frames:?}");
    assert_no_note_in(&frames, "the visitor's socket");

    // The visitor's transcript, a resume from the start, and the notes route.
    let transcript = app.transcript(chat, &visitor.token).await;
    assert_eq!(transcript.messages.len(), 4);
    let json = serde_json::to_string(&transcript).unwrap();
    assert!(
        !json.contains("return label") && !json.contains("express"),
        "{json}"
    );
    let resumed = app
        .connect_visitor(
            &visitor,
            vec![ResumePoint {
                conversation_id: chat,
                last_seq: 0,
            }],
        )
        .await;
    let mut resumed = resumed;
    let replay = drain(&mut resumed, Duration::from_millis(500)).await;
    assert_eq!(
        replay
            .iter()
            .filter(|f| matches!(f, ServerFrame::Message { .. }))
            .count(),
        4
    );
    assert_no_note_in(&replay, "the visitor's resume");
    let refused = app
        .get(
            &format!("/api/v1/conversations/{chat}/notes"),
            &visitor.token,
        )
        .await;
    assert_eq!(refused.status(), 401);

    // The transcript mail: every message, no note.
    let response = app
        .visitor_post(
            &visitor,
            &format!("/api/v1/widget/conversations/{chat}/transcript"),
            &serde_json::json!({ "email": "visitor@example.test" }),
        )
        .await;
    assert_eq!(response.status(), 202);
    let mails = sink.wait_for(1, Duration::from_secs(15)).await;
    let text = mails[0].text();
    assert!(text.contains("Visitor: Thanks"), "{text}");
    assert!(
        !text.contains("return label") && !text.contains("express"),
        "{text}"
    );

    // Closed and rated: the rating's answer and frames carry no note either.
    maya_ws
        .send(&bellhop_protocol::frames::AgentFrame::Close {
            conversation_id: chat,
        })
        .await;
    maya_ws
        .expect("the close", |f| {
            matches!(f, ServerFrame::ConversationClosed { .. })
        })
        .await;
    let rating = app
        .visitor_post(
            &visitor,
            &format!("/api/v1/widget/conversations/{chat}/rating"),
            &RatingRequest {
                score: 4,
                comment: None,
            },
        )
        .await;
    assert_eq!(rating.status(), 200);
    let body = rating.text().await.unwrap();
    assert!(!body.contains("return label"), "{body}");
    let frames = drain(&mut ws, Duration::from_millis(300)).await;
    assert_no_note_in(&frames, "the visitor's socket after the close");
    // The raw tab: welcome, the replay, the live messages, the close; no note.
    let seen = tap.assert_clean();
    assert!(seen >= 6, "the tab saw {seen} frames");

    // Agents of the site read both, oldest first.
    for token in [&maya.token, &olga.token, &app.admin_token] {
        let notes = app.notes(chat, token).await;
        let kinds: Vec<(NoteKind, &str)> =
            notes.iter().map(|n| (n.kind, n.body.as_str())).collect();
        assert_eq!(
            kinds,
            vec![(NoteKind::Note, NOTE), (NoteKind::Whisper, WHISPER)]
        );
    }
}

/// A plain agent who does not serve the chat is `forbidden` (the error names the note's
/// client id); a supervisor of another site gets `not_found`, also from the notes route;
/// anyone of the site writes a plain note in a chat nobody serves yet. Refused notes are not
/// stored.
async fn who_may_write_which_kind(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, mut maya_ws) = app.online_agent("Maya Chen", 1).await;
    let (_, _ws, served) = app.assigned_chat(&mut maya_ws, "hello").await;
    // Maya is full: this one waits in the queue.
    let (_, _waiting_ws, waiting) = app.open_chat(&app.demo_site, None, "anyone?").await;

    let (carl, mut carl_ws) = app.online_agent("Carl Colleague", 0).await;
    carl_ws.send(&note("c-1", served, "psst")).await;
    let (code, client_id) = carl_ws.expect_error().await;
    assert_eq!(code, ErrorCode::Forbidden);
    assert_eq!(client_id.as_deref(), Some("c-1"));

    let elsewhere = app
        .create_site("Elsewhere", &["https://elsewhere.example"])
        .await;
    let stranger = app
        .create_staff("Sam Stranger", Role::Supervisor, 0, &[elsewhere.id])
        .await;
    let mut stranger_ws = app.connect_agent(&stranger).await;
    stranger_ws.send(&note("s-1", served, "psst")).await;
    assert_eq!(stranger_ws.expect_error().await.0, ErrorCode::NotFound);
    let unknown = ConversationId::from_uuid(uuid::Uuid::now_v7());
    stranger_ws.send(&note("s-2", unknown, "psst")).await;
    assert_eq!(stranger_ws.expect_error().await.0, ErrorCode::NotFound);
    let path = format!("/api/v1/conversations/{served}/notes");
    assert_eq!(
        app.get_error(&path, &stranger.token, 404).await,
        ErrorCode::NotFound
    );
    assert!(app.notes(served, &carl.token).await.is_empty());

    // Nobody serves the waiting chat: Carl's note is a note.
    carl_ws
        .send(&note("c-2", waiting, "VIP, asked twice"))
        .await;
    let written = next_note(&mut carl_ws).await;
    assert_eq!(written.kind, NoteKind::Note);
    assert_eq!(written.after_seq, 2);
    assert_eq!(app.notes(waiting, &app.admin_token).await, vec![written]);
    assert_eq!(app.db.count("SELECT COUNT(*) FROM notes").await, 1);
}

/// The same client id and text again answers the same note, to the sender only, and stores
/// nothing; the same id with another text is `client_id_conflict`.
async fn a_resend_answers_the_same_note_and_stores_it_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let (maya, mut maya_ws) = app.online_agent("Maya Chen", 3).await;
    let (_, _ws, chat) = app.assigned_chat(&mut maya_ws, "hello").await;
    let mut maya_tab = app.connect_agent(&maya).await;
    let (_, mut olga_ws) = app.online_supervisor("Olga Petrova").await;

    olga_ws.send(&note("w-1", chat, WHISPER)).await;
    let first = next_note(&mut olga_ws).await;
    assert_eq!(next_note(&mut maya_ws).await, first);
    assert_eq!(next_note(&mut maya_tab).await, first);

    olga_ws.send(&note("w-1", chat, WHISPER)).await;
    assert_eq!(next_note(&mut olga_ws).await, first);
    // Told once: the serving agent's sockets hear nothing more.
    for ws in [&mut maya_ws, &mut maya_tab] {
        let frames = drain(ws, Duration::from_millis(400)).await;
        assert!(
            !frames
                .iter()
                .any(|f| matches!(f, ServerFrame::NoteAdded { .. })),
            "{frames:?}"
        );
    }

    olga_ws.send(&note("w-1", chat, "something else")).await;
    let (code, client_id) = olga_ws.expect_error().await;
    assert_eq!(code, ErrorCode::ClientIdConflict);
    assert_eq!(client_id.as_deref(), Some("w-1"));
    assert_eq!(app.notes(chat, &maya.token).await, vec![first]);
}

/// Maya hands the chat to Jonas with a note: Jonas receives the transfer, then the note as
/// `note_added` of kind `transfer` by Maya; the notes list keeps it for later readers, and
/// the visitor hears of the new agent but not of the note.
async fn a_transfer_note_is_kept_in_the_timeline_and_the_receiver_sees_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let (maya, mut maya_ws) = app.online_agent("Maya Chen", 1).await;
    let (_, mut ws, chat) = app
        .assigned_chat(&mut maya_ws, "I want to exchange a jacket")
        .await;
    let (jonas, mut jonas_ws) = app.online_agent("Jonas Berg", 3).await;
    let handover = "Exchange: size S for M. She still has the packaging.";
    maya_ws
        .send(&transfer_to_agent(chat, jonas.id(), Some(handover)))
        .await;
    match jonas_ws
        .expect("the transfer", |f| {
            matches!(f, ServerFrame::ConversationTransferred { .. })
        })
        .await
    {
        ServerFrame::ConversationTransferred { note, .. } => {
            assert_eq!(note.as_deref(), Some(handover));
        }
        _ => unreachable!(),
    }
    let carried = next_note(&mut jonas_ws).await;
    assert_eq!(carried.kind, NoteKind::Transfer);
    assert_eq!(carried.author.id, maya.id());
    assert_eq!(carried.body, handover);
    assert_eq!(carried.client_id, None);
    assert_eq!(carried.after_seq, 2);
    assert_eq!(next_note(&mut maya_ws).await, carried);
    assert_eq!(app.notes(chat, &jonas.token).await, vec![carried]);

    let frames = drain(&mut ws, Duration::from_millis(500)).await;
    assert!(
        frames.iter().any(|f| matches!(
            f,
            ServerFrame::ConversationAssigned { conversation }
                if conversation.agent.as_ref().map(|a| a.id) == Some(jonas.id())
        )),
        "{frames:?}"
    );
    for frame in &frames {
        let json = serde_json::to_string(frame).unwrap();
        assert!(
            !is_staff_frame(frame) && !json.contains("packaging"),
            "{json}"
        );
    }
}
