//! Inviting a live visitor to chat: a supervisor's invitation rides the answer to the
//! browser's next presence beat, once, within its lifetime; agents may not invite, and
//! another site's browsers are not found.

use std::time::Duration;

use bellhop_protocol::ErrorCode;
use bellhop_protocol::api::PresenceBeat;
use bellhop_protocol::console::{Invite, PresenceAnswer};
use bellhop_tests::{Backend, Client, api_error, both_backends, spawn_app_with};
use serde_json::json;

both_backends!(
    a_supervisors_invitation_rides_the_next_beat_once,
    agents_may_not_invite_and_strangers_find_no_browser,
);

const SHOP: &str = "https://shop.example";

async fn beat(app: &Client, key: &str, browser: &str) -> reqwest::Response {
    let beat = PresenceBeat {
        widget_key: key.into(),
        browser_id: browser.into(),
        url: "https://shop.example/tents".into(),
        title: None,
        referrer: None,
        returning: false,
        visit_started_at: 1_741_978_800_000,
    };
    app.http
        .post(format!("{}/api/v1/widget/presence", app.address))
        .header("Origin", SHOP)
        .json(&beat)
        .send()
        .await
        .unwrap()
}

async fn answer(app: &Client, key: &str, browser: &str) -> PresenceAnswer {
    let response = beat(app, key, browser).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn invite(
    app: &Client,
    token: &str,
    site: bellhop_protocol::SiteId,
    browser: &str,
    text: &str,
) -> reqwest::Response {
    app.post(
        &format!("/api/v1/sites/{site}/visitors/{browser}/invite"),
        token,
        &json!({ "text": text }),
    )
    .await
}

/// A beat with nothing waiting answers `{}`. A supervisor invites the browser (the text is
/// kept as it was typed, markup and all): the next beat carries the invitation with the
/// supervisor's name, the one after it nothing. An invitation nobody picks up within
/// `live_visitors.invite_ttl_ms` is gone.
async fn a_supervisors_invitation_rides_the_next_beat_once(backend: Backend) {
    let app = spawn_app_with(backend, |config| config.live_visitors.invite_ttl_ms = 400).await;
    let site = app.create_site("Northwind", &[SHOP]).await;
    let key = &site.widget_key;
    let response = beat(&app, key, "browser-a").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "{}");
    let supervisor = app.create_supervisor("Sue Park", &[site.id]).await;

    let text = "<b>Need a hand</b> with your tent? Мы поможем!";
    let response = invite(
        &app,
        &supervisor.token,
        site.id,
        "browser-a",
        &format!("  {text} "),
    )
    .await;
    assert_eq!(response.status(), 202);
    let sent: Invite = response.json().await.unwrap();
    let expected = Invite {
        text: text.into(),
        agent_name: "Sue Park".into(),
    };
    assert_eq!(sent, expected);
    assert_eq!(
        answer(&app, key, "browser-b").await,
        PresenceAnswer::default(),
        "another browser"
    );
    assert_eq!(answer(&app, key, "browser-a").await.invite, Some(expected));
    assert_eq!(
        answer(&app, key, "browser-a").await,
        PresenceAnswer::default(),
        "once"
    );

    let response = invite(&app, &app.admin_token, site.id, "browser-a", "Still there?").await;
    assert_eq!(response.status(), 202, "admins invite on any site");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        answer(&app, key, "browser-a").await,
        PresenceAnswer::default(),
        "expired"
    );
}

/// A plain agent of the site gets `403`; site Y's supervisor gets `404` for site X's
/// browser; a browser not on the site is `404`; an empty or over-long text, or an unknown
/// field, is `400`. None of them leaves an invitation behind.
async fn agents_may_not_invite_and_strangers_find_no_browser(backend: Backend) {
    let app = spawn_app_with(backend, |_| {}).await;
    let site = app.create_site("Northwind", &[SHOP]).await;
    let other = app.create_site("Other", &["https://other.example"]).await;
    let key = &site.widget_key;
    answer(&app, key, "browser-a").await;
    let agent = app.create_agent("Plain Paul", 3, &[site.id]).await;
    let stranger = app.create_supervisor("Yara of Y", &[other.id]).await;
    let supervisor = app.create_supervisor("Sue Park", &[site.id]).await;

    let refused = invite(&app, &agent.token, site.id, "browser-a", "Hi!").await;
    assert_eq!(api_error(refused, 403).await.code, ErrorCode::Forbidden);
    let hidden = invite(&app, &stranger.token, site.id, "browser-a", "Hi!").await;
    assert_eq!(api_error(hidden, 404).await.code, ErrorCode::NotFound);
    let elsewhere = invite(&app, &stranger.token, other.id, "browser-a", "Hi!").await;
    assert_eq!(
        api_error(elsewhere, 404).await.code,
        ErrorCode::NotFound,
        "not live there"
    );
    let gone = invite(&app, &supervisor.token, site.id, "browser-z", "Hi!").await;
    assert_eq!(api_error(gone, 404).await.code, ErrorCode::NotFound);
    for text in ["", "   ", &"x".repeat(501)] {
        let bad = invite(&app, &supervisor.token, site.id, "browser-a", text).await;
        assert_eq!(api_error(bad, 400).await.code, ErrorCode::InvalidRequest);
    }
    let extra = app
        .post(
            &format!("/api/v1/sites/{}/visitors/browser-a/invite", site.id),
            &supervisor.token,
            &json!({ "text": "Hi!", "sound": true }),
        )
        .await;
    assert_eq!(api_error(extra, 400).await.code, ErrorCode::InvalidRequest);
    assert_eq!(
        answer(&app, key, "browser-a").await,
        PresenceAnswer::default()
    );
    let longest = invite(
        &app,
        &supervisor.token,
        site.id,
        "browser-a",
        &"я".repeat(500),
    )
    .await;
    assert_eq!(longest.status(), 202);
    assert_eq!(
        answer(&app, key, "browser-a")
            .await
            .invite
            .map(|i| i.text.chars().count()),
        Some(500)
    );
}
