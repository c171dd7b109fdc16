//! Leads for marketers: filters by department and by the landing page's UTM source, each
//! lead tied to its conversation, and a CSV export spreadsheets open with every script intact.

use bellhop_protocol::ConversationId;
use bellhop_protocol::api::{
    Department, Lead, LeadKind, LeadList, LeadSubmission, PageContext, SiteConfig,
};
use bellhop_tests::{Backend, Client, TestVisitor, both_backends, spawn_app};
use serde_json::json;

both_backends!(
    leads_belong_to_the_chat_they_opened_or_were_sent_from,
    marketers_filter_by_department_and_source_and_export_cyrillic_intact,
);

fn submission(
    kind: LeadKind,
    name: &str,
    landing: &str,
    department: Option<&Department>,
) -> LeadSubmission {
    LeadSubmission {
        kind,
        department_id: department.map(|d| d.id),
        fields: [
            ("name", name),
            ("email", "lead@example.test"),
            ("message", "Позвоните мне"),
        ]
        .into_iter()
        .filter(|(field, _)| kind == LeadKind::Offline || *field != "message")
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect(),
        consent: false,
        page: PageContext {
            landing_page: Some(landing.into()),
            current_page: None,
            referrer: None,
        },
    }
}

async fn send_lead(app: &Client, visitor: &TestVisitor, lead: &LeadSubmission) -> Lead {
    let response = app.post_lead(visitor, lead).await;
    assert_eq!(
        response.status(),
        201,
        "{}",
        response.text().await.unwrap_or_default()
    );
    response.json().await.unwrap()
}

async fn leads(app: &Client, query: &str) -> Vec<Lead> {
    let list: LeadList = app
        .get_json(&format!("/api/v1/leads{query}"), &app.admin_token)
        .await;
    list.leads
}

async fn lead_named(app: &Client, name: &str) -> Lead {
    leads(app, "")
        .await
        .into_iter()
        .find(|l| l.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("no lead of {name}"))
}

async fn close(app: &Client, chat: ConversationId) {
    let response = app
        .post(
            &format!("/api/v1/conversations/{chat}/close"),
            &app.admin_token,
            &json!({}),
        )
        .await;
    assert_eq!(response.status(), 200);
}

fn forms_on() -> SiteConfig {
    let mut config = SiteConfig::default();
    config.prechat_form.enabled = true;
    config
}

/// A pre-chat form belongs to the chat its visitor opens next (and keeps it when they open
/// another later); a form sent while a chat is open belongs to that one at once; an offline
/// form with no chat belongs to none, nor does a pre-chat form more than an hour before the
/// chat.
async fn leads_belong_to_the_chat_they_opened_or_were_sent_from(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_eq!(app.configure_demo_site(forms_on()).await.status(), 200);
    let site = &app.demo_site;

    // Ann fills in the pre-chat form, then writes: the form opened that chat.
    let ann = app.new_visitor(site).await;
    let lead = send_lead(
        &app,
        &ann,
        &submission(LeadKind::Prechat, "Ann", "https://shop.example/", None),
    )
    .await;
    assert_eq!(lead.conversation_id, None, "no chat yet");
    let ws = app.connect_visitor(&ann, Vec::new()).await;
    let (ws, first) = app.reopen_chat(&ann, ws, None, "hello").await;
    assert_eq!(lead_named(&app, "Ann").await.conversation_id, Some(first));
    close(&app, first).await;
    let (_ws, second) = app.reopen_chat(&ann, ws, None, "back again").await;
    assert_ne!(second, first);
    assert_eq!(
        lead_named(&app, "Ann").await.conversation_id,
        Some(first),
        "a lead keeps its chat"
    );

    // Bob is chatting when he sends the offline form: it belongs to that chat at once.
    let (bob, _bob_ws, bobs_chat) = app.open_chat(site, None, "hi").await;
    let lead = send_lead(
        &app,
        &bob,
        &submission(LeadKind::Offline, "Bob", "https://shop.example/", None),
    )
    .await;
    assert_eq!(lead.conversation_id, Some(bobs_chat));

    // Cleo leaves an offline form and chats later: the form opened nothing.
    let cleo = app.new_visitor(site).await;
    send_lead(
        &app,
        &cleo,
        &submission(LeadKind::Offline, "Cleo", "https://shop.example/", None),
    )
    .await;
    let ws = app.connect_visitor(&cleo, Vec::new()).await;
    app.reopen_chat(&cleo, ws, None, "hello").await;
    assert_eq!(lead_named(&app, "Cleo").await.conversation_id, None);

    // Dan's pre-chat form is more than an hour old when he writes.
    let dan = app.new_visitor(site).await;
    send_lead(
        &app,
        &dan,
        &submission(LeadKind::Prechat, "Dan", "https://shop.example/", None),
    )
    .await;
    let aged = app
        .db
        .execute("UPDATE leads SET created_at = created_at - 3700000 WHERE name = 'Dan'")
        .await;
    assert_eq!(aged, 1);
    let ws = app.connect_visitor(&dan, Vec::new()).await;
    app.reopen_chat(&dan, ws, None, "hello").await;
    assert_eq!(lead_named(&app, "Dan").await.conversation_id, None);
}

/// `department` and `source` (case-insensitive) narrow the list and the CSV alike, with the
/// other filters. The CSV begins with the UTF-8 byte order mark, so a spreadsheet reads the
/// Cyrillic names as they were typed.
async fn marketers_filter_by_department_and_source_and_export_cyrillic_intact(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_eq!(app.configure_demo_site(forms_on()).await.status(), 200);
    let site = &app.demo_site;
    let response = app
        .post(
            &format!("/api/v1/sites/{}/departments", site.id),
            &app.admin_token,
            &json!({ "name": "Продажи" }),
        )
        .await;
    let sales: Department = response.json().await.unwrap();
    let google = "https://shop.example/?utm_source=Google&utm_medium=cpc";
    let yandex = "https://shop.example/?utm_source=yandex";
    for (name, kind, landing, department) in [
        ("Анна Каренина", LeadKind::Prechat, google, Some(&sales)),
        ("Пётр Ёжиков", LeadKind::Offline, google, None),
        ("Olga", LeadKind::Offline, yandex, Some(&sales)),
        ("Nobody", LeadKind::Offline, "https://shop.example/", None),
    ] {
        let visitor = app.new_visitor(site).await;
        send_lead(&app, &visitor, &submission(kind, name, landing, department)).await;
    }
    let names = |leads: Vec<Lead>| {
        let mut names: Vec<String> = leads.into_iter().filter_map(|l| l.name).collect();
        names.sort();
        names
    };
    assert_eq!(
        names(leads(&app, "?source=GOOGLE").await),
        ["Анна Каренина", "Пётр Ёжиков"]
    );
    assert_eq!(names(leads(&app, "?source=yandex").await), ["Olga"]);
    assert_eq!(
        names(leads(&app, &format!("?department={}", sales.id)).await),
        ["Olga", "Анна Каренина"]
    );
    assert_eq!(
        names(leads(&app, &format!("?department={}&source=google", sales.id)).await),
        ["Анна Каренина"]
    );
    assert_eq!(
        names(leads(&app, "?source=google&kind=offline").await),
        ["Пётр Ёжиков"]
    );
    assert!(leads(&app, "?source=bing").await.is_empty());
    assert_eq!(
        leads(&app, "?source=").await.len(),
        4,
        "an empty source filters nothing"
    );
    let bad = app
        .get("/api/v1/leads?department=sales", &app.admin_token)
        .await;
    assert_eq!(bad.status(), 400);

    let response = app
        .get("/api/v1/leads.csv?source=google", &app.admin_token)
        .await;
    assert_eq!(response.status(), 200);
    let bytes = response.bytes().await.unwrap();
    assert!(
        bytes.starts_with(b"\xEF\xBB\xBFcreated_at,"),
        "a byte order mark, then the header"
    );
    let text = std::str::from_utf8(&bytes[3..]).expect("UTF-8");
    assert!(
        text.contains("Анна Каренина") && text.contains("Пётр Ёжиков"),
        "{text}"
    );
    assert!(!text.contains("Olga"));
    let mut reader = csv::Reader::from_reader(&bytes[..]);
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[0], "created_at", "readers skip the mark");
    let name = headers.iter().position(|h| h == "name").unwrap();
    let mut exported: Vec<String> = reader
        .records()
        .map(|r| r.unwrap()[name].to_owned())
        .collect();
    exported.sort();
    assert_eq!(exported, ["Анна Каренина", "Пётр Ёжиков"]);
}
