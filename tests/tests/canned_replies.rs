//! Canned replies: supervisors and admins of a site write them, every agent of the site reads
//! them by shortcut; plain agents may not write, and another site's replies do not exist for a
//! stranger.

use bellhop_protocol::ErrorCode;
use bellhop_protocol::api::Department;
use bellhop_protocol::console::{CannedReply, CannedReplyList};
use bellhop_protocol::{CannedReplyId, SiteId};
use bellhop_tests::{Backend, Client, api_error, both_backends, spawn_app};
use serde_json::json;

both_backends!(
    supervisors_write_replies_that_every_agent_of_the_site_reads,
    plain_agents_may_not_write_and_strangers_find_nothing,
    shortcuts_and_bodies_are_checked,
);

async fn create(app: &Client, token: &str, body: serde_json::Value) -> reqwest::Response {
    app.post("/api/v1/canned-replies", token, &body).await
}

async fn created(app: &Client, token: &str, body: serde_json::Value) -> CannedReply {
    let response = create(app, token, body).await;
    assert_eq!(
        response.status(),
        201,
        "{}",
        response.text().await.unwrap_or_default()
    );
    response.json().await.unwrap()
}

async fn listed(app: &Client, token: &str, query: &str) -> Vec<CannedReply> {
    let list: CannedReplyList = app
        .get_json(&format!("/api/v1/canned-replies{query}"), token)
        .await;
    list.replies
}

async fn department(app: &Client, site: SiteId, name: &str) -> Department {
    let response = app
        .post(
            &format!("/api/v1/sites/{site}/departments"),
            &app.admin_token,
            &json!({ "name": name }),
        )
        .await;
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

/// A supervisor adds site-wide and department replies (the shortcut is lower-cased, the body
/// kept as plain text, markup and all); the same shortcut may exist once site-wide and once
/// per department, a second one in the same place is `409`. A plain agent lists them by
/// shortcut; the supervisor changes one and deletes another, and the agent's list follows.
async fn supervisors_write_replies_that_every_agent_of_the_site_reads(backend: Backend) {
    let app = spawn_app(backend).await;
    let site = app.demo_site.id;
    let billing = department(&app, site, "Billing").await;
    let lead = app.create_supervisor("Lead Lena", &[site]).await;
    let agent = app.create_agent("Plain Pia", 3, &[site]).await;

    let greet = created(
        &app,
        &lead.token,
        json!({ "site_id": site, "shortcut": " Greet ", "body": "Здравствуйте! Чем помочь?" }),
    )
    .await;
    assert_eq!(greet.shortcut, "greet");
    assert_eq!(greet.site_id, site);
    assert_eq!(greet.department_id, None);
    let xss = "<img src=x onerror=alert(1)> & \"quotes\"";
    let refund = created(
        &app,
        &lead.token,
        json!({ "site_id": site, "department_id": billing.id, "shortcut": "refund", "body": xss }),
    )
    .await;
    assert_eq!(refund.body, xss, "stored and returned as the text it is");
    let billing_greet = created(
        &app,
        &lead.token,
        json!({ "site_id": site, "department_id": billing.id, "shortcut": "greet", "body": "Billing here." }),
    )
    .await;
    let again = create(
        &app,
        &lead.token,
        json!({ "site_id": site, "shortcut": "GREET", "body": "Hi again" }),
    )
    .await;
    assert_eq!(api_error(again, 409).await.code, ErrorCode::Conflict);

    let seen = listed(&app, &agent.token, "").await;
    let shortcuts: Vec<&str> = seen.iter().map(|r| r.shortcut.as_str()).collect();
    assert_eq!(shortcuts, ["greet", "greet", "refund"]);
    assert!(seen.contains(&greet) && seen.contains(&refund) && seen.contains(&billing_greet));
    assert_eq!(
        listed(&app, &agent.token, &format!("?site={site}")).await,
        seen
    );

    // Renaming into a shortcut the department already has is a conflict; the body changes.
    let path = format!("/api/v1/canned-replies/{}", billing_greet.id);
    let clash = app
        .patch_as(&path, &lead.token, &json!({ "shortcut": "Refund" }))
        .await;
    assert_eq!(api_error(clash, 409).await.code, ErrorCode::Conflict);
    let response = app
        .patch_as(
            &path,
            &lead.token,
            &json!({ "body": "Billing, how can we help?" }),
        )
        .await;
    assert_eq!(response.status(), 200);
    let changed: CannedReply = response.json().await.unwrap();
    assert_eq!(changed.shortcut, "greet");
    assert_eq!(changed.body, "Billing, how can we help?");

    let gone = app
        .delete_as(
            &format!("/api/v1/canned-replies/{}", refund.id),
            &lead.token,
        )
        .await;
    assert_eq!(gone.status(), 204);
    let seen = listed(&app, &agent.token, "").await;
    assert_eq!(seen.len(), 2);
    assert!(seen.contains(&changed) && seen.contains(&greet));
    let again = app
        .delete_as(
            &format!("/api/v1/canned-replies/{}", refund.id),
            &lead.token,
        )
        .await;
    assert_eq!(api_error(again, 404).await.code, ErrorCode::NotFound);
}

/// A plain agent of the site gets `403` for every write, and nothing changes. Site Y's
/// supervisor gets `404` for site X's replies (reading, writing, changing, deleting) and does
/// not see them in their list; an admin sees both sites'.
async fn plain_agents_may_not_write_and_strangers_find_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let x = app.demo_site.id;
    let y = app
        .create_site("Other", &["https://other.example"])
        .await
        .id;
    let reply = created(
        &app,
        &app.admin_token,
        json!({ "site_id": x, "shortcut": "hours", "body": "We answer 9 to 18." }),
    )
    .await;
    let theirs = created(
        &app,
        &app.admin_token,
        json!({ "site_id": y, "shortcut": "hello", "body": "Hello from Y." }),
    )
    .await;
    let agent = app.create_agent("Plain Paul", 3, &[x]).await;
    let path = format!("/api/v1/canned-replies/{}", reply.id);
    let body = json!({ "site_id": x, "shortcut": "mine", "body": "Paul's" });
    let forbidden = [
        create(&app, &agent.token, body.clone()).await,
        app.patch_as(&path, &agent.token, &json!({ "body": "changed" }))
            .await,
        app.delete_as(&path, &agent.token).await,
    ];
    for response in forbidden {
        assert_eq!(api_error(response, 403).await.code, ErrorCode::Forbidden);
    }
    assert_eq!(listed(&app, &agent.token, "").await, vec![reply.clone()]);

    let stranger = app.create_supervisor("Yara of Y", &[y]).await;
    assert_eq!(
        app.get_error(
            &format!("/api/v1/canned-replies?site={x}"),
            &stranger.token,
            404
        )
        .await,
        ErrorCode::NotFound
    );
    assert_eq!(
        listed(&app, &stranger.token, "").await,
        vec![theirs.clone()]
    );
    let not_found = [
        create(&app, &stranger.token, body.clone()).await,
        app.patch_as(&path, &stranger.token, &json!({ "body": "changed" }))
            .await,
        app.delete_as(&path, &stranger.token).await,
        // A plain agent of Y learns no more than its supervisor.
        create(
            &app,
            &app.create_agent("Plain Yann", 3, &[y]).await.token,
            body.clone(),
        )
        .await,
    ];
    for response in not_found {
        assert_eq!(api_error(response, 404).await.code, ErrorCode::NotFound);
    }
    let unknown = CannedReplyId::from_uuid(uuid::Uuid::now_v7());
    let response = app
        .delete_as(
            &format!("/api/v1/canned-replies/{unknown}"),
            &app.admin_token,
        )
        .await;
    assert_eq!(api_error(response, 404).await.code, ErrorCode::NotFound);

    let all = listed(&app, &app.admin_token, "").await;
    assert_eq!(all, vec![theirs, reply], "by shortcut, every site");
}

/// A shortcut is 1 to 32 of `a-z 0-9 _ -`; a body 1 to 4000 characters; the department must
/// be the site's; unknown fields are refused. Each is `400` and stores nothing.
async fn shortcuts_and_bodies_are_checked(backend: Backend) {
    let app = spawn_app(backend).await;
    let site = app.demo_site.id;
    let other = app.create_site("Other", &["https://other.example"]).await;
    let foreign = department(&app, other.id, "Elsewhere").await;
    let long = "я".repeat(4001);
    let bad = [
        json!({ "site_id": site, "shortcut": "two words", "body": "x" }),
        json!({ "site_id": site, "shortcut": "", "body": "x" }),
        json!({ "site_id": site, "shortcut": "x".repeat(33), "body": "x" }),
        json!({ "site_id": site, "shortcut": "привет", "body": "x" }),
        json!({ "site_id": site, "shortcut": "ok", "body": "   " }),
        json!({ "site_id": site, "shortcut": "ok", "body": long }),
        json!({ "site_id": site, "department_id": foreign.id, "shortcut": "ok", "body": "x" }),
        json!({ "site_id": site, "shortcut": "ok", "body": "x", "colour": "red" }),
    ];
    for body in bad {
        let response = create(&app, &app.admin_token, body.clone()).await;
        assert_eq!(
            api_error(response, 400).await.code,
            ErrorCode::InvalidRequest,
            "{body}"
        );
    }
    assert!(listed(&app, &app.admin_token, "").await.is_empty());
    let longest = created(
        &app,
        &app.admin_token,
        json!({ "site_id": site, "shortcut": "x".repeat(32), "body": "я".repeat(4000) }),
    )
    .await;
    let response = app
        .patch_as(
            &format!("/api/v1/canned-replies/{}", longest.id),
            &app.admin_token,
            &json!({ "shortcut": "bad shortcut" }),
        )
        .await;
    assert_eq!(
        api_error(response, 400).await.code,
        ErrorCode::InvalidRequest
    );
    assert_eq!(listed(&app, &app.admin_token, "").await, vec![longest]);
}
