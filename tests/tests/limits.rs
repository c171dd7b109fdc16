//! Abuse limits on the public endpoints: spreadsheet-safe CSV, security headers, close codes,
//! `not_found` for other sites' conversations, and rate limits on what a visitor can send.

use std::time::Duration;

use bellhop_client::Credentials;
use bellhop_protocol::api::{ConversationList, LeadKind, LeadList, LeadSubmission, PageContext};
use bellhop_protocol::api::{TranscriptPage, WidgetSessionResponse};
use bellhop_protocol::frames::{AgentFrame, ResumePoint, VisitorFrame};
use bellhop_protocol::frames::{AuthorKind, ServerFrame};
use bellhop_protocol::{ConversationId, ErrorCode, VisitorId, close_code};
use bellhop_server::config::LimitsConfig;
use bellhop_tests::ws::Dial;
use bellhop_tests::{
    Backend, Client, FRAME_TIMEOUT, TestVisitor, WsClient, agent_send, api_error, both_backends,
    send_pipelined, spawn_app, spawn_app_with, visitor_says,
};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

both_backends!(
    a_lead_that_looks_like_a_formula_exports_as_text,
    answers_carry_security_headers,
    broken_frames_close_with_their_codes,
    another_sites_conversation_is_not_found_on_the_agent_socket,
    a_visitor_flooding_messages_is_rate_limited_and_the_socket_stays_open,
    widget_sessions_from_one_address_stop_at_the_limit,
    leads_from_one_address_stop_at_the_limit,
    a_typing_flood_reaches_the_agent_coalesced,
    a_visitor_opening_chat_after_chat_stops_at_the_hourly_limit,
    chats_opened_from_one_address_stop_at_the_limit,
    behind_a_proxy_the_forwarded_address_counts,
    sockets_from_one_address_stop_at_the_limit,
    sockets_of_one_visitor_stop_at_the_limit,
    sockets_of_one_agent_stop_at_the_limit,
    resume_points_are_bounded_per_hello,
    an_agent_typing_flood_reaches_the_visitor_coalesced,
    the_leads_list_pages_through_every_lead_exactly_once,
);

/// A server with the abuse limits at their documented defaults.
async fn spawn_limited(backend: Backend) -> bellhop_tests::TestApp {
    spawn_app_with(backend, |config| config.limits = LimitsConfig::default()).await
}

/// A 429 `rate_limited` answer with a `Retry-After` of 1 to `max` seconds.
async fn assert_rate_limited(response: reqwest::Response, max: u64) {
    let retry: u64 = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a Retry-After in seconds");
    assert!((1..=max).contains(&retry), "Retry-After {retry}");
    assert_eq!(api_error(response, 429).await.code, ErrorCode::RateLimited);
}

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
    app.post_lead(visitor, &submission).await
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

/// A visitor writing 60 messages at once, far faster than anyone types, gets the burst of 20
/// stored and `rate_limited` for the rest, each error carrying its send's `client_id`; the
/// socket stays open, so after a pause the same visitor writes again; every acked message is
/// in the transcript exactly once and no refused one is. Another visitor chats normally.
async fn a_visitor_flooding_messages_is_rate_limited_and_the_socket_stays_open(backend: Backend) {
    let app = spawn_limited(backend).await;
    let (_visitor, mut flooder, chat) = app.open_chat(&app.demo_site, None, "hello").await;
    let (_other, mut calm, calm_chat) = app.open_chat(&app.demo_site, None, "hi there").await;

    send_pipelined(&mut flooder, "flood", 60, Some(chat)).await;
    let mut acked = Vec::new();
    let mut refused = Vec::new();
    while acked.len() + refused.len() < 60 {
        match flooder.next_frame().await {
            ServerFrame::Ack { client_id, .. } => acked.push(client_id.as_str().to_owned()),
            ServerFrame::Error {
                code: ErrorCode::RateLimited,
                client_id: Some(client_id),
                ..
            } => refused.push(client_id.as_str().to_owned()),
            ServerFrame::Error { code, .. } => panic!("unexpected error {code}"),
            _ => {}
        }
    }
    // The first message used one of the 20; the rest of the burst, and perhaps a message or
    // two of the steady 5/s, get through.
    assert!((19..=25).contains(&acked.len()), "acked {}", acked.len());
    assert_eq!(
        acked[..19],
        (0..19).map(|i| format!("flood-{i}")).collect::<Vec<_>>()[..]
    );
    assert!(refused.len() >= 35, "refused {}", refused.len());

    visitor_says(&mut calm, "calm-1", "all fine here", Some(calm_chat)).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    visitor_says(&mut flooder, "after-pause", "sorry", Some(chat)).await;

    let page: TranscriptPage = app
        .get_json(
            &format!("/api/v1/conversations/{chat}/messages?limit=500"),
            &app.admin_token,
        )
        .await;
    let bodies: Vec<&str> = page.messages.iter().map(|m| m.body.as_str()).collect();
    for id in &acked {
        let body = id.replace('-', " ");
        assert_eq!(bodies.iter().filter(|b| **b == body).count(), 1, "{body}");
    }
    for id in &refused {
        let body = id.replace('-', " ");
        assert!(
            !bodies.contains(&body.as_str()),
            "{body} was refused yet stored"
        );
    }
    assert!(bodies.contains(&"sorry"));
}

async fn widget_session(app: &Client) -> reqwest::Response {
    app.http
        .post(format!("{}/api/v1/widget/session", app.address))
        .header("Origin", &app.demo_site.allowed_origins[0])
        .json(&serde_json::json!({ "widget_key": app.demo_site.widget_key }))
        .send()
        .await
        .unwrap()
}

/// 60 widget sessions a minute from one address are served, the next one is `429` with
/// `Retry-After`; another address is served meanwhile.
async fn widget_sessions_from_one_address_stop_at_the_limit(backend: Backend) {
    let app = spawn_limited(backend).await;
    let flooder = app.from_address("127.0.0.2");
    for i in 0..60 {
        let response = widget_session(&flooder).await;
        assert_eq!(response.status(), 200, "session {i}");
    }
    assert_rate_limited(widget_session(&flooder).await, 60).await;
    let neighbour = app.from_address("127.0.0.3");
    let response = widget_session(&neighbour).await;
    assert_eq!(response.status(), 200);
    let session: WidgetSessionResponse = response.json().await.unwrap();
    assert_eq!(session.site_id, app.demo_site.id);
}

/// 20 form submissions an hour from one address are stored, the next is `429` and not
/// stored; another address is served meanwhile.
async fn leads_from_one_address_stop_at_the_limit(backend: Backend) {
    let app = spawn_limited(backend).await;
    let flooder = app.from_address("127.0.0.2");
    let visitor = flooder.new_visitor(&app.demo_site).await;
    let lead = |i: usize| {
        [
            ("name", format!("Spam {i}")),
            ("email", format!("spam{i}@example.test")),
            ("message", "buy now".to_owned()),
        ]
    };
    let post = |client: &Client, i: usize| {
        let fields = lead(i);
        let client = client.clone();
        let visitor = &visitor;
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            post_lead(&client, visitor, &fields).await
        }
    };
    for i in 0..20 {
        assert_eq!(post(&flooder, i).await.status(), 201, "lead {i}");
    }
    assert_rate_limited(post(&flooder, 20).await, 3600).await;
    let neighbour = app.from_address("127.0.0.3");
    assert_eq!(post(&neighbour, 21).await.status(), 201);
    let list: bellhop_protocol::api::LeadList =
        app.get_json("/api/v1/leads", &app.admin_token).await;
    assert_eq!(list.leads.len(), 21);
    assert!(
        list.leads
            .iter()
            .all(|l| l.name.as_deref() != Some("Spam 20"))
    );
}

/// 1 000 typing frames in a burst reach the agent as a handful (at most 3 starts a second,
/// each with its stop), and the last thing the agent sees is the visitor stopping.
async fn a_typing_flood_reaches_the_agent_coalesced(backend: Backend) {
    let app = spawn_limited(backend).await;
    let (_agent, mut agent_ws) = app.online_agent("Busy Bea", 3).await;
    let (_visitor, mut ws, chat) = app.assigned_chat(&mut agent_ws, "hello").await;
    let started = std::time::Instant::now();
    for i in 0..1000 {
        ws.send(&VisitorFrame::Typing {
            conversation_id: chat,
            typing: i % 2 == 0,
        })
        .await;
    }
    let mut seen = Vec::new();
    while let Some(Ok(frame)) = agent_ws.try_next_frame(Duration::from_millis(700)).await {
        if let ServerFrame::Typing { typing, .. } = frame {
            seen.push(typing);
        }
    }
    assert_typing_coalesced(&seen, started, "the agent");
}

/// What reached `whom` of a typing flood that began at `started`: something, at most 3
/// starts a second (each with its stop) beyond the burst of 3, and a stop last.
fn assert_typing_coalesced(seen: &[bool], started: std::time::Instant, whom: &str) {
    let secs = started.elapsed().as_secs_f64();
    let bound = 2 * (3 + (3.0 * secs).ceil() as usize);
    assert!(!seen.is_empty(), "typing still reaches {whom}");
    assert!(
        seen.len() <= bound,
        "{} typing frames in {secs:.1} s",
        seen.len()
    );
    assert_eq!(seen.last(), Some(&false), "{seen:?}");
}

/// Sends `client_id` from the visitor on `ws` without naming a conversation (opening one when
/// the visitor has none open) and returns the conversation of its `ack`, or the code of the
/// `error` that refused it (which must carry the send's `client_id`).
async fn try_open(ws: &mut WsClient, client_id: &str) -> Result<ConversationId, ErrorCode> {
    ws.send(&bellhop_tests::visitor_send(
        client_id,
        &format!("message {client_id}"),
        None,
    ))
    .await;
    let answer = ws
        .expect("the send's ack or error", |f| match f {
            ServerFrame::Ack { client_id: c, .. } => c.as_str() == client_id,
            ServerFrame::Error { client_id: c, .. } => {
                c.as_ref().is_some_and(|c| c.as_str() == client_id)
            }
            _ => false,
        })
        .await;
    match answer {
        ServerFrame::Ack {
            conversation_id, ..
        } => Ok(conversation_id),
        ServerFrame::Error { code, .. } => Err(code),
        _ => unreachable!(),
    }
}

/// Every conversation of the server, as an admin reads them.
async fn all_conversations(app: &Client) -> Vec<bellhop_protocol::frames::Conversation> {
    let list: ConversationList = app
        .get_json(
            "/api/v1/conversations?status=all&scope=site&limit=1000",
            &app.admin_token,
        )
        .await;
    list.conversations
}

fn conversations_of(
    all: &[bellhop_protocol::frames::Conversation],
    visitor: VisitorId,
) -> Vec<ConversationId> {
    all.iter()
        .filter(|c| c.visitor_id == visitor)
        .map(|c| c.id)
        .collect()
}

/// A script opens 30 chats one after the other from one visitor, closing each at once: the
/// 20 an hour a visitor may open are served, the other 10 `send`s are answered `rate_limited`
/// with their `client_id` and open nothing, and the socket stays open. A visitor elsewhere,
/// and another visitor at the same address, still open chats.
async fn a_visitor_opening_chat_after_chat_stops_at_the_hourly_limit(backend: Backend) {
    let app = spawn_app_with(backend, |config| {
        config.limits.visitor_conversations_per_hour =
            LimitsConfig::default().visitor_conversations_per_hour;
    })
    .await;
    let script = app.from_address("127.0.0.2");
    let visitor = script.new_visitor(&app.demo_site).await;
    let mut ws = script.connect_visitor(&visitor, Vec::new()).await;
    let mut opened = Vec::new();
    let mut refused = Vec::new();
    for i in 0..30 {
        let client_id = format!("open-{i}");
        match try_open(&mut ws, &client_id).await {
            Ok(conversation_id) => {
                opened.push(conversation_id);
                ws.send(&VisitorFrame::Close { conversation_id }).await;
            }
            Err(code) => {
                assert_eq!(code, ErrorCode::RateLimited, "{client_id}");
                refused.push(client_id);
            }
        }
    }
    assert_eq!(opened.len(), 20, "refused {refused:?}");
    assert_eq!(
        refused,
        (20..30).map(|i| format!("open-{i}")).collect::<Vec<_>>()
    );

    let neighbour = script.new_visitor(&app.demo_site).await;
    let mut neighbour_ws = script.connect_visitor(&neighbour, Vec::new()).await;
    assert!(try_open(&mut neighbour_ws, "neighbour").await.is_ok());
    let elsewhere = app.from_address("127.0.0.3");
    let (_, _ws, _chat) = elsewhere
        .open_chat(&app.demo_site, None, "hello from elsewhere")
        .await;

    let all = all_conversations(&app).await;
    let mut stored = conversations_of(&all, visitor.visitor_id);
    stored.sort();
    opened.sort();
    assert_eq!(stored, opened, "only the served sends opened chats");
}

/// Seven visitors behind one address each open a chat, with that address allowed 5 chats an
/// hour: five are served, the sixth and seventh are `rate_limited` and open nothing, and a
/// visitor at another address is served.
async fn chats_opened_from_one_address_stop_at_the_limit(backend: Backend) {
    let app = spawn_app_with(backend, |config| {
        config.limits.address_conversations_per_hour = 5;
    })
    .await;
    let office = app.from_address("127.0.0.2");
    let mut outcomes = Vec::new();
    let mut sockets = Vec::new();
    for i in 0..7 {
        let visitor = office.new_visitor(&app.demo_site).await;
        let mut ws = office.connect_visitor(&visitor, Vec::new()).await;
        outcomes.push((
            visitor.visitor_id,
            try_open(&mut ws, &format!("v{i}")).await,
        ));
        sockets.push(ws);
    }
    let served = outcomes.iter().filter(|(_, o)| o.is_ok()).count();
    assert_eq!(served, 5, "{outcomes:?}");
    let all = all_conversations(&app).await;
    for (visitor, outcome) in &outcomes[5..] {
        assert_eq!(outcome, &Err(ErrorCode::RateLimited));
        assert!(conversations_of(&all, *visitor).is_empty());
    }
    let elsewhere = app.from_address("127.0.0.3");
    let visitor = elsewhere.new_visitor(&app.demo_site).await;
    let mut ws = elsewhere.connect_visitor(&visitor, Vec::new()).await;
    assert!(try_open(&mut ws, "elsewhere").await.is_ok());
}

/// A visitor socket dialled as `dial` says, after a `welcome`.
async fn visitor_socket(app: &Client, visitor: &TestVisitor, dial: Dial) -> WsClient {
    let url = app.ws_url(&format!("/ws/v1/visitor?key={}", visitor.widget_key));
    let mut ws = WsClient::connect_with(&url, dial)
        .await
        .expect("visitor socket upgrade");
    ws.hello(
        Credentials::Visitor {
            token: visitor.token.clone(),
        },
        Vec::new(),
    )
    .await;
    ws.expect("welcome", |f| matches!(f, ServerFrame::Welcome { .. }))
        .await;
    ws
}

/// Behind a reverse proxy (`client_ip_header` set), the socket's client address is the one
/// the proxy forwarded, not the proxy's own: two visitors forwarded from one address share
/// its allowance of one chat an hour, a third forwarded from another address is served.
async fn behind_a_proxy_the_forwarded_address_counts(backend: Backend) {
    let app = spawn_app_with(backend, |config| {
        config.limits.client_ip_header = Some("X-Forwarded-For".into());
        config.limits.address_conversations_per_hour = 1;
    })
    .await;
    let forwarded = |address: &str, visitor: &TestVisitor| Dial {
        headers: vec![(
            "X-Forwarded-For".to_owned(),
            format!("198.51.100.250, {address}"),
        )],
        ..Dial::origin(Some(&visitor.origin))
    };
    let mut answers = Vec::new();
    for (i, address) in ["203.0.113.7", "203.0.113.7", "203.0.113.8"]
        .into_iter()
        .enumerate()
    {
        let visitor = app.new_visitor(&app.demo_site).await;
        let mut ws = visitor_socket(&app, &visitor, forwarded(address, &visitor)).await;
        answers.push(try_open(&mut ws, &format!("via-proxy-{i}")).await.map(drop));
    }
    assert_eq!(answers, [Ok(()), Err(ErrorCode::RateLimited), Ok(())]);
}

/// The upgrade of the socket over the limit is refused with `429` `rate_limited` and a
/// `Retry-After`.
fn assert_upgrade_rate_limited(result: Result<WsClient, tokio_tungstenite::tungstenite::Error>) {
    match result {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 429);
            let retry: u64 = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
                .expect("a Retry-After in seconds");
            assert!((1..=60).contains(&retry), "Retry-After {retry}");
            let body = response.body().as_deref().unwrap_or_default();
            let error: bellhop_protocol::error::ApiError =
                serde_json::from_slice(body).expect("error body");
            assert_eq!(error.code, ErrorCode::RateLimited);
        }
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("the socket over the limit was let in"),
    }
}

/// Retries `attempt` until it succeeds, for a limit that frees up once the server has seen a
/// socket close.
async fn eventually<T, F, Fut>(what: &str, mut attempt: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + FRAME_TIMEOUT;
    loop {
        if let Some(done) = attempt().await {
            return done;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} within {FRAME_TIMEOUT:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// With 3 sockets allowed per address, a fourth visitor socket from one address is refused
/// before the upgrade, while another address is served; agents logged in at that other
/// address do not use up its allowance; and once one of the three closes, the address is
/// served again.
async fn sockets_from_one_address_stop_at_the_limit(backend: Backend) {
    let app = spawn_app_with(backend, |config| config.limits.sockets_per_address = 3).await;
    let crowd = app.from_address("127.0.0.2");
    let mut sockets = Vec::new();
    for _ in 0..3 {
        let visitor = crowd.new_visitor(&app.demo_site).await;
        sockets.push(crowd.connect_visitor(&visitor, Vec::new()).await);
    }
    let url = app.ws_url("/ws/v1/visitor?key=demo");
    let origin = app.demo_site.allowed_origins[0].clone();
    assert_upgrade_rate_limited(WsClient::connect_with(&url, crowd.dial(Some(&origin))).await);

    let office = app.from_address("127.0.0.3");
    let agent = office
        .create_agent("Office Olga", 3, &[app.demo_site.id])
        .await;
    let mut agent_sockets = Vec::new();
    for _ in 0..5 {
        agent_sockets.push(office.connect_agent(&agent).await);
    }
    let visitor = office.new_visitor(&app.demo_site).await;
    let mut office_visitors = Vec::new();
    for _ in 0..3 {
        office_visitors.push(office.connect_visitor(&visitor, Vec::new()).await);
    }

    sockets.pop().expect("three sockets").close().await;
    let mut again = eventually("the address is served again", || async {
        WsClient::connect_with(&url, crowd.dial(Some(&origin)))
            .await
            .ok()
    })
    .await;
    let visitor = crowd.new_visitor(&app.demo_site).await;
    again
        .hello(
            Credentials::Visitor {
                token: visitor.token.clone(),
            },
            Vec::new(),
        )
        .await;
    again
        .expect("welcome", |f| matches!(f, ServerFrame::Welcome { .. }))
        .await;
}

/// The `hello` of a socket over its owner's limit is answered `error` `rate_limited` and the
/// socket closes with `4029`.
async fn assert_hello_refused_for_too_many_sockets(ws: &mut WsClient) {
    let (code, client_id) = ws.next_error().await;
    assert_eq!((code, client_id), (ErrorCode::RateLimited, None));
    assert_eq!(ws.expect_close().await, Some(close_code::TOO_MANY_SOCKETS));
}

/// One visitor with 3 sockets allowed opens a fourth (a fourth tab): its `hello` is refused
/// with `rate_limited` and close `4029`, the three others chat on, and once one closes a new
/// one is served.
async fn sockets_of_one_visitor_stop_at_the_limit(backend: Backend) {
    let app = spawn_app_with(backend, |config| config.limits.sockets_per_visitor = 3).await;
    let (visitor, mut first, chat) = app.open_chat(&app.demo_site, None, "hello").await;
    let second = app.connect_visitor(&visitor, Vec::new()).await;
    let _third = app.connect_visitor(&visitor, Vec::new()).await;
    let mut fourth = app
        .visitor_hello(&visitor, &visitor.token.clone(), Vec::new())
        .await;
    assert_hello_refused_for_too_many_sockets(&mut fourth).await;
    visitor_says(&mut first, "still-here", "still here", Some(chat)).await;

    second.close().await;
    eventually("a socket after one closed", || async {
        let mut ws = app
            .visitor_hello(&visitor, &visitor.token.clone(), Vec::new())
            .await;
        match ws.next_frame().await {
            ServerFrame::Welcome { .. } => Some(ws),
            _ => None,
        }
    })
    .await;
}

/// An agent allowed 2 sockets opens a third: its `hello` is refused with `rate_limited` and
/// close `4029`; the two others stay connected.
async fn sockets_of_one_agent_stop_at_the_limit(backend: Backend) {
    let app = spawn_app_with(backend, |config| config.limits.sockets_per_agent = 2).await;
    let (agent, mut first) = app.online_agent("Many Tabs", 3).await;
    let _second = app.connect_agent(&agent).await;
    let mut third = app.agent_hello(Some(&agent.token), Vec::new()).await;
    assert_hello_refused_for_too_many_sockets(&mut third).await;
    first
        .set_status(bellhop_protocol::frames::AgentStatus::Away)
        .await;
}

/// A `hello` naming 101 conversations to resume (the bound is 100) is answered
/// `invalid_request` and the socket waits for a better one; a `hello` naming 150 points that
/// merge into 100 (2 real conversations and 98 unknown ones) is welcomed, each unknown one
/// answered `not_found`, each real one replayed after its point.
async fn resume_points_are_bounded_per_hello(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_eq!(LimitsConfig::default().resume_points_per_hello, 100);
    let (visitor, ws, first) = app.open_chat(&app.demo_site, None, "first chat").await;
    let mut ws = ws;
    ws.send(&VisitorFrame::Close {
        conversation_id: first,
    })
    .await;
    let (mut ws, second) = app.reopen_chat(&visitor, ws, None, "second chat").await;
    visitor_says(&mut ws, "more", "and more", Some(second)).await;
    ws.close().await;

    let unknown = |n: usize| {
        (0..n)
            .map(|_| ResumePoint {
                conversation_id: ConversationId::from_uuid(uuid::Uuid::now_v7()),
                last_seq: 0,
            })
            .collect::<Vec<_>>()
    };
    let mut ws = app
        .visitor_hello(&visitor, &visitor.token.clone(), unknown(101))
        .await;
    // The replays start after the resume points, which the test's client core never saw.
    ws.allow_disorder();
    let refused = ws.next_frame().await;
    match refused {
        ServerFrame::Error { code, message, .. } => {
            assert_eq!(code, ErrorCode::InvalidRequest);
            assert!(message.contains("100"), "{message}");
        }
        other => panic!("expected an error, got {other:?}"),
    }

    let mut points = vec![
        ResumePoint {
            conversation_id: first,
            last_seq: 1,
        },
        ResumePoint {
            conversation_id: second,
            last_seq: 0,
        },
    ];
    let strangers = unknown(98);
    points.extend(strangers.iter().cloned());
    points.extend(strangers.iter().take(50).cloned());
    ws.send(&VisitorFrame::Hello {
        v: bellhop_protocol::PROTOCOL_VERSION,
        token: visitor.token.clone(),
        resume: points,
    })
    .await;
    assert!(matches!(ws.next_frame().await, ServerFrame::Welcome { .. }));
    let mut not_found = 0;
    let mut replayed: std::collections::HashMap<ConversationId, Vec<u64>> = Default::default();
    while let Some(frame) = ws.try_next_frame(Duration::from_millis(700)).await {
        match frame.expect("the socket stays open") {
            ServerFrame::Error {
                code: ErrorCode::NotFound,
                ..
            } => not_found += 1,
            ServerFrame::Message { message } => replayed
                .entry(message.conversation_id)
                .or_default()
                .push(message.seq),
            _ => {}
        }
    }
    assert_eq!(not_found, 98);
    for (conversation, after) in [(first, 1), (second, 0)] {
        let page = app.transcript(conversation, &app.admin_token).await;
        let expected: Vec<u64> = page
            .messages
            .iter()
            .map(|m| m.seq)
            .filter(|seq| *seq > after)
            .collect();
        assert_eq!(
            replayed.get(&conversation),
            Some(&expected),
            "{conversation}"
        );
    }
}

/// 1 000 typing frames from an agent in a burst reach the visitor as a handful (at most 3
/// starts a second, each with its stop), ending with the agent stopping; a flood of starts
/// followed by one stop also ends with the stop.
async fn an_agent_typing_flood_reaches_the_visitor_coalesced(backend: Backend) {
    let app = spawn_limited(backend).await;
    let (_agent, mut agent_ws) = app.online_agent("Quick Quinn", 3).await;
    let (_visitor, mut ws, chat) = app.assigned_chat(&mut agent_ws, "hello").await;
    let typing = |typing| AgentFrame::Typing {
        conversation_id: chat,
        typing,
    };
    async fn agent_typing_seen(ws: &mut WsClient) -> Vec<bool> {
        let mut seen = Vec::new();
        while let Some(Ok(frame)) = ws.try_next_frame(Duration::from_millis(700)).await {
            if let ServerFrame::Typing {
                typing,
                author: AuthorKind::Agent,
                ..
            } = frame
            {
                seen.push(typing);
            }
        }
        seen
    }

    let started = std::time::Instant::now();
    for i in 0..1000 {
        agent_ws.send(&typing(i % 2 == 0)).await;
    }
    let seen = agent_typing_seen(&mut ws).await;
    assert_typing_coalesced(&seen, started, "the visitor");

    for _ in 0..500 {
        agent_ws.send(&typing(true)).await;
    }
    agent_ws.send(&typing(false)).await;
    let seen = agent_typing_seen(&mut ws).await;
    assert_eq!(seen, [true, false]);
    // The agent still chats, unharmed by its own flood.
    bellhop_tests::agent_says(&mut agent_ws, "after-typing", "How can I help?", chat).await;
}

/// A marketer walks 55 leads in pages: 50 by default, then pages of 7 following the cursor,
/// newest first, every lead exactly once and in the order of the (complete) CSV export.
/// A cursor that is not one is `400` `invalid_request`.
async fn the_leads_list_pages_through_every_lead_exactly_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let visitor = app.new_visitor(&app.demo_site).await;
    for i in 0..55 {
        let name = format!("Lead {i}");
        let email = format!("lead{i}@example.test");
        let response = post_lead(
            &app,
            &visitor,
            &[("name", &name), ("email", &email), ("message", "call me")],
        )
        .await;
        assert_eq!(response.status(), 201);
    }
    let csv = app
        .get("/api/v1/leads.csv", &app.admin_token)
        .await
        .text()
        .await
        .unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let id_column = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "id")
        .unwrap();
    let exported: Vec<String> = reader
        .records()
        .map(|r| r.unwrap()[id_column].to_owned())
        .collect();
    assert_eq!(exported.len(), 55, "the export is complete");

    let first: LeadList = app.get_json("/api/v1/leads", &app.admin_token).await;
    assert_eq!(first.leads.len(), 50);
    let cursor = first.next_before.expect("more leads follow");
    let rest: LeadList = app
        .get_json(
            &format!("/api/v1/leads?before={cursor}&limit=500"),
            &app.admin_token,
        )
        .await;
    assert_eq!(rest.leads.len(), 5);
    assert!(rest.next_before.is_none());

    let mut walked = Vec::new();
    let mut pages = 0;
    let mut path = "/api/v1/leads?limit=7".to_owned();
    loop {
        let page: LeadList = app.get_json(&path, &app.admin_token).await;
        pages += 1;
        assert!(page.leads.len() <= 7);
        walked.extend(page.leads.iter().map(|l| l.id.to_string()));
        match page.next_before {
            Some(next) => path = format!("/api/v1/leads?limit=7&before={next}"),
            None => break,
        }
        assert!(pages < 20, "the cursor does not advance");
    }
    assert_eq!(pages, 8);
    assert_eq!(walked, exported);

    let one: LeadList = app
        .get_json("/api/v1/leads?limit=0", &app.admin_token)
        .await;
    assert_eq!(one.leads.len(), 1, "a limit below 1 counts as 1");
    let code = app
        .get_error("/api/v1/leads?before=yesterday", &app.admin_token, 400)
        .await;
    assert_eq!(code, ErrorCode::InvalidRequest);
}
