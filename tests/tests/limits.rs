//! Abuse limits on the public endpoints: spreadsheet-safe CSV, security headers, close codes,
//! `not_found` for other sites' conversations, and rate limits on what a visitor can send.

use bellhop_protocol::ErrorCode;
use bellhop_protocol::api::{LeadKind, LeadSubmission, PageContext};
use bellhop_tests::{Backend, Client, TestVisitor, api_error, both_backends, spawn_app};

both_backends!(a_lead_that_looks_like_a_formula_exports_as_text);

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
