//! The widget in a real browser: a visitor on a customer's page of another site chats with an
//! agent (played here over the protocol), through a hostile page, a lost network, a reload
//! mid-send and a navigation; nothing is lost or doubled. The scenario is
//! `tests/browser/widget_chat.mjs`; its screenshots go to `target/screenshots/`.

use std::time::Duration;

use bellhop_protocol::api::{ConversationList, SiteConfig};
use bellhop_protocol::frames::{AgentFrame, AgentStatus, AuthorKind, ServerFrame};
use bellhop_protocol::{ClientMessageId, MessageBody};
use bellhop_tests::browser;
use bellhop_tests::host_page::{HostSite, Page};
use bellhop_tests::{Backend, Client, both_backends, next_assignment, spawn_app};

both_backends!(
    a_visitor_chats_through_the_widget_on_another_site,
    the_widget_works_from_the_keyboard_and_passes_axe,
    identify_makes_the_sites_user_the_visitor_and_reset_forgets_them,
);

/// A customer's page as hostile as they come: a strict policy naming only Bellhop, and rules
/// that would unstyle or hide any widget that let them in.
fn hostile_page(server: &str, key: &str, heading: &str) -> String {
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{heading}</title>
<style>
* {{ all: unset }}
div {{ display: none !important }}
iframe {{ display: none !important }}
#probe {{ display: block; color: rgb(10, 20, 30) }}
</style></head>
<body><h1>{heading}</h1><p id="probe">The page's own text keeps its own colour.</p>
<script src="{server}/widget.js" data-site="{key}" async></script>
</body></html>"#
    )
}

async fn a_visitor_chats_through_the_widget_on_another_site(backend: Backend) {
    let app = spawn_app(backend).await;
    let client: &Client = &app;
    let server = format!("http://127.0.0.1:{}", client.port);
    // The shop's site: its port (its origin) first, then the Bellhop site that allows it,
    // then the pages with that site's widget key.
    let host = HostSite::start().await;
    let site = client.create_site("Northwind", &[&host.origin()]).await;
    let key = site.widget_key.clone();
    let policy = format!(
        "default-src 'none'; script-src {server}; frame-src {server}; style-src 'unsafe-inline'"
    );
    let pages = vec![
        Page {
            path: "/",
            html: hostile_page(&server, &key, "Northwind Outfitters"),
            csp: Some(policy.clone()),
        },
        Page {
            path: "/next",
            html: hostile_page(&server, &key, "Backpacks"),
            csp: Some(policy),
        },
    ];
    host.set_pages(pages);
    // Another origin, not on the site's list, framing the panel as if it were the shop.
    let stranger = HostSite::start().await;
    stranger.set_pages(vec![Page {
        path: "/",
        html: format!(
            r#"<!doctype html><title>Not the shop</title>
<iframe src="{server}/widget/panel?key={key}&origin={}"></iframe>"#,
            host.origin()
        ),
        csp: None,
    }]);
    let mut config = SiteConfig::default();
    config.prechat_form.enabled = true;
    assert_eq!(client.configure_site(site.id, config).await.status(), 200);

    // The agent is away at first, so the visitor waits in the queue and sees their place.
    let agent = client.create_agent("Maya Chen", 3, &[site.id]).await;
    let mut agent_ws = client.connect_agent(&agent).await;
    agent_ws.set_status(AgentStatus::Away).await;
    let agent_side = {
        let admin = Client::attach(client.port).await;
        tokio::spawn(async move {
            let queued = wait_for_queued(&admin).await;
            tokio::time::sleep(Duration::from_millis(2500)).await;
            agent_ws.set_status(AgentStatus::Online).await;
            let conversation = next_assignment(&mut agent_ws).await;
            assert_eq!(conversation.id, queued);
            agent_ws
                .send(&AgentFrame::Typing {
                    conversation_id: conversation.id,
                    typing: true,
                })
                .await;
            tokio::time::sleep(Duration::from_millis(1500)).await;
            agent_ws
                .send(&AgentFrame::Send {
                    client_id: ClientMessageId::parse("reply-1".into()).expect("an id"),
                    conversation_id: conversation.id,
                    body: MessageBody::parse(
                        "Hi Ada! <img src=x onerror=\"parent.__xss=1\"> See \
                         https://shop.example/sizes or javascript:alert(1)"
                            .into(),
                    )
                    .expect("a body"),
                })
                .await;
            agent_ws
                .expect("the reply's ack", |f| matches!(f, ServerFrame::Ack { .. }))
                .await;
            (conversation.id, agent_ws)
        })
    };

    let outcome = browser::scenario(
        backend,
        "widget_chat.mjs",
        vec![
            ("HOST_URL", format!("{}/", host.origin())),
            ("NEXT_URL", format!("{}/next", host.origin())),
            ("STRANGER_URL", format!("{}/", stranger.origin())),
        ],
    )
    .await;
    let (conversation, _agent_ws) = agent_side.await.expect("the agent's side");

    // What the visitor saw.
    assert_eq!(
        outcome["framesBeforeClick"], 1,
        "the panel loads while the page is idle"
    );
    let bubble = &outcome["bubbleBox"];
    assert_eq!(
        (bubble["width"].as_f64(), bubble["height"].as_f64()),
        (Some(60.0), Some(60.0))
    );
    assert!(
        bubble["x"].as_f64().unwrap_or(0.0) > 1100.0,
        "bottom right: {bubble}"
    );
    assert_eq!(
        outcome["hostProbe"]["color"], "rgb(10, 20, 30)",
        "the page keeps its styles"
    );
    let queue = outcome["queueText"].as_str().unwrap_or_default();
    assert!(queue.contains("number 1 in the queue"), "{queue}");
    assert_eq!(outcome["typingText"], "Maya Chen is typing…");
    let reply = outcome["replyText"].as_str().unwrap_or_default();
    assert!(
        reply.contains("<img src=x"),
        "markup shows as text: {reply}"
    );
    assert_eq!(outcome["title"], "Maya Chen");
    assert_eq!(outcome["avatar"], "MC");
    assert_eq!(outcome["imagesInLog"], 0);
    assert_eq!(outcome["imagesInLogAfter"], 0);
    assert_eq!(outcome["xssRanInHost"], false);
    assert_eq!(outcome["xssRanInPanel"], false);
    let links = outcome["links"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        links.len(),
        1,
        "only the https address is a link: {links:?}"
    );
    assert_eq!(links[0]["href"], "https://shop.example/sizes");
    assert_eq!(links[0]["rel"], "noopener noreferrer");
    assert_eq!(
        outcome["offlineStates"],
        serde_json::json!(["Sending…", "Sending…"]),
        "offline, the sends wait"
    );
    assert_eq!(
        outcome["afterOnlineStates"],
        serde_json::json!(["Sent", "Sent"])
    );
    assert_eq!(outcome["afterReload"]["beforeReload"], 1);
    assert_eq!(outcome["afterReload"]["hello"], 1);
    assert_eq!(outcome["afterReload"]["replies"], 1);
    assert_eq!(outcome["afterNavigation"]["hello"], 1);
    assert_eq!(outcome["afterNavigation"]["beforeReload"], 1);
    let events = outcome["events"].as_array().cloned().unwrap_or_default();
    for name in ["open", "chatStarted", "message"] {
        assert!(
            events.iter().any(|e| e == name),
            "Bellhop.on({name}) fired: {events:?}"
        );
    }
    assert_eq!(
        outcome["strangerFrame"]["panelShown"], 0,
        "an origin the site does not allow cannot frame the panel: {}",
        outcome["strangerFrame"]
    );
    let phone = &outcome["phonePanel"];
    assert_eq!(
        (phone["width"].as_f64(), phone["height"].as_f64()),
        (Some(390.0), Some(780.0))
    );
    let long_tasks = outcome["longTasksBeforeInteraction"]
        .as_array()
        .map_or(0, Vec::len);
    println!("{backend:?}: long tasks on the host page before interaction: {long_tasks}");

    // What was stored: every visitor message once, in the order typed.
    let transcript = client.transcript(conversation, &client.admin_token).await;
    let visitor: Vec<&str> = transcript
        .messages
        .iter()
        .filter(|m| m.author == AuthorKind::Visitor)
        .map(|m| m.body.as_str())
        .collect();
    assert_eq!(
        visitor,
        [
            "hello from the widget",
            "<img src=x onerror=\"window.__xss=1;parent.__xss=1\"> <script>window.__xss=1</script>",
            "offline one",
            "offline two",
            "sent before reload",
        ]
    );
    let errors = outcome["errors"].as_array().cloned().unwrap_or_default();
    assert!(errors.is_empty(), "the browser reported errors: {errors:?}");
}

/// The first queued conversation of any site, as an admin sees it.
async fn wait_for_queued(admin: &Client) -> bellhop_protocol::ConversationId {
    for _ in 0..600 {
        let list: ConversationList = admin
            .get_json("/api/v1/conversations?scope=site", &admin.admin_token)
            .await;
        if let Some(c) = list
            .conversations
            .iter()
            .find(|c| c.status == bellhop_protocol::frames::ConversationStatus::Queued)
        {
            return c.id;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no conversation was queued within a minute");
}

async fn the_widget_works_from_the_keyboard_and_passes_axe(backend: Backend) {
    let app = spawn_app(backend).await;
    let client: &Client = &app;
    let server = format!("http://127.0.0.1:{}", client.port);
    let host = HostSite::start().await;
    let site = client.create_site("Northwind", &[&host.origin()]).await;
    host.set_pages(vec![Page {
        path: "/",
        html: format!(
            r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title></head>
<body><h1>Shop</h1><a href="/">Home</a> <button type="button">Add to cart</button>
<script src="{server}/widget.js" data-site="{}" async></script></body></html>"#,
            site.widget_key
        ),
        csp: None,
    }]);
    let panel = format!(
        "{server}/widget/panel?key={}&origin={}",
        site.widget_key,
        host.origin()
    );
    let outcome = browser::scenario(
        backend,
        "widget_a11y.mjs",
        vec![
            ("HOST_URL", format!("{}/", host.origin())),
            ("PANEL_URL", panel),
        ],
    )
    .await;
    assert_eq!(outcome["bubbleReachedByTab"], true);
    assert_eq!(outcome["bubbleLabel"], "Open chat");
    assert_eq!(
        outcome["inputFocused"], true,
        "opening puts the focus in the message box"
    );
    assert_eq!(outcome["sent"], true);
    let controls = outcome["panelControls"].as_array().map_or(0, Vec::len);
    assert!(
        controls >= 5,
        "close, log, attach, message, send: {}",
        outcome["panelControls"]
    );
    assert_eq!(
        outcome["unreachedControls"],
        serde_json::json!([]),
        "Tab reaches every control of the panel: {}",
        outcome["panelControls"]
    );
    assert_eq!(outcome["closedByEscape"], true);
    assert_eq!(outcome["focusBackOnBubble"], true);
    let serious: Vec<_> = outcome["axe"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
        .collect();
    assert!(
        serious.is_empty(),
        "axe found serious violations: {serious:?}"
    );
}

async fn identify_makes_the_sites_user_the_visitor_and_reset_forgets_them(backend: Backend) {
    let app = spawn_app(backend).await;
    let client: &Client = &app;
    let server = format!("http://127.0.0.1:{}", client.port);
    let host = HostSite::start().await;
    let site = client.create_site("Northwind", &[&host.origin()]).await;
    let secret = "site-secret-0123456789";
    let config = SiteConfig {
        identity_secret: Some(secret.into()),
        ..SiteConfig::default()
    };
    assert_eq!(client.configure_site(site.id, config).await.status(), 200);
    host.set_pages(vec![Page {
        path: "/",
        html: format!(
            r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title></head>
<body><h1>Shop</h1><script src="{server}/widget.js" data-site="{}" async></script></body></html>"#,
            site.widget_key
        ),
        csp: None,
    }]);
    let attributes: std::collections::BTreeMap<String, serde_json::Value> =
        [("name".to_owned(), serde_json::json!("Ada"))].into();
    let hash = bellhop_server::auth::identity::sign(secret, "customer-7", &attributes);
    let attributes = serde_json::to_string(&attributes).expect("attributes");
    let outcome = browser::scenario(
        backend,
        "widget_identity.mjs",
        vec![
            ("HOST_URL", format!("{}/", host.origin())),
            ("USER_ID", "customer-7".to_owned()),
            ("ATTRIBUTES", attributes),
            ("HASH", hash),
        ],
    )
    .await;
    assert_eq!(outcome["sameVisitorOnOtherDevice"], true);
    let forged = outcome["forgedErrors"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(!forged.is_empty(), "a forged identity fires an error event");
    assert_eq!(outcome["forgerSeesTheConversation"], 0);
    assert_eq!(
        outcome["afterResetOld"], 0,
        "after reset nothing of the user's shows"
    );
    assert_eq!(outcome["afterResetSent"], true);
    // Two visitors in the end: the user's conversation, and the fresh visitor's.
    let list: ConversationList = client
        .get_json("/api/v1/conversations?scope=site", &client.admin_token)
        .await;
    let mut visitors: Vec<_> = list.conversations.iter().map(|c| c.visitor_id).collect();
    visitors.sort();
    visitors.dedup();
    assert_eq!(visitors.len(), 2, "{:?}", list.conversations);
}
