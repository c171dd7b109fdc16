//! Business hours, the offline form, leads and their CSV export; inactivity and missed chats.

use std::time::Duration;

use bellhop_protocol::ErrorCode;
use bellhop_protocol::api::Weekday::{Fri, Mon, Sat, Sun, Thu, Tue, Wed};
use bellhop_protocol::api::{
    Availability, BusinessHours, ClosedReason, LeadKind, LeadList, LeadSubmission, OpeningInterval,
    PageContext, SiteConfig, SiteSettings, WidgetConfig,
};
use bellhop_protocol::frames::{AuthorKind, ServerFrame};
use bellhop_tests::{
    Backend, Client, TestVisitor, agent_says, both_backends, next_assignment, spawn_app,
    spawn_app_with, visitor_says, visitor_send,
};
use chrono::{Days, Utc};

both_backends!(
    outside_business_hours_a_visitor_leaves_a_lead_that_exports_intact,
    silent_chats_close_and_unanswered_ones_count_as_missed,
);

async fn configure(app: &Client, config: SiteConfig) {
    let response = app.configure_demo_site(config).await;
    assert_eq!(
        response.status(),
        200,
        "{}",
        response.text().await.unwrap_or_default()
    );
}

/// A GET from the widget on the visitor's page: no session, the page's origin.
async fn widget_get(app: &Client, visitor: &TestVisitor, path: &str) -> reqwest::Response {
    app.http
        .get(format!("{}{path}", app.address))
        .header("Origin", &visitor.origin)
        .send()
        .await
        .unwrap()
}

async fn widget_config(app: &Client, visitor: &TestVisitor) -> WidgetConfig {
    let response = widget_get(app, visitor, "/api/v1/widget/config?key=demo").await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// A site in Asia/Vladivostok, closed today and tomorrow there, whatever the machine's clock
/// and zone: the widget is told it is outside hours and given the offline form; a first
/// message is refused with `offline`; the form's submission, Cyrillic and quotes and UTM
/// parameters included, comes out of the CSV export intact.
async fn outside_business_hours_a_visitor_leaves_a_lead_that_exports_intact(backend: Backend) {
    let app = spawn_app(backend).await;
    let (agent, _agent_ws) = app.online_agent("On Duty", 3).await;
    let zone: chrono_tz::Tz = "Asia/Vladivostok".parse().unwrap();
    let today = Utc::now().with_timezone(&zone).date_naive();
    let closed_dates = [today, today + Days::new(1)]
        .iter()
        .map(|d| d.format("%Y-%m-%d").to_string())
        .collect();
    let weekly = [Mon, Tue, Wed, Thu, Fri, Sat, Sun]
        .into_iter()
        .map(|day| OpeningInterval {
            day,
            open: "09:00".into(),
            close: "18:00".into(),
        })
        .collect();
    let mut config = SiteConfig {
        business_hours: Some(BusinessHours {
            time_zone: "Asia/Vladivostok".into(),
            weekly,
            closed_dates,
        }),
        ..SiteConfig::default()
    };
    config.offline_form.consent_text = Some("Я согласен на обработку персональных данных".into());
    configure(&app, config).await;

    let visitor = app.new_visitor(&app.demo_site).await;
    let widget = widget_config(&app, &visitor).await;
    let Availability {
        open,
        reason,
        next_open_at,
    } = widget.availability;
    assert!(
        !open,
        "closed today in Vladivostok even though an agent is online"
    );
    assert_eq!(reason, Some(ClosedReason::OutsideHours));
    assert!(next_open_at.is_some_and(|t| t > Utc::now().timestamp_millis()));
    assert!(widget.offline_form.enabled);
    assert!(
        widget
            .offline_form
            .fields
            .iter()
            .any(|f| f.name == "email" && f.required)
    );

    // The queue is not offered: a first message is refused.
    let mut ws = app.connect_visitor(&visitor, Vec::new()).await;
    ws.send(&visitor_send("too-late", "Здравствуйте!", None))
        .await;
    assert_eq!(
        ws.expect_error().await,
        (ErrorCode::Offline, Some("too-late".to_owned()))
    );

    let submit = |consent: bool| {
        LeadSubmission {
        kind: LeadKind::Offline,
        department_id: None,
        fields: [
            ("name", "Анна \"Аня\" Каренина"),
            ("email", "anna@example.ru"),
            ("message", "Перезвоните, пожалуйста,\nзавтра после 10:00"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect(),
        consent,
        page: PageContext {
            landing_page: Some(
                "https://shop.example/sale?utm_source=yandex&utm_medium=cpc&utm_campaign=%D0%B7%D0%B8%D0%BC%D0%B0"
                    .into(),
            ),
            current_page: Some("https://shop.example/cart".into()),
            referrer: Some("https://ya.ru/search?text=%D1%88%D1%83%D0%B1%D0%B0".into()),
        },
    }
    };
    let post = async |body: LeadSubmission| app.post_lead(&visitor, &body).await;
    // Consent is required by this form; the refusal is readable by the widget (CORS).
    let response = post(submit(false)).await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.headers()["access-control-allow-origin"]
            .to_str()
            .unwrap(),
        visitor.origin
    );
    let error: bellhop_protocol::error::ApiError = response.json().await.unwrap();
    assert_eq!(error.code, ErrorCode::InvalidRequest);
    assert_eq!(error.message, "consent is required");
    let preflight = app
        .http
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/api/v1/widget/leads", app.address),
        )
        .header("Origin", &visitor.origin)
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    // Anything else under the widget's paths is not found, not an empty success.
    let stray = widget_get(&app, &visitor, "/api/v1/widget/leads").await;
    assert_eq!(stray.status(), 404);
    assert!(
        preflight.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("authorization")
    );
    let response = post(submit(true)).await;
    assert_eq!(response.status(), 201);

    let list: LeadList = app
        .get_json("/api/v1/leads?kind=offline", &app.admin_token)
        .await;
    assert_eq!(list.leads.len(), 1);
    assert_eq!(list.leads[0].visitor_id, Some(visitor.visitor_id));

    let response = app.get("/api/v1/leads.csv", &app.admin_token).await;
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("text/csv; charset=utf-8"),
        "{content_type}"
    );
    let body = response.bytes().await.unwrap();
    let text = std::str::from_utf8(&body).expect("UTF-8");
    assert!(text.contains("\r\n"), "RFC 4180 line ends");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1);
    let column = |name: &str| {
        let i = headers
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"));
        rows[0][i].to_owned()
    };
    assert_eq!(column("name"), "Анна \"Аня\" Каренина");
    assert_eq!(
        column("message"),
        "Перезвоните, пожалуйста,\nзавтра после 10:00"
    );
    assert_eq!(column("kind"), "offline");
    assert_eq!(column("consent"), "yes");
    assert_eq!(column("utm_source"), "yandex");
    assert_eq!(column("utm_medium"), "cpc");
    assert_eq!(column("utm_campaign"), "зима");
    assert_eq!(column("current_page"), "https://shop.example/cart");

    // Agents do not read leads; supervisors and admins do.
    assert_eq!(
        app.get("/api/v1/leads.csv", &agent.token).await.status(),
        403
    );
}

/// A chat whose visitor goes silent is closed with a message; one nobody answered counts as
/// missed, one an agent answered does not.
async fn silent_chats_close_and_unanswered_ones_count_as_missed(backend: Backend) {
    let app = spawn_app_with(backend, |config| config.routing.inactivity_sweep_ms = 100).await;
    let config = SiteConfig {
        inactivity_timeout_secs: 1,
        inactivity_message: "Closed for inactivity.".into(),
        ..SiteConfig::default()
    };
    configure(&app, config).await;
    let site: SiteSettings = app
        .get_json(
            &format!("/api/v1/sites/{}", app.demo_site.id),
            &app.admin_token,
        )
        .await;
    assert_eq!(site.config.inactivity_timeout_secs, 1);

    // Nobody online: the visitor waits, goes silent, and the chat closes as missed.
    let (_, mut unanswered, _) = app.open_chat(&app.demo_site, None, "hello?").await;
    let closed = unanswered
        .expect("close", |f| {
            matches!(f, ServerFrame::ConversationClosed { .. })
        })
        .await;
    assert!(
        matches!(&closed, ServerFrame::ConversationClosed { conversation } if conversation.missed)
    );
    assert!(unanswered.skipped().any(|f| matches!(f, ServerFrame::Message { message } if message.author == AuthorKind::System && message.body == "Closed for inactivity.")));

    // Answered, then silent: closed, not missed; the agent is told too.
    let (_, mut agent_ws) = app.online_agent("Answering", 3).await;
    let (_, mut answered, chat) = app.open_chat(&app.demo_site, None, "hi there").await;
    next_assignment(&mut agent_ws).await;
    agent_says(&mut agent_ws, "reply", "Hello! How can I help?", chat).await;
    let closed = answered
        .expect("close", |f| {
            matches!(f, ServerFrame::ConversationClosed { .. })
        })
        .await;
    assert!(
        matches!(&closed, ServerFrame::ConversationClosed { conversation } if !conversation.missed && conversation.id == chat)
    );
    agent_ws
        .expect("close", |f| {
            matches!(f, ServerFrame::ConversationClosed { .. })
        })
        .await;
    // A visitor who leaves (ends the chat) before anyone answered: missed.
    agent_ws
        .set_status(bellhop_protocol::frames::AgentStatus::Away)
        .await;
    let (_, mut leaver, left) = app.open_chat(&app.demo_site, None, "never mind").await;
    leaver
        .send(&bellhop_protocol::frames::VisitorFrame::Close {
            conversation_id: left,
        })
        .await;
    let closed = leaver
        .expect("close", |f| {
            matches!(f, ServerFrame::ConversationClosed { .. })
        })
        .await;
    assert!(
        matches!(&closed, ServerFrame::ConversationClosed { conversation } if conversation.missed && conversation.id == left)
    );
    agent_ws
        .send(&bellhop_protocol::frames::AgentFrame::SetStatus {
            status: bellhop_protocol::frames::AgentStatus::Online,
        })
        .await;

    // A visitor who keeps talking is not closed.
    let (_, mut talker, chat) = app.open_chat(&app.demo_site, None, "let me think").await;
    for i in 0..6 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let id = format!("still-{i}");
        visitor_says(&mut talker, &id, "still here", Some(chat)).await;
    }
    assert!(
        !talker
            .skipped()
            .any(|f| matches!(f, ServerFrame::ConversationClosed { .. }))
    );
}
