//! "Email me the transcript": the visitor asks for a chat's transcript, the server queues the
//! mail in its outbox and sends it over SMTP to a real SMTP server started by the test,
//! retrying when the server answers "try again later".

use std::time::Duration;

use bellhop_protocol::ConversationId;
use bellhop_protocol::ErrorCode;
use bellhop_protocol::api::WidgetConfig;
use bellhop_server::config::{Config, SmtpConfig};
use bellhop_server::store::NewMail;
use bellhop_tests::child::ChildServer;
use bellhop_tests::fixtures::open_store;
use bellhop_tests::smtp_sink::SmtpSink;
use bellhop_tests::{
    Backend, Client, TestDb, TestVisitor, agent_says, api_error, both_backends, spawn_app,
    spawn_app_with, visitor_says,
};

both_backends!(
    the_transcript_arrives_by_mail_with_every_message_in_order,
    a_mail_the_server_refuses_at_first_arrives_after_a_retry_exactly_once,
    without_smtp_transcripts_are_not_offered,
    transcripts_go_only_to_valid_addresses_of_the_visitors_own_chats_a_few_an_hour,
    the_outbox_leases_each_mail_to_one_sender_at_a_time,
    a_queued_mail_survives_sigkill_and_is_sent_after_the_restart,
);

const FROM: &str = "help@bellhop.test";
const MAIL_WAIT: Duration = Duration::from_secs(15);

/// The server sends through `sink`, retrying quickly.
fn through(sink: &SmtpSink) -> impl FnOnce(&mut Config) + use<> {
    let port = sink.port();
    move |config: &mut Config| {
        config.smtp = Some(SmtpConfig {
            retry_base_ms: 200,
            retry_max_ms: 1_000,
            poll_ms: 50,
            timeout_secs: 5,
            ..SmtpConfig::plain("127.0.0.1", port, &format!("Bellhop Help <{FROM}>"))
        });
    }
}

/// The visitor's widget asks for the transcript (visitor token, the page's origin).
async fn ask(
    app: &Client,
    visitor: &TestVisitor,
    conversation: ConversationId,
    body: &serde_json::Value,
) -> reqwest::Response {
    app.visitor_post(
        visitor,
        &format!("/api/v1/widget/conversations/{conversation}/transcript"),
        body,
    )
    .await
}

async fn widget_config(app: &Client, visitor: &TestVisitor) -> WidgetConfig {
    let response = app
        .http
        .get(format!("{}/api/v1/widget/config?key=demo", app.address))
        .header("Origin", &visitor.origin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// With SMTP configured the widget offers transcripts; a served chat's transcript, asked for
/// while the chat is open, reaches the sink once: envelope and `To` name the visitor's
/// address, the subject names the site, and the body lists every message in order with its
/// author — the visitor, the automatic reply as the system, the agent by name — Cyrillic
/// intact.
async fn the_transcript_arrives_by_mail_with_every_message_in_order(backend: Backend) {
    let sink = SmtpSink::start().await;
    let app = spawn_app_with(backend, through(&sink)).await;
    let (_agent, mut agent_ws) = app.online_agent("Нина Петрова", 3).await;
    let (visitor, mut ws, chat) = app.assigned_chat(&mut agent_ws, "Здравствуйте!").await;
    assert!(widget_config(&app, &visitor).await.transcript_email);
    agent_says(&mut agent_ws, "a-1", "Добрый день, чем помочь?", chat).await;
    visitor_says(
        &mut ws,
        "v-2",
        "Где мой заказ №42?\nОн не пришёл.",
        Some(chat),
    )
    .await;

    let response = ask(
        &app,
        &visitor,
        chat,
        &serde_json::json!({ "email": "Visitor@Example.TEST" }),
    )
    .await;
    assert_eq!(response.status(), 202);

    let mails = sink.wait_for(1, MAIL_WAIT).await;
    let mail = &mails[0];
    assert_eq!(mail.rcpt_to, ["visitor@example.test"]);
    assert_eq!(mail.mail_from, FROM);
    assert!(
        mail.header("To").unwrap().contains("visitor@example.test"),
        "{:?}",
        mail.header("To")
    );
    let subject = mail.header("Subject").unwrap();
    assert!(
        subject.starts_with(&format!("Your chat with {} on ", app.demo_site.name)),
        "{subject}"
    );
    let text = mail.text();
    assert!(
        text.starts_with(&format!("Your chat with {}\nStarted ", app.demo_site.name)),
        "{text}"
    );
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with('['))
        .map(|l| l.split_once("] ").unwrap().1)
        .collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert_eq!(lines[0], "Visitor: Здравствуйте!");
    assert!(lines[1].starts_with("System: "), "{text}");
    assert_eq!(lines[2], "Нина Петрова: Добрый день, чем помочь?");
    assert_eq!(lines[3], "Visitor: Где мой заказ №42?");
    assert!(text.contains("\n    Он не пришёл.\n"), "{text}");

    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.received().len(), 1, "sent once");
}

/// The SMTP server answers the first attempt `451`: the mail stays in the outbox, is tried
/// again after the backoff, and arrives exactly once, the site's Cyrillic name intact in its
/// subject.
async fn a_mail_the_server_refuses_at_first_arrives_after_a_retry_exactly_once(backend: Backend) {
    let sink = SmtpSink::refusing_first(1).await;
    let app = spawn_app_with(backend, through(&sink)).await;
    let site = app
        .create_site("Магазин «Север»", &["https://sever.example"])
        .await;
    let (visitor, _ws, chat) = app.open_chat(&site, None, "Привет").await;
    let response = ask(
        &app,
        &visitor,
        chat,
        &serde_json::json!({ "email": "v@example.test" }),
    )
    .await;
    assert_eq!(response.status(), 202);
    let mails = sink.wait_for(1, MAIL_WAIT).await;
    assert_eq!(sink.refused(), 1, "the first attempt was refused");
    let subject = mails[0].header("Subject").unwrap();
    assert!(
        subject.starts_with("Your chat with Магазин «Север» on "),
        "{subject}"
    );
    assert!(mails[0].text().contains("Visitor: Привет\n"));
    // Several sweeps later, still once.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(sink.received().len(), 1, "sent exactly once");
}

/// Without an `[smtp]` section the widget does not offer transcripts and asking for one is
/// `404` saying so.
async fn without_smtp_transcripts_are_not_offered(backend: Backend) {
    let app = spawn_app(backend).await;
    let (visitor, _ws, chat) = app.open_chat(&app.demo_site, None, "hello").await;
    assert!(!widget_config(&app, &visitor).await.transcript_email);
    let response = ask(
        &app,
        &visitor,
        chat,
        &serde_json::json!({ "email": "v@example.test" }),
    )
    .await;
    let error = api_error(response, 404).await;
    assert_eq!(error.code, ErrorCode::NotFound);
    assert_eq!(error.message, "transcripts by email are not configured");
}

/// A malformed address is `400`; another visitor's chat is `404`; the sixth transcript in an
/// hour is `429` with `Retry-After`; only the accepted ones are mailed.
async fn transcripts_go_only_to_valid_addresses_of_the_visitors_own_chats_a_few_an_hour(
    backend: Backend,
) {
    let sink = SmtpSink::start().await;
    let app = spawn_app_with(backend, through(&sink)).await;
    let (visitor, _ws, chat) = app.open_chat(&app.demo_site, None, "hello").await;
    for bad in [
        serde_json::json!({ "email": "not an address" }),
        serde_json::json!({ "email": "" }),
        serde_json::json!({ "email": "v@example.test", "cc": "x@example.test" }),
        serde_json::json!({}),
    ] {
        let error = api_error(ask(&app, &visitor, chat, &bad).await, 400).await;
        assert_eq!(error.code, ErrorCode::InvalidRequest, "{bad}");
    }
    let stranger = app.new_visitor(&app.demo_site).await;
    let theirs = ask(
        &app,
        &stranger,
        chat,
        &serde_json::json!({ "email": "s@example.test" }),
    )
    .await;
    assert_eq!(api_error(theirs, 404).await.code, ErrorCode::NotFound);

    let email = serde_json::json!({ "email": "v@example.test" });
    for _ in 0..5 {
        assert_eq!(ask(&app, &visitor, chat, &email).await.status(), 202);
    }
    let over = ask(&app, &visitor, chat, &email).await;
    assert!(over.headers().contains_key("retry-after"));
    assert_eq!(api_error(over, 429).await.code, ErrorCode::RateLimited);
    sink.wait_for(5, MAIL_WAIT).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.received().len(), 5);
    assert!(
        sink.received()
            .iter()
            .all(|m| m.rcpt_to == ["v@example.test"])
    );
}

/// The outbox as several senders see it: a due mail is claimed by one of two concurrent
/// claims, not again while its lease runs, again once it ends (a sender that died), at its
/// retry time after a failure, never after it was sent or given up on.
async fn the_outbox_leases_each_mail_to_one_sender_at_a_time(backend: Backend) {
    let (_db, store) = open_store(backend, 4).await;
    let mail = |n: u32| NewMail {
        recipient: format!("v{n}@example.test"),
        subject: format!("mail {n}"),
        body: "Привет".into(),
        visitor_id: None,
    };
    let now = 1_000_000;
    for n in 0..6 {
        store.queue_mail(&mail(n), now).await.unwrap();
    }
    let (a, b) = tokio::join!(
        store.claim_due_mail(now, 10_000, 10),
        store.claim_due_mail(now, 10_000, 10)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.len() + b.len(), 6, "every mail claimed once");
    assert!(a.iter().all(|m| !b.iter().any(|o| o.id == m.id)));
    assert!(
        a.iter()
            .chain(&b)
            .all(|m| m.attempts == 1 && m.body == "Привет")
    );
    let claimed: Vec<_> = a.into_iter().chain(b).collect();
    // Leased: nobody else takes them meanwhile.
    assert!(
        store
            .claim_due_mail(now + 9_999, 10_000, 10)
            .await
            .unwrap()
            .is_empty()
    );

    let (sent, failed, given_up) = (&claimed[0], &claimed[1], &claimed[2]);
    store.mail_sent(sent.id, now + 1).await.unwrap();
    store
        .mail_failed(failed.id, "451 try again later", Some(now + 500))
        .await
        .unwrap();
    store
        .mail_failed(given_up.id, "550 no such user", None)
        .await
        .unwrap();
    let retried = store.claim_due_mail(now + 500, 10_000, 10).await.unwrap();
    assert_eq!(retried.len(), 1);
    assert_eq!((retried[0].id, retried[0].attempts), (failed.id, 2));
    // The lease of the other three ended (their sender died): they are due again, once.
    let again = store
        .claim_due_mail(now + 10_000, 10_000, 10)
        .await
        .unwrap();
    let mut again: Vec<_> = again.into_iter().map(|m| m.id).collect();
    let mut expected: Vec<_> = claimed[3..].iter().map(|m| m.id).collect();
    again.sort();
    expected.sort();
    assert_eq!(again, expected);
    assert!(
        store
            .claim_due_mail(now + 10_000, 10_000, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// The SMTP server refuses for now; the server process is killed with SIGKILL right then,
/// while the mail waits for its retry or while its attempt is still under way (its claim then
/// runs out after twice the SMTP timeout and a few seconds); started again on the same
/// database, it sends the mail, once.
async fn a_queued_mail_survives_sigkill_and_is_sent_after_the_restart(backend: Backend) {
    let binary = env!("CARGO_BIN_EXE_bellhop-under-test");
    let sink = SmtpSink::refusing_first(u32::MAX).await;
    let port = sink.port().to_string();
    let env = [
        ("BELLHOP_SMTP__HOST", "127.0.0.1"),
        ("BELLHOP_SMTP__PORT", port.as_str()),
        ("BELLHOP_SMTP__FROM", FROM),
        ("BELLHOP_SMTP__TLS", "none"),
        ("BELLHOP_SMTP__RETRY_BASE_MS", "300"),
        ("BELLHOP_SMTP__RETRY_MAX_MS", "600"),
        ("BELLHOP_SMTP__POLL_MS", "50"),
        ("BELLHOP_SMTP__TIMEOUT_SECS", "1"),
    ];
    let db = TestDb::create(backend).await;
    let server = ChildServer::start_with_env(binary, db.url(), &env).await;
    let client = Client::attach(server.port).await;
    let (visitor, _ws, chat) = client
        .open_chat(&client.demo_site, None, "Сохраните, пожалуйста")
        .await;
    let email = serde_json::json!({ "email": "v@example.test" });
    assert_eq!(ask(&client, &visitor, chat, &email).await.status(), 202);
    sink.wait_for_refusals(1, MAIL_WAIT).await;
    server.kill().await;

    sink.refuse_next(0);
    let restarted = ChildServer::start_with_env(binary, db.url(), &env).await;
    let mails = sink.wait_for(1, Duration::from_secs(20)).await;
    assert!(mails[0].text().contains("Visitor: Сохраните, пожалуйста\n"));
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    assert_eq!(sink.received().len(), 1, "sent once");
    drop(restarted);
}
