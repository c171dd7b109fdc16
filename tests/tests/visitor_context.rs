//! The visitor panel beside a chat: who the visitor is (their form, or what the site's server
//! vouched for), where they are (page, UTM, browser, local time) and their other chats, for
//! whoever may read the conversation.

use std::collections::BTreeMap;

use bellhop_protocol::api::{
    FieldKind, FormField, LeadKind, LeadSubmission, PageContext, SiteConfig, VisitorProfile,
};
use bellhop_protocol::console::VisitorContext;
use bellhop_protocol::{ConversationId, ErrorCode};
use bellhop_tests::{
    Backend, Client, TestVisitor, agent_says, both_backends, next_assignment, spawn_app,
};
use serde_json::json;

both_backends!(
    the_panel_shows_the_visitors_form_page_browser_and_past_chats,
    a_verified_visitor_is_named_by_the_site_and_bad_session_values_are_dropped,
);

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

async fn context(app: &Client, chat: ConversationId, token: &str) -> VisitorContext {
    app.get_json(&format!("/api/v1/conversations/{chat}/context"), token)
        .await
}

async fn close(app: &Client, token: &str, chat: ConversationId) {
    let response = app
        .post(
            &format!("/api/v1/conversations/{chat}/close"),
            token,
            &json!({}),
        )
        .await;
    assert_eq!(response.status(), 200);
}

async fn prechat(app: &Client, visitor: &TestVisitor, fields: &[(&str, &str)], landing: &str) {
    let submission = LeadSubmission {
        kind: LeadKind::Prechat,
        department_id: None,
        fields: fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        consent: false,
        page: PageContext {
            landing_page: Some(landing.into()),
            current_page: Some("https://shop.example/checkout".into()),
            referrer: None,
        },
    };
    assert_eq!(app.post_lead(visitor, &submission).await.status(), 201);
}

/// The widget's session tells the page (with UTM), the browser and the time zone; the panel
/// shows them until the visitor fills in the pre-chat form, whose name, email, phone and page
/// then win. Text that looks like markup comes back as the text it is. The visitor's earlier
/// chat is listed with its agent and rating; the agent, any agent of the site and the
/// visitor read it; a stranger's token finds nothing. The old profile route still answers.
async fn the_panel_shows_the_visitors_form_page_browser_and_past_chats(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut config = SiteConfig::default();
    config.prechat_form.enabled = true;
    config.prechat_form.fields.push(FormField {
        name: "phone".into(),
        label: "Phone".into(),
        kind: FieldKind::Phone,
        required: false,
    });
    assert_eq!(app.configure_demo_site(config).await.status(), 200);
    let (agent, mut agent_ws) = app.online_agent("Maya Chen", 3).await;
    let visitor = app
        .widget_session(
            &app.demo_site,
            json!({
                "page": {
                    "landing_page": "https://shop.example/sale?utm_source=newsletter&utm_campaign=spring",
                    "current_page": "https://shop.example/boots",
                    "referrer": "https://mail.example/"
                },
                "time_zone": "Europe/Berlin"
            }),
            Some(FIREFOX),
        )
        .await;
    let ws = app.connect_visitor(&visitor, Vec::new()).await;
    let (ws, first) = app.reopen_chat(&visitor, ws, None, "my first chat").await;
    next_assignment(&mut agent_ws).await;

    let panel = context(&app, first, &agent.token).await;
    assert_eq!(panel.visitor_id, visitor.visitor_id);
    assert_eq!(panel.utm.source.as_deref(), Some("newsletter"));
    assert_eq!(panel.utm.campaign.as_deref(), Some("spring"));
    assert_eq!(
        panel.page.current_page.as_deref(),
        Some("https://shop.example/boots")
    );
    assert_eq!(
        panel.page.referrer.as_deref(),
        Some("https://mail.example/")
    );
    assert_eq!(panel.user_agent.as_deref(), Some(FIREFOX));
    assert_eq!(panel.time_zone.as_deref(), Some("Europe/Berlin"));
    assert_eq!((panel.name.as_deref(), panel.verified), (None, false));
    assert!(panel.past_conversations.is_empty());

    agent_says(&mut agent_ws, "answer-1", "Hello! How can I help?", first).await;
    close(&app, &agent.token, first).await;
    let rated = app
        .visitor_post(
            &visitor,
            &format!("/api/v1/widget/conversations/{first}/rating"),
            &json!({ "score": 4 }),
        )
        .await;
    assert_eq!(rated.status(), 200);
    let markup = "<script>alert(\"x\")</script> Анна";
    prechat(
        &app,
        &visitor,
        &[
            ("name", markup),
            ("email", "anna@example.ru"),
            ("phone", "+7 (999) 123-45-67"),
        ],
        "https://shop.example/?utm_source=Google&utm_medium=cpc",
    )
    .await;
    let attributes = app
        .visitor_post(
            &visitor,
            "/api/v1/widget/attributes",
            &json!({ "attributes": { "note": "<img src=x onerror=alert(1)>" } }),
        )
        .await;
    assert_eq!(attributes.status(), 200);
    let (_ws, second) = app.reopen_chat(&visitor, ws, None, "me again").await;
    next_assignment(&mut agent_ws).await;

    let panel = context(&app, second, &agent.token).await;
    assert_eq!(panel.name.as_deref(), Some(markup));
    assert_eq!(panel.email.as_deref(), Some("anna@example.ru"));
    assert_eq!(panel.phone.as_deref(), Some("+7 (999) 123-45-67"));
    assert_eq!(
        panel.utm.source.as_deref(),
        Some("Google"),
        "the form's page now"
    );
    assert_eq!(panel.utm.medium.as_deref(), Some("cpc"));
    assert_eq!(
        panel.page.current_page.as_deref(),
        Some("https://shop.example/checkout")
    );
    assert_eq!(
        panel.page_attributes["note"],
        "<img src=x onerror=alert(1)>"
    );
    assert_eq!(panel.user_agent.as_deref(), Some(FIREFOX));
    let past: Vec<_> = panel.past_conversations.iter().map(|c| c.id).collect();
    assert_eq!(past, vec![first]);
    let earlier = &panel.past_conversations[0];
    assert_eq!(
        earlier.agent.as_ref().map(|a| a.display_name.as_str()),
        Some("Maya Chen")
    );
    assert!(!earlier.missed && earlier.closed_at.is_some());
    assert_eq!(earlier.rating.as_ref().map(|r| r.score), Some(4));

    // The same rule as the transcript: any agent of the site, an admin, the visitor.
    let colleague = app.create_agent("Colleague", 3, &[app.demo_site.id]).await;
    for token in [&colleague.token, &app.admin_token, &visitor.token] {
        assert_eq!(context(&app, second, token).await, panel);
    }
    let from_first = context(&app, first, &app.admin_token).await;
    let past: Vec<_> = from_first.past_conversations.iter().map(|c| c.id).collect();
    assert_eq!(past, vec![second]);
    assert_eq!(from_first.past_conversations[0].closed_at, None);

    let other_site = app.create_site("Other", &["https://other.example"]).await;
    let stranger = app.create_agent("Stranger", 3, &[other_site.id]).await;
    let other_visitor = app.new_visitor(&app.demo_site).await;
    let path = format!("/api/v1/conversations/{second}/context");
    for token in [&stranger.token, &other_visitor.token] {
        assert_eq!(app.get_error(&path, token, 404).await, ErrorCode::NotFound);
    }
    assert_eq!(
        app.get_error(&path, "bs1_nobody", 401).await,
        ErrorCode::Unauthorized
    );

    let profile: VisitorProfile = app
        .get_json(
            &format!("/api/v1/conversations/{second}/visitor"),
            &agent.token,
        )
        .await;
    assert_eq!(profile.visitor_id, visitor.visitor_id);
    assert_eq!(profile.page_attributes, panel.page_attributes);
}

/// A visitor the site's server vouched for is named by its signed attributes and marked
/// verified. A session's unknown time zone or over-long page address is left out rather than
/// failing the session; a later session's values replace the stored ones, and what it leaves
/// out stays.
async fn a_verified_visitor_is_named_by_the_site_and_bad_session_values_are_dropped(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let secret = "site-secret-0123456789";
    let config = SiteConfig {
        identity_secret: Some(secret.into()),
        ..SiteConfig::default()
    };
    assert_eq!(app.configure_demo_site(config).await.status(), 200);
    let attributes: BTreeMap<String, serde_json::Value> = [
        ("name".to_owned(), json!("Ada Lovelace")),
        ("email".to_owned(), json!("ada@example.test")),
        ("vip".to_owned(), json!(true)),
    ]
    .into();
    let signature = bellhop_server::auth::identity::sign(secret, "customer-7", &attributes);
    let identity = json!({
        "user_id": "customer-7",
        "attributes": attributes,
        "signature": signature,
    });
    let visitor = app
        .widget_session(
            &app.demo_site,
            json!({
                "identity": identity,
                "page": {
                    "landing_page": "https://shop.example/?utm_source=partner",
                    "referrer": format!("https://ads.example/?{}", "x".repeat(2100))
                },
                "time_zone": "Mars/Olympus_Mons"
            }),
            None,
        )
        .await;
    let ws = app.connect_visitor(&visitor, Vec::new()).await;
    let (_ws, chat) = app.reopen_chat(&visitor, ws, None, "hello").await;

    let panel = context(&app, chat, &app.admin_token).await;
    assert!(panel.verified);
    assert_eq!(panel.user_id.as_deref(), Some("customer-7"));
    assert_eq!(panel.name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(panel.email.as_deref(), Some("ada@example.test"));
    assert_eq!(panel.verified_attributes["vip"], true);
    assert_eq!(panel.utm.source.as_deref(), Some("partner"));
    assert_eq!(panel.page.referrer, None, "too long to keep");
    assert_eq!(panel.time_zone, None, "not a time zone");
    assert_eq!(panel.user_agent, None);

    app.widget_session(
        &app.demo_site,
        json!({
            "identity": identity,
            "page": { "current_page": "https://shop.example/tents" },
            "time_zone": "Asia/Tokyo"
        }),
        Some(FIREFOX),
    )
    .await;
    let panel = context(&app, chat, &app.admin_token).await;
    assert_eq!(panel.time_zone.as_deref(), Some("Asia/Tokyo"));
    assert_eq!(
        panel.page.current_page.as_deref(),
        Some("https://shop.example/tents")
    );
    assert_eq!(
        panel.utm.source.as_deref(),
        Some("partner"),
        "the landing page stays"
    );
    assert_eq!(panel.user_agent.as_deref(), Some(FIREFOX));
}
