//! Who may reach what, and what bad input gets: every refusal is a clear error code, and
//! other chats carry on.

use std::time::Duration;

use bellhop_protocol::api::{SiteSettingsUpdate, TranscriptPage};
use bellhop_protocol::error::ApiError;
use bellhop_protocol::frames::{AgentFrame, ResumePoint, ServerFrame, VisitorFrame};
use bellhop_protocol::{ConversationId, ErrorCode, close_code};
use bellhop_tests::{
    Backend, TestApp, TestVisitor, WsClient, api_error, both_backends, is_ack_of, next_assignment,
    next_message, spawn_app, spawn_app_with, transfer_to_agent, visitor_says, visitor_send,
};
use reqwest::Method;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

both_backends!(
    a_foreign_origin_is_refused_at_upgrade,
    a_visitor_token_reaches_only_its_own_conversations,
    an_agent_reaches_only_their_sites,
    requests_without_a_valid_session_are_refused,
    bad_input_gets_an_error_while_other_chats_carry_on,
    each_supervisor_and_admin_route_needs_its_role,
    origins_match_by_scheme_host_and_port,
    an_over_long_transfer_note_is_refused_and_the_chat_stays,
);

/// Opens a conversation for `visitor`; returns its id.
async fn open_chat(app: &TestApp, visitor: &TestVisitor, text: &str) -> (WsClient, ConversationId) {
    let mut ws = app.connect_visitor(visitor, Vec::new()).await;
    ws.send(&visitor_send("opening", text, None)).await;
    let ServerFrame::Ack {
        conversation_id, ..
    } = ws.expect("ack", is_ack_of("opening")).await
    else {
        unreachable!()
    };
    (ws, conversation_id)
}

/// The socket's first answer is an `unauthorized` error, and then it closes with 4001.
async fn assert_refused_as_unauthorized(mut ws: WsClient) {
    assert_eq!(ws.next_error().await.0, ErrorCode::Unauthorized);
    assert_eq!(ws.expect_close().await, Some(close_code::UNAUTHORIZED));
}

async fn a_foreign_origin_is_refused_at_upgrade(backend: Backend) {
    let app = spawn_app(backend).await;
    let url = app.ws_url("/ws/v1/visitor?key=demo");
    for origin in [Some("http://evil.test"), Some("null"), None] {
        match WsClient::connect(&url, origin).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), 403, "origin {origin:?}");
                let body = response.body().as_deref().unwrap_or_default();
                let error: ApiError = serde_json::from_slice(body).expect("error body");
                assert_eq!(error.code, ErrorCode::OriginNotAllowed);
            }
            Err(other) => panic!("origin {origin:?}: unexpected error {other}"),
            Ok(_) => panic!("origin {origin:?} was let in"),
        }
    }
    // The widget session endpoint refuses it too.
    let response = app
        .http
        .post(format!("{}/api/v1/widget/session", app.address))
        .header("Origin", "http://evil.test")
        .json(&serde_json::json!({ "widget_key": "demo" }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        api_error(response, 403).await.code,
        ErrorCode::OriginNotAllowed
    );
    // An allowed origin gets in.
    let visitor = app.new_visitor(&app.demo_site).await;
    app.connect_visitor(&visitor, Vec::new()).await;
}

async fn a_visitor_token_reaches_only_its_own_conversations(backend: Backend) {
    let app = spawn_app(backend).await;
    let a = app.new_visitor(&app.demo_site).await;
    let b = app.new_visitor(&app.demo_site).await;
    let (_b_ws, b_chat) = open_chat(&app, &b, "B's private question").await;

    // REST: A cannot read B's conversation or transcript; B can.
    let path = format!("/api/v1/conversations/{b_chat}/messages");
    assert_eq!(
        app.get_error(&path, &a.token, 404).await,
        ErrorCode::NotFound
    );
    let conversation_path = format!("/api/v1/conversations/{b_chat}");
    assert_eq!(
        app.get_error(&conversation_path, &a.token, 404).await,
        ErrorCode::NotFound
    );
    let page: TranscriptPage = app.get_json(&path, &b.token).await;
    assert_eq!(page.messages[0].body, "B's private question");

    // WebSocket: resuming B's conversation or sending into it is refused; A sees nothing of B.
    let mut a_ws = app
        .connect_visitor(
            &a,
            vec![ResumePoint {
                conversation_id: b_chat,
                last_seq: 0,
            }],
        )
        .await;
    assert_eq!(a_ws.next_error().await.0, ErrorCode::NotFound);
    a_ws.send(&visitor_send("sneaky", "let me in", Some(b_chat)))
        .await;
    assert_eq!(
        a_ws.next_error().await,
        (ErrorCode::NotFound, Some("sneaky".to_owned()))
    );
    a_ws.expect_silence(Duration::from_millis(300)).await;
    let page: TranscriptPage = app.get_json(&path, &b.token).await;
    assert!(page.messages.iter().all(|m| m.body != "let me in"));

    // A token altered to name B is refused at hello.
    let (payload_a, sig_a) = a.token.rsplit_once('.').unwrap();
    let (payload_b, _) = b.token.rsplit_once('.').unwrap();
    assert_ne!(payload_a, payload_b);
    let forged = format!("{payload_b}.{sig_a}");
    assert_refused_as_unauthorized(app.visitor_hello(&a, &forged, Vec::new()).await).await;
    assert_eq!(
        app.get_error(&path, &forged, 401).await,
        ErrorCode::Unauthorized
    );
}

async fn an_agent_reaches_only_their_sites(backend: Backend) {
    let app = spawn_app(backend).await;
    let other_site = app
        .create_site("Other shop", &["https://other.example"])
        .await;
    let (agent, mut agent_ws) = app.online_agent("Demo Dana", 3).await;
    let visitor = app.new_visitor(&other_site).await;
    let (_ws, chat) = open_chat(&app, &visitor, "question for the other shop").await;

    // Not assigned to an agent of another site.
    agent_ws.expect_silence(Duration::from_millis(500)).await;
    let transcript = format!("/api/v1/conversations/{chat}/messages");
    assert_eq!(
        app.get_error(&transcript, &agent.token, 404).await,
        ErrorCode::NotFound
    );
    let site_path = format!("/api/v1/sites/{}", other_site.id);
    assert_eq!(
        app.get_error(&site_path, &agent.token, 404).await,
        ErrorCode::NotFound
    );
    // An agent cannot change settings, even of their own site; an admin can.
    let own_site = format!("/api/v1/sites/{}", app.demo_site.id);
    let update = SiteSettingsUpdate {
        auto_reply: Some("Hi!".into()),
        ..SiteSettingsUpdate::default()
    };
    let response = app.patch_as(&own_site, &agent.token, &update).await;
    assert_eq!(api_error(response, 403).await.code, ErrorCode::Forbidden);
    assert_eq!(app.patch(&own_site, &update).await.status(), 200);
    // Nor close a chat of another site, over REST or the socket.
    let close = format!("/api/v1/conversations/{chat}/close");
    assert_eq!(
        api_error(app.post(&close, &agent.token, &()).await, 404)
            .await
            .code,
        ErrorCode::NotFound
    );
    agent_ws
        .send(&AgentFrame::Close {
            conversation_id: chat,
        })
        .await;
    assert_eq!(agent_ws.next_error().await.0, ErrorCode::NotFound);
    // The admin reads it.
    let page: TranscriptPage = app.get_json(&transcript, &app.admin_token).await;
    assert_eq!(page.messages[0].body, "question for the other shop");
}

async fn requests_without_a_valid_session_are_refused(backend: Backend) {
    let app = spawn_app_with(backend, |config| config.ws.hello_timeout_ms = 500).await;
    let me = format!("{}/api/v1/me", app.address);
    let response = app.http.get(&me).send().await.unwrap();
    assert_eq!(api_error(response, 401).await.code, ErrorCode::Unauthorized);
    for token in ["bs1_not-a-real-session", "garbage"] {
        assert_eq!(
            app.get_error("/api/v1/me", token, 401).await,
            ErrorCode::Unauthorized
        );
    }
    // A visitor token is not an agent session.
    let visitor = app.new_visitor(&app.demo_site).await;
    assert_eq!(
        app.get_error("/api/v1/conversations", &visitor.token, 401)
            .await,
        ErrorCode::Unauthorized
    );
    // A logged-out session is dead.
    let agent = app.create_agent("Logout Lou", 3, &[app.demo_site.id]).await;
    assert_eq!(app.get("/api/v1/me", &agent.token).await.status(), 200);
    assert_eq!(
        app.post("/api/v1/auth/logout", &agent.token, &())
            .await
            .status(),
        204
    );
    assert_eq!(
        app.get_error("/api/v1/me", &agent.token, 401).await,
        ErrorCode::Unauthorized
    );
    // Wrong password.
    let response = app
        .http
        .post(format!("{}/api/v1/auth/login", app.address))
        .json(&serde_json::json!({ "email": bellhop_tests::ADMIN_EMAIL, "password": "wrong-password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        api_error(response, 401).await.code,
        ErrorCode::InvalidCredentials
    );

    // Agent socket: a bad token is refused with 4001; so is silence after the upgrade.
    let ws = app.agent_hello(Some(&agent.token), Vec::new()).await;
    assert_refused_as_unauthorized(ws).await;
    let mut silent = WsClient::connect(&app.ws_url("/ws/v1/agent"), None)
        .await
        .unwrap();
    assert_eq!(silent.expect_close().await, Some(close_code::UNAUTHORIZED));
}

/// Malformed JSON, an unknown frame type, a bad body, a binary frame, a frame before hello and
/// a wrong version each get an error frame or close code; an oversize frame and invalid UTF-8
/// close that socket; meanwhile another visitor and an agent keep chatting.
async fn bad_input_gets_an_error_while_other_chats_carry_on(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, mut agent_ws) = app.online_agent("Steady Sam", 3).await;
    let good = app.new_visitor(&app.demo_site).await;
    let (mut good_ws, chat) = open_chat(&app, &good, "message 1").await;
    next_assignment(&mut agent_ws).await;
    // The agent holds seq 1 (message) and 2 (automatic acknowledgement).
    assert_eq!(next_message(&mut agent_ws).await.seq, 1);
    assert_eq!(next_message(&mut agent_ws).await.seq, 2);
    let mut expected_seq = 2;
    let mut still_chatting = async |good_ws: &mut WsClient, agent_ws: &mut WsClient| {
        expected_seq += 1;
        let id = format!("good-{expected_seq}");
        visitor_says(good_ws, &id, "still here", Some(chat)).await;
        let ServerFrame::Message { message } = agent_ws
            .expect("the good chat's message", |f| {
                matches!(f, ServerFrame::Message { message } if message.conversation_id == chat)
            })
            .await
        else {
            unreachable!()
        };
        assert_eq!(message.seq, expected_seq);
        assert_eq!(message.client_id.map(|c| c.to_string()), Some(id));
    };

    let bad = app.new_visitor(&app.demo_site).await;
    let mut bad_ws = app.connect_visitor(&bad, Vec::new()).await;
    let cases: [(Message, ErrorCode); 5] = [
        (Message::text("{not json"), ErrorCode::BadFrame),
        (
            Message::text(r#"{"type":"launch_rockets"}"#),
            ErrorCode::UnknownFrame,
        ),
        (
            Message::text(r#"{"type":"send","body":"no client id"}"#),
            ErrorCode::BadFrame,
        ),
        (
            Message::text(r#"{"type":"send","client_id":"c1","body":"   "}"#),
            ErrorCode::InvalidBody,
        ),
        (
            Message::binary(vec![1u8, 2, 3]),
            ErrorCode::BinaryNotSupported,
        ),
    ];
    for (message, code) in cases {
        bad_ws.send_raw(message).await;
        assert_eq!(bad_ws.next_error().await.0, code);
        still_chatting(&mut good_ws, &mut agent_ws).await;
    }
    // The bad socket itself still works after its errors.
    visitor_says(&mut bad_ws, "fine-now", "a proper message", None).await;

    // A frame before hello.
    let url = app.ws_url("/ws/v1/visitor?key=demo");
    let mut early = WsClient::connect(&url, Some(&bad.origin)).await.unwrap();
    early.send(&visitor_send("early", "hi", None)).await;
    assert_eq!(early.next_error().await.0, ErrorCode::HelloRequired);
    // A version this server does not speak.
    early
        .send(&VisitorFrame::Hello {
            v: 99,
            token: bad.token.clone(),
            resume: Vec::new(),
        })
        .await;
    assert_eq!(early.next_error().await.0, ErrorCode::UnsupportedVersion);
    assert_eq!(
        early.expect_close().await,
        Some(close_code::UNSUPPORTED_VERSION)
    );
    still_chatting(&mut good_ws, &mut agent_ws).await;

    // An oversize frame closes that socket with 1009.
    let mut big = app.connect_visitor(&bad, Vec::new()).await;
    let huge = format!(
        r#"{{"type":"send","client_id":"big","body":"{}"}}"#,
        "x".repeat(70 * 1024)
    );
    big.send_raw(Message::text(huge)).await;
    assert_eq!(big.expect_close().await, Some(close_code::TOO_BIG));
    still_chatting(&mut good_ws, &mut agent_ws).await;

    // Invalid UTF-8 in a text frame closes that socket with 1007.
    let mut broken = app.connect_visitor(&bad, Vec::new()).await;
    broken
        .send_raw(Message::Frame(Frame::message(
            vec![b'{', 0xff, 0xfe, b'}'],
            OpCode::Data(Data::Text),
            true,
        )))
        .await;
    assert_eq!(
        broken.expect_close().await,
        Some(close_code::INVALID_PAYLOAD)
    );
    still_chatting(&mut good_ws, &mut agent_ws).await;
}

async fn each_supervisor_and_admin_route_needs_its_role(backend: Backend) {
    let app = spawn_app(backend).await;
    let agent = app.create_agent("Plain Paul", 3, &[app.demo_site.id]).await;
    let site = app.demo_site.id;
    let agent_id = agent.id();
    let empty = serde_json::json!({});
    let new_agent = serde_json::json!({
        "email": "made-by-paul@example.test", "display_name": "Made", "password": "long-enough-1",
        "role": "admin", "sites": [site],
    });
    let new_site = serde_json::json!({ "name": "Paul's", "allowed_origins": [] });
    let department = serde_json::json!({ "name": "Paul's desk" });
    let requests = [
        (Method::GET, "/api/v1/agents".to_owned(), None),
        (Method::POST, "/api/v1/agents".to_owned(), Some(&new_agent)),
        (
            Method::PATCH,
            format!("/api/v1/agents/{agent_id}"),
            Some(&empty),
        ),
        (Method::POST, "/api/v1/sites".to_owned(), Some(&new_site)),
        (Method::PATCH, format!("/api/v1/sites/{site}"), Some(&empty)),
        (
            Method::POST,
            format!("/api/v1/sites/{site}/departments"),
            Some(&department),
        ),
        (Method::GET, "/api/v1/leads".to_owned(), None),
        (Method::GET, "/api/v1/leads.csv".to_owned(), None),
        (
            Method::GET,
            "/api/v1/conversations?scope=site".to_owned(),
            None,
        ),
    ];
    for (method, path, body) in &requests {
        let mut request = app
            .http
            .request(method.clone(), format!("{}{path}", app.address))
            .bearer_auth(&agent.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        let error = api_error(response, 403).await;
        assert_eq!(error.code, ErrorCode::Forbidden, "{method} {path}");
    }
    // Nothing was made; the agent's own list still works.
    let agents: Vec<bellhop_protocol::api::AgentProfile> =
        app.get_json("/api/v1/agents", &app.admin_token).await;
    assert!(
        agents
            .iter()
            .all(|a| a.email != "made-by-paul@example.test")
    );
    let mine = app
        .get("/api/v1/conversations?scope=mine", &agent.token)
        .await;
    assert_eq!(mine.status(), 200);
}

async fn origins_match_by_scheme_host_and_port(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = app.create_site("Shop", &["https://shop.example"]).await;
    let session = |origin: &'static str| {
        let request = app
            .http
            .post(format!("{}/api/v1/widget/session", app.address))
            .header("Origin", origin)
            .json(&serde_json::json!({ "widget_key": shop.widget_key }));
        async move { request.send().await.unwrap() }
    };
    for allowed in [
        "https://shop.example",
        "https://SHOP.example",
        "https://shop.example:443",
    ] {
        assert_eq!(session(allowed).await.status(), 200, "{allowed}");
    }
    for refused in [
        "http://shop.example",
        "https://shop.example:8443",
        "https://shop.example.evil.test",
        "null",
    ] {
        let error = api_error(session(refused).await, 403).await;
        assert_eq!(error.code, ErrorCode::OriginNotAllowed, "{refused}");
    }
    // An allow-list entry must be an origin, not a URL or a bare host.
    for bad in [
        "https://shop.example/checkout",
        "shop.example",
        "ftp://shop.example",
    ] {
        let body = serde_json::json!({ "name": "Bad", "allowed_origins": [bad] });
        let error = api_error(
            app.post("/api/v1/sites", &app.admin_token, &body).await,
            400,
        )
        .await;
        assert_eq!(error.code, ErrorCode::InvalidRequest, "{bad}");
        assert!(
            error.message.contains("is not an origin"),
            "{}",
            error.message
        );
    }
}

async fn an_over_long_transfer_note_is_refused_and_the_chat_stays(backend: Backend) {
    let app = spawn_app(backend).await;
    let (first, mut first_ws) = app.online_agent("First Fay", 3).await;
    let visitor = app.new_visitor(&app.demo_site).await;
    let (_visitor_ws, chat) = open_chat(&app, &visitor, "please hand me over").await;
    next_assignment(&mut first_ws).await;
    let (second, mut second_ws) = app.online_agent("Second Sam", 3).await;
    let note = "n".repeat(2001);
    first_ws
        .send(&transfer_to_agent(chat, second.id(), Some(&note)))
        .await;
    assert_eq!(first_ws.expect_error().await.0, ErrorCode::InvalidRequest);
    second_ws.expect_silence(Duration::from_millis(300)).await;
    let conversation: bellhop_protocol::frames::Conversation = app
        .get_json(&format!("/api/v1/conversations/{chat}"), &app.admin_token)
        .await;
    assert_eq!(conversation.agent.map(|a| a.id), Some(first.id()));
}
