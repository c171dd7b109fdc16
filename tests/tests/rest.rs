//! REST for the console: conversation lists, transcripts paged by seq, site settings.

use bellhop_protocol::api::{ConversationList, SiteSettings, SiteSettingsUpdate, TranscriptPage};
use bellhop_protocol::frames::{AuthorKind, ConversationStatus, ServerFrame};
use bellhop_tests::{Backend, both_backends, is_ack_of, next_message, spawn_app, visitor_send};

both_backends!(
    the_auto_reply_is_the_sites_own_text,
    an_agent_lists_their_chats_and_pages_a_transcript,
);

async fn the_auto_reply_is_the_sites_own_text(backend: Backend) {
    let app = spawn_app(backend).await;
    let path = format!("/api/v1/sites/{}", app.demo_site.id);
    let text = "Спасибо! Оператор ответит в течение минуты.";
    let response = app
        .http
        .patch(format!("{}{path}", app.address))
        .bearer_auth(&app.admin_token)
        .json(&SiteSettingsUpdate {
            auto_reply: Some(text.into()),
            ..SiteSettingsUpdate::default()
        })
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let site: SiteSettings = app.get_json(&path, &app.admin_token).await;
    assert_eq!(site.auto_reply, text);
    assert_eq!(
        site.allowed_origins, app.demo_site.allowed_origins,
        "untouched"
    );

    let visitor = app.new_visitor(&app.demo_site).await;
    let mut ws = app.connect_visitor(&visitor, Vec::new()).await;
    ws.send(&visitor_send("first", "Здравствуйте", None)).await;
    ws.expect("ack", is_ack_of("first")).await;
    assert_eq!(next_message(&mut ws).await.body, "Здравствуйте");
    let reply = next_message(&mut ws).await;
    assert_eq!(
        (reply.author, reply.body.as_str()),
        (AuthorKind::System, text)
    );
}

async fn an_agent_lists_their_chats_and_pages_a_transcript(backend: Backend) {
    let app = spawn_app(backend).await;
    let agent = app.create_agent("Lister", 3, &[app.demo_site.id]).await;
    let mut agent_ws = app.connect_agent(&agent).await;
    let visitor = app.new_visitor(&app.demo_site).await;
    let mut ws = app.connect_visitor(&visitor, Vec::new()).await;
    for i in 1..=9 {
        ws.send(&visitor_send(&format!("p{i}"), &format!("part {i}"), None))
            .await;
        ws.expect("ack", is_ack_of(&format!("p{i}"))).await;
    }
    agent_ws
        .expect("assignment", |f| {
            matches!(f, ServerFrame::ConversationAssigned { .. })
        })
        .await;

    let mine: ConversationList = app.get_json("/api/v1/conversations", &agent.token).await;
    assert_eq!(mine.conversations.len(), 1);
    let conversation = &mine.conversations[0];
    assert_eq!(conversation.status, ConversationStatus::Assigned);
    assert_eq!(conversation.last_seq, 10);

    // Pages of 4: 1-4, 5-8, 9-10, following next_after.
    let mut after = 0;
    let mut pages = Vec::new();
    loop {
        let page: TranscriptPage = app
            .get_json(
                &format!(
                    "/api/v1/conversations/{}/messages?after={after}&limit=4",
                    conversation.id
                ),
                &agent.token,
            )
            .await;
        pages.push(page.messages.iter().map(|m| m.seq).collect::<Vec<_>>());
        match page.next_after {
            Some(next) => after = next,
            None => break,
        }
    }
    assert_eq!(pages, vec![vec![1, 2, 3, 4], vec![5, 6, 7, 8], vec![9, 10]]);

    // Closed chats leave the open list but stay readable.
    let closed = app
        .post(
            &format!("/api/v1/conversations/{}/close", conversation.id),
            &agent.token,
            &(),
        )
        .await;
    assert_eq!(closed.status(), 200);
    let open: ConversationList = app.get_json("/api/v1/conversations", &agent.token).await;
    assert!(open.conversations.is_empty());
    let all: ConversationList = app
        .get_json("/api/v1/conversations?status=all", &agent.token)
        .await;
    assert_eq!(all.conversations[0].status, ConversationStatus::Closed);
    // An agent may not list the whole site; the admin may.
    assert_eq!(
        app.get("/api/v1/conversations?scope=site", &agent.token)
            .await
            .status(),
        403
    );
    let site: ConversationList = app
        .get_json(
            "/api/v1/conversations?scope=site&status=all",
            &app.admin_token,
        )
        .await;
    assert_eq!(site.conversations.len(), 1);
}
