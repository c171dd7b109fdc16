//! Live visitors: the loader's presence beats show who is on a site's pages now, in memory
//! only, for the site's supervisors and admins.

use std::time::Duration;

use bellhop_protocol::ErrorCode;
use bellhop_protocol::api::{LiveVisitorList, PresenceBeat};
use bellhop_tests::{Backend, Client, api_error, both_backends, spawn_app_with};

both_backends!(
    beats_show_who_is_on_the_site_until_they_stop,
    beats_need_an_allowed_origin_and_the_list_a_supervisor,
);

const SHOP: &str = "https://shop.example";

fn beat(key: &str, browser: &str, url: &str) -> PresenceBeat {
    PresenceBeat {
        widget_key: key.into(),
        browser_id: browser.into(),
        url: url.into(),
        title: Some("Northwind Outfitters".into()),
        referrer: None,
        returning: false,
        visit_started_at: 1_741_978_800_000,
    }
}

async fn post_beat(client: &Client, origin: &str, beat: &PresenceBeat) -> reqwest::Response {
    client
        .http
        .post(format!("{}/api/v1/widget/presence", client.address))
        .header("Origin", origin)
        .json(beat)
        .send()
        .await
        .expect("presence request")
}

async fn beats_show_who_is_on_the_site_until_they_stop(backend: Backend) {
    let app = spawn_app_with(backend, |config| config.live_visitors.ttl_ms = 1_500).await;
    let site = app.create_site("Northwind", &[SHOP]).await;
    let key = &site.widget_key;
    let visitors_before = app.db.count("SELECT COUNT(*) FROM visitors").await;
    for (browser, url) in [
        ("browser-a", "https://shop.example/"),
        ("browser-a", "https://shop.example/"),
        ("browser-a", "https://shop.example/boots"),
        ("browser-b", "https://shop.example/tents"),
    ] {
        let response = post_beat(&app, SHOP, &beat(key, browser, url)).await;
        assert_eq!(response.status(), 200);
        let cors = response.headers().get("access-control-allow-origin");
        assert_eq!(cors.and_then(|v| v.to_str().ok()), Some(SHOP));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let path = format!("/api/v1/sites/{}/visitors", site.id);
    let list: LiveVisitorList = app.get_json(&path, &app.admin_token).await;
    let seen: Vec<_> = list
        .visitors
        .iter()
        .map(|v| (v.browser_id.as_str(), v.url.as_str(), v.page_views))
        .collect();
    assert_eq!(
        seen,
        vec![
            ("browser-b", "https://shop.example/tents", 1),
            ("browser-a", "https://shop.example/boots", 2),
        ],
        "most recent first"
    );
    assert!(list.visitors[1].first_seen < list.visitors[1].last_seen);
    // Nothing of it reached the database.
    assert_eq!(
        app.db.count("SELECT COUNT(*) FROM visitors").await,
        visitors_before
    );

    // Browser a keeps beating; b stops and is gone after the time-to-live.
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(600)).await;
        let response = post_beat(
            &app,
            SHOP,
            &beat(key, "browser-a", "https://shop.example/boots"),
        )
        .await;
        assert_eq!(response.status(), 200);
    }
    let list: LiveVisitorList = app.get_json(&path, &app.admin_token).await;
    let ids: Vec<_> = list
        .visitors
        .iter()
        .map(|v| v.browser_id.as_str())
        .collect();
    assert_eq!(ids, vec!["browser-a"]);
    assert_eq!(list.visitors[0].page_views, 2);
    tokio::time::sleep(Duration::from_millis(1_600)).await;
    let list: LiveVisitorList = app.get_json(&path, &app.admin_token).await;
    assert!(list.visitors.is_empty(), "{list:?}");
}

async fn beats_need_an_allowed_origin_and_the_list_a_supervisor(backend: Backend) {
    let app = spawn_app_with(backend, |_| {}).await;
    let site = app.create_site("Northwind", &[SHOP]).await;
    let key = &site.widget_key;
    let response = post_beat(
        &app,
        "https://evil.example",
        &beat(key, "b", "https://evil.example/"),
    )
    .await;
    assert_eq!(
        api_error(response, 403).await.code,
        ErrorCode::OriginNotAllowed
    );
    let response = post_beat(&app, SHOP, &beat("no-such-key", "b", "/")).await;
    assert_eq!(api_error(response, 404).await.code, ErrorCode::NotFound);
    let response = post_beat(&app, SHOP, &beat(key, "not an id!", "/")).await;
    let error = api_error(response, 400).await;
    assert_eq!(error.code, ErrorCode::InvalidRequest);
    assert!(error.message.contains("browser_id"), "{}", error.message);
    let path = format!("/api/v1/sites/{}/visitors", site.id);
    let list: LiveVisitorList = app.get_json(&path, &app.admin_token).await;
    assert!(list.visitors.is_empty(), "refused beats are not kept");

    // An agent of the site may not look; an agent of another site is told it does not exist.
    let agent = app.create_agent("Andy Agent", 3, &[site.id]).await;
    assert_eq!(
        app.get_error(&path, &agent.token, 403).await,
        ErrorCode::Forbidden
    );
    let outsider = app
        .create_agent("Olive Outsider", 3, &[app.demo_site.id])
        .await;
    assert_eq!(
        app.get_error(&path, &outsider.token, 404).await,
        ErrorCode::NotFound
    );
}
