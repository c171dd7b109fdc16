//! Abuse limits on the public endpoints: spreadsheet-safe CSV, security headers, close codes,
//! `not_found` for other sites' conversations, and rate limits on what a visitor can send.

use std::time::Duration;

use bellhop_protocol::api::{LeadKind, LeadSubmission, PageContext};
use bellhop_protocol::frames::AgentFrame;
use bellhop_protocol::{ErrorCode, close_code};
use bellhop_tests::{
    Backend, Client, TestVisitor, agent_send, api_error, both_backends, spawn_app, visitor_says,
};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

both_backends!(
    a_lead_that_looks_like_a_formula_exports_as_text,
    answers_carry_security_headers,
    broken_frames_close_with_their_codes,
    another_sites_conversation_is_not_found_on_the_agent_socket,
);

async fn post_lead(
    app: &Client,
    visitor: &TestVisitor,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let submission = LeadSubmission {
        kind: LeadKind::Offline,
        department_id: None,
        fields: fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        consent: false,
        page: PageContext::default(),
    };
    app.http
        .post(format!("{}/api/v1/widget/leads", app.address))
        .bearer_auth(&visitor.token)
        .header("Origin", &visitor.origin)
        .json(&submission)
        .send()
        .await
        .unwrap()
}

/// An anonymous visitor plants `=HYPERLINK(...)` in a lead's name: the marketer's export shows
/// it as text (a leading `'`), never as a formula; an e-mail that begins like a formula is
/// refused outright.
async fn a_lead_that_looks_like_a_formula_exports_as_text(backend: Backend) {
    let app = spawn_app(backend).await;
    let visitor = app.new_visitor(&app.demo_site).await;
    let formula = "=HYPERLINK(\"http://x\",\"y\")";
    let refused = post_lead(
        &app,
        &visitor,
        &[
            ("name", "A"),
            ("email", "=1+1@evil.example"),
            ("message", "hi"),
        ],
    )
    .await;
    let error = api_error(refused, 400).await;
    assert_eq!(error.code, ErrorCode::InvalidRequest);
    assert_eq!(error.message, "Email is not an email address");

    let accepted = post_lead(
        &app,
        &visitor,
        &[
            ("name", formula),
            ("email", "nina@example.test"),
            ("message", "@SUM(1+1)*cmd|' /C calc'!A0"),
        ],
    )
    .await;
    assert_eq!(accepted.status(), 201);

    let response = app.get("/api/v1/leads.csv", &app.admin_token).await;
    assert_eq!(response.status(), 200);
    let body = response.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1, "only the accepted lead: {body}");
    let column = |name: &str| {
        let i = headers.iter().position(|h| h == name).unwrap();
        rows[0][i].to_owned()
    };
    assert_eq!(column("name"), format!("'{formula}"));
    assert_eq!(column("message"), "'@SUM(1+1)*cmd|' /C calc'!A0");
    assert_eq!(column("email"), "nina@example.test");
}

/// Every answer, API JSON, errors and the landing page alike, forbids sniffing, referrers,
/// loading anything foreign and framing.
async fn answers_carry_security_headers(backend: Backend) {
    let app = spawn_app(backend).await;
    let answers = [
        app.get("/api/v1/me", &app.admin_token).await,
        app.get("/api/v1/me", "not-a-token").await,
        app.http
            .get(format!("{}/", app.address))
            .send()
            .await
            .unwrap(),
        app.http
            .get(format!("{}/api/v1/widget/config?key=nope", app.address))
            .send()
            .await
            .unwrap(),
    ];
    for response in answers {
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_else(|| panic!("{} has no {name}", response.url()))
                .to_owned()
        };
        assert_eq!(header("x-content-type-options"), "nosniff");
        assert_eq!(header("referrer-policy"), "no-referrer");
        assert_eq!(header("x-frame-options"), "DENY");
        let csp = header("content-security-policy");
        assert!(csp.contains("default-src 'none'"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    }
}

/// A message fragmented into frames each under the limit but over it as a whole closes with
/// 1009; a frame with a reserved bit set closes with 1002; another visitor chats on.
async fn broken_frames_close_with_their_codes(backend: Backend) {
    let app = spawn_app(backend).await;
    let (visitor, mut good, chat) = app.open_chat(&app.demo_site, None, "still here").await;

    let mut fragmented = app.connect_visitor(&visitor, Vec::new()).await;
    let half = vec![b'x'; 40 * 1024];
    fragmented
        .send_raw(Message::Frame(Frame::message(
            half.clone(),
            OpCode::Data(Data::Text),
            false,
        )))
        .await;
    fragmented
        .send_raw(Message::Frame(Frame::message(
            half,
            OpCode::Data(Data::Continue),
            true,
        )))
        .await;
    assert_eq!(fragmented.expect_close().await, Some(close_code::TOO_BIG));

    let mut reserved = app.connect_visitor(&visitor, Vec::new()).await;
    let mut frame = Frame::message(b"{}".to_vec(), OpCode::Data(Data::Text), true);
    frame.header_mut().rsv1 = true;
    reserved.send_raw(Message::Frame(frame)).await;
    assert_eq!(reserved.expect_close().await, Some(1002));

    visitor_says(&mut good, "after", "still chatting", Some(chat)).await;
}

/// An agent naming another site's conversation, typing or sending, hears `not_found`, just as
/// for an id that does not exist; nothing is stored in it.
async fn another_sites_conversation_is_not_found_on_the_agent_socket(backend: Backend) {
    let app = spawn_app(backend).await;
    let other_site = app
        .create_site("Other shop", &["https://other.example"])
        .await;
    let (_agent, mut agent_ws) = app.online_agent("Demo Dana", 3).await;
    let (_visitor, _ws, chat) = app.open_chat(&other_site, None, "for the other shop").await;
    agent_ws.expect_silence(Duration::from_millis(300)).await;

    agent_ws
        .send(&AgentFrame::Typing {
            conversation_id: chat,
            typing: true,
        })
        .await;
    assert_eq!(agent_ws.next_error().await, (ErrorCode::NotFound, None));
    agent_ws.send(&agent_send("sneak", "hello?", chat)).await;
    assert_eq!(
        agent_ws.next_error().await,
        (ErrorCode::NotFound, Some("sneak".to_owned()))
    );
    let page: bellhop_protocol::api::TranscriptPage = app
        .get_json(
            &format!("/api/v1/conversations/{chat}/messages"),
            &app.admin_token,
        )
        .await;
    assert!(page.messages.iter().all(|m| m.body != "hello?"));
}
