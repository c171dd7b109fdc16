//! The agent console in a real browser against the real server, with the visitors played over
//! the protocol by this side (`tests/browser/console_agent.mjs`). Screenshots go to
//! `target/screenshots/`.

use std::time::Duration;

use bellhop_protocol::api::AgentProfile;
use bellhop_protocol::frames::{AgentStatus, AuthorKind, ServerFrame};
use bellhop_tests::{
    AGENT_PASSWORD, Backend, Client, WsClient, both_backends, browser, spawn_app, visitor_says,
};

both_backends!(an_agent_answers_three_chats_in_the_right_places);

/// Waits until the agent is online (signed in to the console, socket open).
async fn until_online(client: &Client, agent: &AgentProfile) {
    for _ in 0..300 {
        let agents: Vec<AgentProfile> =
            client.get_json("/api/v1/agents", &client.admin_token).await;
        if agents
            .iter()
            .any(|a| a.id == agent.id && a.status == AgentStatus::Online)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the agent never came online in the console");
}

/// The agent messages this visitor receives within `wait`.
async fn agent_lines(ws: &mut WsClient, until: &str) -> Vec<String> {
    let mut lines = Vec::new();
    loop {
        match ws.try_next_frame(Duration::from_secs(40)).await {
            Some(Ok(ServerFrame::Message { message })) if message.author == AuthorKind::Agent => {
                let done = message.body.contains(until);
                lines.push(message.body);
                if done {
                    return lines;
                }
            }
            Some(Ok(_)) => {}
            other => panic!(
                "the visitor's socket ended waiting for {until:?}: {other:?} after {lines:?}"
            ),
        }
    }
}

async fn an_agent_answers_three_chats_in_the_right_places(backend: Backend) {
    let app = spawn_app(backend).await;
    let client: &Client = &app;
    let site = client
        .create_site("Northwind Outfitters", &["https://shop.northwind.test"])
        .await;
    let maya = client.create_agent("Maya Chen", 3, &[site.id]).await;
    let console = format!("http://127.0.0.1:{}/console/", client.port);
    let script = browser::scenario(
        backend,
        "console_agent.mjs",
        vec![
            ("CONSOLE_URL", console),
            ("AGENT_EMAIL", maya.profile.email.clone()),
            ("AGENT_PASSWORD", AGENT_PASSWORD.to_owned()),
        ],
    );
    let visitors = async {
        until_online(client, &maya.profile).await;
        let (_, mut ada, _) = client
            .open_chat(&site, None, "Ada here: where is my order?")
            .await;
        let (_, mut boris, boris_chat) = client
            .open_chat(&site, None, "Boris: the boots are the wrong size")
            .await;
        let (_, mut chloe, _) = client
            .open_chat(&site, None, "Chloe: do you gift wrap?")
            .await;
        let ada_got = agent_lines(&mut ada, "ships today").await;
        let boris_got = agent_lines(&mut boris, "free label").await;
        let chloe_got = agent_lines(&mut chloe, "gift wrap is free").await;
        // Once the agent has moved on, Boris writes again.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        visitor_says(&mut boris, "boris-2", "and the invoice?", Some(boris_chat)).await;
        (ada_got, boris_got, chloe_got)
    };
    let (outcome, (ada_got, boris_got, chloe_got)) = tokio::join!(script, visitors);
    // Each visitor got exactly the answer written in their chat.
    assert_eq!(ada_got, ["Ada, your order ships today."]);
    assert_eq!(boris_got, ["Boris, send it back with the free label."]);
    assert_eq!(chloe_got, ["Chloe, gift wrap is free this week."]);
    assert_eq!(
        outcome["unreadAtFirst"],
        serde_json::json!([1, 1, 1]),
        "{outcome}"
    );
    assert_eq!(outcome["titleAtFirst"], "(3) Bellhop");
    assert_eq!(outcome["unreadAdaAfterOpen"], 0);
    assert_eq!(outcome["titleAfterAnswers"], "Bellhop");
    assert_eq!(outcome["unreadBorisWhileAway"], 1);
    assert_eq!(outcome["titleWhileBorisWaits"], "(1) Bellhop");
    assert_eq!(outcome["unreadBorisAfterOpen"], 0);
    assert_eq!(outcome["titleAtEnd"], "Bellhop");
    assert_eq!(outcome["errors"], serde_json::json!([]), "{outcome}");
}
