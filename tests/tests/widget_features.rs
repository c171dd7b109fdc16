//! The widget's features beyond the plain chat, in a real browser against the real server:
//! sneak peek, read marks, attachments, the rating and the mailed transcript after a chat
//! (`tests/browser/widget_live.mjs`), a site's colour, side, greeting, language and offline
//! form (`tests/browser/widget_site.mjs`), and a browser that denies the panel its storage
//! (`tests/browser/widget_storage.mjs`), and `Bellhop.setDepartment`
//! (`tests/browser/widget_department.mjs`). Screenshots go to `target/screenshots/`.

use std::time::Duration;

use bellhop_protocol::api::{
    BusinessHours, ConversationList, Department, GreetingAudience, GreetingRule, LeadKind,
    LeadList, NewDepartmentRequest, SiteConfig, VisitorProfile, WidgetConfig, WidgetPosition,
};
use bellhop_protocol::frames::{AgentFrame, AuthorKind, ServerFrame};
use bellhop_protocol::{ClientMessageId, MessageBody};
use bellhop_server::config::SmtpConfig;
use bellhop_tests::browser;
use bellhop_tests::host_page::{HostSite, Page};
use bellhop_tests::smtp_sink::SmtpSink;
use bellhop_tests::{Backend, Client, both_backends, next_assignment, spawn_app_with};

both_backends!(
    a_visitor_peeks_reads_sends_a_picture_rates_and_gets_the_transcript,
    a_site_greets_in_its_colour_and_language_and_takes_a_message_when_closed,
    where_the_panel_may_not_store_the_page_keeps_the_chat,
    set_department_sends_the_chat_to_that_queue,
);

/// A customer's page with the widget, in `lang`.
fn page(server: &str, key: &str, lang: &str, heading: &str) -> String {
    format!(
        r#"<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{heading}</title><link rel="icon" href="data:,"></head>
<body><h1>{heading}</h1><p>Hiking gear since 1998.</p>
<script src="{server}/widget.js" data-site="{key}" async></script>
</body></html>"#
    )
}

fn agent_text(id: &str, text: &str) -> (ClientMessageId, MessageBody) {
    (
        ClientMessageId::parse(id.into()).expect("an id"),
        MessageBody::parse(text.into()).expect("a body"),
    )
}

async fn a_visitor_peeks_reads_sends_a_picture_rates_and_gets_the_transcript(backend: Backend) {
    let sink = SmtpSink::start().await;
    let smtp_port = sink.port();
    let app = spawn_app_with(backend, move |config| {
        config.smtp = Some(SmtpConfig {
            poll_ms: 50,
            ..SmtpConfig::plain("127.0.0.1", smtp_port, "Northwind <help@northwind.test>")
        });
    })
    .await;
    let client: &Client = &app;
    let server = format!("http://127.0.0.1:{}", client.port);
    let host = HostSite::start().await;
    let site = client.create_site("Northwind", &[&host.origin()]).await;
    host.set_pages(vec![Page {
        path: "/",
        html: page(&server, &site.widget_key, "en", "Northwind Outfitters"),
        csp: None,
    }]);
    let mut config = SiteConfig::default();
    config.attachments.max_bytes = 1024 * 1024;
    config.widget.sound = true;
    assert_eq!(client.configure_site(site.id, config).await.status(), 200);

    let agent = client.create_agent("Maya Chen", 3, &[site.id]).await;
    let mut agent_ws = client.connect_agent(&agent).await;
    let agent_token = agent.token.clone();
    let port = client.port;
    let agent_side = tokio::spawn(async move {
        let conversation = next_assignment(&mut agent_ws).await;
        // Sneak peeks until the masked card number is there (the visitor pauses after it),
        // then the empty one of the cleared draft (the visitor has closed the panel by then).
        let mut peeks = Vec::new();
        let mut seen_card = false;
        loop {
            if let ServerFrame::Peek { text, .. } = agent_ws.next_frame().await {
                seen_card |= text.contains("•••• •••• •••• ••••");
                let cleared = text.is_empty();
                peeks.push(text);
                if seen_card && cleared {
                    break;
                }
            }
        }
        let (id, body) = agent_text("reply-1", "Let me look at your order.");
        agent_ws
            .send(&AgentFrame::Send {
                client_id: id,
                conversation_id: conversation.id,
                body,
            })
            .await;
        // The visitor, panel open, has read it.
        let visitor_read = match agent_ws
            .expect("the visitor's read mark", |f| {
                matches!(f, ServerFrame::Read { reader: AuthorKind::Visitor, seq, .. } if *seq >= 3)
            })
            .await
        {
            ServerFrame::Read { seq, .. } => seq,
            _ => 0,
        };
        agent_ws
            .send(&AgentFrame::Read {
                conversation_id: conversation.id,
                seq: visitor_read,
            })
            .await;
        // The picture arrives as a message with its file.
        let picture = loop {
            if let ServerFrame::Message { message } = agent_ws.next_frame().await
                && message.attachment.is_some()
            {
                break message;
            }
        };
        let attachment = picture.attachment.clone().expect("a file");
        let downloaded = reqwest::Client::new()
            .get(format!(
                "http://127.0.0.1:{port}/api/v1/attachments/{}",
                attachment.id
            ))
            .bearer_auth(&agent_token)
            .send()
            .await
            .expect("the download");
        assert_eq!(downloaded.status(), 200);
        let bytes = downloaded.bytes().await.expect("the file");
        // Then the visitor's goodbye, and the agent closes the chat.
        loop {
            if let ServerFrame::Message { message } = agent_ws.next_frame().await
                && message.body.contains("that is all")
            {
                break;
            }
        }
        agent_ws
            .send(&AgentFrame::Close {
                conversation_id: conversation.id,
            })
            .await;
        let rated = agent_ws
            .expect("the rating", |f| {
                matches!(f, ServerFrame::ConversationRated { .. })
            })
            .await;
        (conversation.id, peeks, picture, bytes, rated, agent_ws)
    });

    let email = "ada@example.test";
    let outcome = checked_scenario(
        backend,
        "widget_live.mjs",
        vec![
            ("HOST_URL", format!("{}/", host.origin())),
            ("VISITOR_EMAIL", email.into()),
        ],
    )
    .await;
    let (conversation, peeks, picture, bytes, rated, _agent_ws) =
        tokio::time::timeout(Duration::from_secs(30), agent_side)
            .await
            .expect("the agent's side finished")
            .expect("the agent's side");

    // Sneak peek: the draft, masked before it left the browser.
    assert!(
        peeks
            .iter()
            .all(|p| !p.contains("4111") && !p.contains("1111")),
        "{peeks:?}"
    );
    assert!(
        peeks.iter().any(|p| p == "my card is •••• •••• •••• ••••"),
        "{peeks:?}"
    );
    // ... masked in the browser: no frame the panel sent held the digits.
    assert!(outcome["peeksSent"].as_u64().unwrap_or(0) >= 1);
    assert_eq!(outcome["framesWithDigits"], 0);
    // The reply came while the panel was closed: a badge, the count in the title, one chime.
    assert_eq!(outcome["badge"], "1");
    assert_eq!(outcome["chimesBeforeReply"], 0);
    assert_eq!(outcome["chimesAfterReply"], 1);
    assert_eq!(outcome["titleWhileClosed"], "(1) Northwind Outfitters");
    // Read marks both ways.
    let states = outcome["statesAfterAgentRead"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(states.iter().all(|s| s == "Read"), "{states:?}");
    // The picture: a thumbnail for the visitor, the same PNG for the agent.
    assert_eq!(outcome["attachShown"], true);
    assert_eq!(outcome["thumb"]["width"], 160);
    assert_eq!(outcome["thumb"]["height"], 100);
    assert_eq!(outcome["thumb"]["alt"], "order-photo.png");
    let attachment = picture.attachment.expect("a file");
    assert_eq!(attachment.content_type, "image/png");
    assert_eq!(attachment.name, "order-photo.png");
    assert_eq!(Some(bytes.len() as u64), outcome["pngBytes"].as_u64());
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
    assert_eq!(picture.author, AuthorKind::Visitor);
    // The disguised page and the oversize file were refused, with clear words.
    let disguised = outcome["disguisedNotice"].as_str().unwrap_or_default();
    assert_eq!(disguised, "This type of file cannot be sent.");
    let oversize = outcome["oversizeNotice"].as_str().unwrap_or_default();
    assert!(
        oversize.contains("too large") && oversize.contains("1 MB"),
        "{oversize}"
    );
    assert_eq!(
        outcome["messagesWithFiles"], 1,
        "only the picture was stored"
    );
    let transcript = client.transcript(conversation, &client.admin_token).await;
    let files = transcript
        .messages
        .iter()
        .filter(|m| m.attachment.is_some())
        .count();
    assert_eq!(files, 1);
    // The rating: stored, and told to the agent.
    let ServerFrame::ConversationRated { rating, .. } = rated else {
        panic!("not a rating: {rated:?}");
    };
    assert_eq!(rating.score, 4);
    assert_eq!(
        rating.comment.as_deref(),
        Some("Быстро и вежливо, спасибо!")
    );
    assert_eq!(outcome["ratedText"], "Thank you for your rating!");
    let serious: Vec<_> = outcome["axeAfterChat"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|v| v["impact"] == "serious" || v["impact"] == "critical")
        .collect();
    assert!(
        serious.is_empty(),
        "axe-core on the rating form: {serious:?}"
    );
    // The transcript, mailed through the SMTP server.
    assert_eq!(outcome["mailShown"], true);
    assert_eq!(
        outcome["mailedText"],
        format!("The transcript is on its way to {email}.")
    );
    let mails = sink.wait_for(1, Duration::from_secs(20)).await;
    let mail = mails.first().expect("the transcript mail");
    assert_eq!(mail.rcpt_to, [email.to_owned()]);
    let text = mail.text();
    for line in [
        "hi, a question about my order",
        "Let me look at your order.",
        "order-photo.png",
    ] {
        assert!(text.contains(line), "the transcript has {line:?}: {text}");
    }
    assert!(!text.contains("4111"), "no sneak peek in the transcript");
    // Bellhop.setAttributes, called before the panel had its session, reached the agents.
    let profile: VisitorProfile = client
        .get_json(
            &format!("/api/v1/conversations/{conversation}/visitor"),
            &client.admin_token,
        )
        .await;
    assert_eq!(
        serde_json::to_value(&profile.page_attributes).ok(),
        Some(serde_json::json!({ "plan": "pro", "cart_total": 129.5 }))
    );
}

async fn a_site_greets_in_its_colour_and_language_and_takes_a_message_when_closed(
    backend: Backend,
) {
    let app = spawn_app_with(backend, |_| {}).await;
    let client: &Client = &app;
    let server = format!("http://127.0.0.1:{}", client.port);
    let host = HostSite::start().await;
    let site = client
        .create_site("Северный ветер", &[&host.origin()])
        .await;
    host.set_pages(vec![Page {
        path: "/",
        html: page(&server, &site.widget_key, "ru", "Северный ветер"),
        csp: None,
    }]);
    let mut config = SiteConfig {
        // Closed every day: the widget offers the offline form.
        business_hours: Some(BusinessHours {
            time_zone: "Europe/Moscow".into(),
            weekly: Vec::new(),
            closed_dates: Vec::new(),
        }),
        ..SiteConfig::default()
    };
    config.widget.color = "#7a1f5c".into();
    config.widget.position = WidgetPosition::Left;
    config.greetings = vec![
        GreetingRule {
            text: "Only on the returns page".into(),
            url_contains: Some("/returns".into()),
            after_secs: 0,
            audience: GreetingAudience::Everyone,
        },
        GreetingRule {
            text: "Подсказать с размером?".into(),
            url_contains: None,
            after_secs: 1,
            audience: GreetingAudience::New,
        },
    ];
    assert_eq!(client.configure_site(site.id, config).await.status(), 200);
    let russian: WidgetConfig = reqwest::Client::new()
        .get(format!(
            "{server}/api/v1/widget/config?key={}&lang=ru",
            site.widget_key
        ))
        .header("origin", host.origin())
        .send()
        .await
        .expect("the config")
        .json()
        .await
        .expect("a widget config");

    let outcome = checked_scenario(
        backend,
        "widget_site.mjs",
        vec![("HOST_URL", format!("{}/", host.origin()))],
    )
    .await;

    assert_eq!(
        outcome["greeting"]
            .as_str()
            .map(|g| g.trim_end_matches('×')),
        Some("Подсказать с размером?")
    );
    assert!(outcome["greetingAfterMs"].as_f64().unwrap_or(0.0) >= 1000.0);
    assert_eq!(outcome["greetingAgain"], false, "once per visitor");
    assert_eq!(outcome["greetingHiddenWhenOpen"], true);
    assert_eq!(outcome["bubbleColor"], "rgb(122, 31, 92)");
    assert_eq!(outcome["headColor"], "rgb(122, 31, 92)");
    assert!(
        outcome["bubbleBox"]["x"].as_f64().unwrap_or(1e9) < 100.0,
        "on the left: {}",
        outcome["bubbleBox"]
    );
    assert_eq!(outcome["panelLang"], "ru");
    assert_eq!(russian.language, "ru");
    assert_eq!(
        outcome["bubbleLabel"].as_str(),
        russian.texts.get("open_chat").map(String::as_str)
    );
    assert_eq!(
        outcome["heading"].as_str(),
        russian.texts.get("offline_intro").map(String::as_str)
    );
    assert_eq!(
        outcome["thanks"].as_str(),
        russian.texts.get("lead_thanks").map(String::as_str)
    );
    assert_eq!(outcome["title"].as_str(), Some("Северный ветер"));
    let leads: LeadList = client.get_json("/api/v1/leads", &client.admin_token).await;
    let lead = leads.leads.first().expect("the offline form's lead");
    assert_eq!(lead.kind, LeadKind::Offline);
    assert_eq!(lead.name.as_deref(), Some("Алексей Смирнов"));
    assert_eq!(lead.message.as_deref(), Some("Перезвоните мне, пожалуйста"));
}

async fn where_the_panel_may_not_store_the_page_keeps_the_chat(backend: Backend) {
    let app = spawn_app_with(backend, |_| {}).await;
    let client: &Client = &app;
    let server = format!("http://127.0.0.1:{}", client.port);
    let host = HostSite::start().await;
    let site = client.create_site("Northwind", &[&host.origin()]).await;
    host.set_pages(vec![
        Page {
            path: "/",
            html: page(&server, &site.widget_key, "en", "Northwind Outfitters"),
            csp: None,
        },
        Page {
            path: "/next",
            html: page(&server, &site.widget_key, "en", "Backpacks"),
            csp: None,
        },
    ]);
    let agent = client.create_agent("Maya Chen", 3, &[site.id]).await;
    let mut agent_ws = client.connect_agent(&agent).await;
    let agent_side = tokio::spawn(async move {
        let conversation = next_assignment(&mut agent_ws).await;
        let (id, body) = agent_text("hello-1", "Hello from Maya");
        agent_ws
            .send(&AgentFrame::Send {
                client_id: id,
                conversation_id: conversation.id,
                body,
            })
            .await;
        (conversation.id, agent_ws)
    });

    let outcome = checked_scenario(
        backend,
        "widget_storage.mjs",
        vec![
            ("HOST_URL", format!("{}/", host.origin())),
            ("NEXT_URL", format!("{}/next", host.origin())),
        ],
    )
    .await;
    let (conversation, _agent_ws) = agent_side.await.expect("the agent's side");

    assert_eq!(
        outcome["panelStorage"], "denied",
        "the panel ran without storage"
    );
    let keys = outcome["pageKeys"].as_array().cloned().unwrap_or_default();
    for kept in ["token", "snapshot"] {
        let key = format!("bellhop:{}:{kept}", site.widget_key);
        assert!(
            keys.iter().any(|k| k == &key),
            "the page keeps the panel's {kept}: {keys:?}"
        );
    }
    assert_eq!(outcome["afterReload"]["first"], 1);
    assert_eq!(outcome["afterReload"]["beforeReload"], 1);
    assert_eq!(outcome["afterReload"]["replies"], 1);
    assert_eq!(outcome["afterNavigation"]["first"], 1);
    assert_eq!(outcome["afterNavigation"]["replies"], 1);
    let transcript = client.transcript(conversation, &client.admin_token).await;
    let visitor: Vec<&str> = transcript
        .messages
        .iter()
        .filter(|m| m.author == AuthorKind::Visitor)
        .map(|m| m.body.as_str())
        .collect();
    assert_eq!(visitor, ["first message", "sent before reload"]);
}

async fn set_department_sends_the_chat_to_that_queue(backend: Backend) {
    let app = spawn_app_with(backend, |_| {}).await;
    let client: &Client = &app;
    let server = format!("http://127.0.0.1:{}", client.port);
    let host = HostSite::start().await;
    let site = client.create_site("Northwind", &[&host.origin()]).await;
    host.set_pages(vec![Page {
        path: "/",
        html: page(&server, &site.widget_key, "en", "Northwind Outfitters"),
        csp: None,
    }]);
    let returns: Department = client
        .post(
            &format!("/api/v1/sites/{}/departments", site.id),
            &client.admin_token,
            &NewDepartmentRequest {
                name: "Returns & Exchanges".into(),
                fallback_id: None,
                hours: None,
            },
        )
        .await
        .json()
        .await
        .expect("the department");

    let outcome = checked_scenario(
        backend,
        "widget_department.mjs",
        vec![
            ("HOST_URL", format!("{}/", host.origin())),
            ("DEPARTMENT", returns.name.clone()),
        ],
    )
    .await;
    assert_eq!(outcome["choice"], "Returns & Exchanges");
    let list: ConversationList = client
        .get_json("/api/v1/conversations?scope=site", &client.admin_token)
        .await;
    let chat = list
        .conversations
        .iter()
        .find(|c| c.site_id == site.id)
        .expect("the visitor's chat");
    assert_eq!(chat.department_id, Some(returns.id));
    assert_ne!(Some(site.default_department_id), chat.department_id);
}

/// A scenario that must also have run without a browser error.
async fn checked_scenario(
    backend: Backend,
    script: &'static str,
    env: Vec<(&'static str, String)>,
) -> serde_json::Value {
    let outcome = browser::scenario(backend, script, env).await;
    let errors = outcome["errors"].as_array().cloned().unwrap_or_default();
    assert!(errors.is_empty(), "the browser reported errors: {errors:?}");
    outcome
}
