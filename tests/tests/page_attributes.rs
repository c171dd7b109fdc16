//! The page's attributes of its visitor (`Bellhop.setAttributes`): merged, `null` removes a
//! key, bad names and values are refused, and the agents who may read the conversation see
//! them beside the verified identity.

use bellhop_protocol::ErrorCode;
use bellhop_protocol::api::{PageAttributes, VisitorProfile};
use bellhop_tests::{Backend, Client, TestVisitor, api_error, both_backends, spawn_app};
use serde_json::json;

both_backends!(
    the_page_sets_attributes_and_the_agent_sees_them,
    page_attributes_are_checked_and_bounded,
);

async fn set(app: &Client, visitor: &TestVisitor, body: &serde_json::Value) -> reqwest::Response {
    app.visitor_post(visitor, "/api/v1/widget/attributes", body)
        .await
}

/// Two calls merge; `null` removes a key; the serving agent reads them on the conversation's
/// visitor, apart from the (absent) verified identity; an agent of another site cannot.
async fn the_page_sets_attributes_and_the_agent_sees_them(backend: Backend) {
    let app = spawn_app(backend).await;
    let (agent, mut agent_ws) = app.online_agent("Нина", 3).await;
    let (visitor, _ws, chat) = app.assigned_chat(&mut agent_ws, "Здравствуйте").await;

    let first = set(
        &app,
        &visitor,
        &json!({ "attributes": { "plan": "pro", "cart_total": 129.5, "coupon": "SPRING" } }),
    )
    .await;
    assert_eq!(first.status(), 200);
    let second = set(
        &app,
        &visitor,
        &json!({ "attributes": { "coupon": null, "город": null, "returning": true } }),
    )
    .await;
    assert_eq!(
        second.status(),
        400,
        "a name outside A-Z a-z 0-9 _ - . is refused"
    );
    let second = set(
        &app,
        &visitor,
        &json!({ "attributes": { "coupon": null, "returning": true } }),
    )
    .await;
    assert_eq!(second.status(), 200);
    let merged: PageAttributes = second.json().await.expect("the attributes");
    let expected = json!({ "plan": "pro", "cart_total": 129.5, "returning": true });
    assert_eq!(
        serde_json::to_value(&merged.attributes).ok(),
        Some(expected.clone())
    );

    let profile: VisitorProfile = app
        .get_json(
            &format!("/api/v1/conversations/{chat}/visitor"),
            &agent.token,
        )
        .await;
    assert_eq!(profile.visitor_id, visitor.visitor_id);
    assert_eq!(
        serde_json::to_value(&profile.page_attributes).ok(),
        Some(expected)
    );
    assert!(profile.verified_attributes.is_empty());
    assert_eq!(profile.user_id, None);

    let other_site = app
        .create_site("Elsewhere", &["https://elsewhere.example"])
        .await;
    let stranger = app.create_agent("Stranger", 3, &[other_site.id]).await;
    let refused = app
        .get(
            &format!("/api/v1/conversations/{chat}/visitor"),
            &stranger.token,
        )
        .await;
    assert_eq!(api_error(refused, 404).await.code, ErrorCode::NotFound);
}

/// Nested values, long texts and too many keys are `400` and change nothing; an agent's
/// token is `403`; a page of another origin is `403`.
async fn page_attributes_are_checked_and_bounded(backend: Backend) {
    let app = spawn_app(backend).await;
    let site = app
        .create_site("Northwind", &["https://shop.northwind.example"])
        .await;
    let visitor = app.new_visitor(&site).await;
    assert_eq!(
        set(
            &app,
            &visitor,
            &json!({ "attributes": { "plan": "basic" } })
        )
        .await
        .status(),
        200
    );
    for bad in [
        json!({ "attributes": { "cart": { "items": 3 } } }),
        json!({ "attributes": { "tags": ["a", "b"] } }),
        json!({ "attributes": { "note": "x".repeat(501) } }),
        json!({ "attributes": { "": 1 } }),
        json!({ "attributes": {}, "extra": 1 }),
    ] {
        let response = set(&app, &visitor, &bad).await;
        assert_eq!(
            api_error(response, 400).await.code,
            ErrorCode::InvalidRequest,
            "{bad}"
        );
    }
    let many: serde_json::Map<String, serde_json::Value> =
        (0..50).map(|i| (format!("k{i}"), json!(i))).collect();
    let response = set(&app, &visitor, &json!({ "attributes": many })).await;
    assert_eq!(
        api_error(response, 400).await.code,
        ErrorCode::InvalidRequest,
        "51 keys with the one already there"
    );
    let unchanged = set(&app, &visitor, &json!({ "attributes": {} })).await;
    let attributes: PageAttributes = unchanged.json().await.expect("the attributes");
    assert_eq!(
        serde_json::to_value(&attributes.attributes).ok(),
        Some(json!({ "plan": "basic" }))
    );

    let agent = app.create_agent("Maya", 3, &[site.id]).await;
    let as_agent = app
        .http
        .post(format!("{}/api/v1/widget/attributes", app.address))
        .bearer_auth(&agent.token)
        .header("Origin", &visitor.origin)
        .json(&json!({ "attributes": {} }))
        .send()
        .await
        .expect("the request");
    assert_eq!(api_error(as_agent, 403).await.code, ErrorCode::Forbidden);
    let foreign = app
        .http
        .post(format!("{}/api/v1/widget/attributes", app.address))
        .bearer_auth(&visitor.token)
        .header("Origin", "https://evil.example")
        .json(&json!({ "attributes": {} }))
        .send()
        .await
        .expect("the request");
    assert_eq!(
        api_error(foreign, 403).await.code,
        ErrorCode::OriginNotAllowed
    );
}
