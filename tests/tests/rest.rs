//! REST for the console: conversation lists, transcripts paged by seq, site settings.

use bellhop_protocol::ErrorCode;
use bellhop_protocol::api::{
    AgentProfile, ConversationList, SiteSettings, SiteSettingsUpdate, TranscriptPage,
};
use bellhop_protocol::frames::{AuthorKind, ConversationStatus};
use bellhop_tests::{
    Backend, TestApp, api_error, both_backends, next_assignment, next_message, spawn_app,
    visitor_says,
};

both_backends!(
    the_auto_reply_is_the_sites_own_text,
    an_agent_lists_their_chats_and_pages_a_transcript,
    account_fields_are_checked_as_the_body_is_read,
    list_queries_refuse_unknown_values,
    every_answer_carries_a_request_id,
);

async fn agent_count(app: &TestApp) -> usize {
    let agents: Vec<AgentProfile> = app.get_json("/api/v1/agents", &app.admin_token).await;
    agents.len()
}

async fn account_fields_are_checked_as_the_body_is_read(backend: Backend) {
    let app = spawn_app(backend).await;
    let before = agent_count(&app).await;
    let body = |email: &str, name: &str, cap: u32| {
        serde_json::json!({
            "email": email, "display_name": name, "password": "long-enough-password",
            "role": "agent", "max_chats": cap, "sites": [app.demo_site.id],
        })
    };
    let create = async |request: &serde_json::Value| {
        app.post("/api/v1/agents", &app.admin_token, request).await
    };
    for (request, field) in [
        (
            body("not-an-email", "Ann", 3),
            "email is not an email address",
        ),
        (body("ann@", "Ann", 3), "email is not an email address"),
        (
            body("ann@example.test", "   ", 3),
            "display_name must not be empty",
        ),
        (
            body("ann@example.test", &"n".repeat(101), 3),
            "display_name must be at most 100",
        ),
        (
            body("ann@example.test", "Ann", 101),
            "max_chats must be at most 100",
        ),
    ] {
        let response = create(&request).await;
        let error = api_error(response, 400).await;
        assert_eq!(error.code, ErrorCode::InvalidRequest, "{request}");
        assert!(error.message.contains(field), "{}", error.message);
    }
    let short = serde_json::json!({
        "email": "ann@example.test", "display_name": "Ann", "password": "short",
        "role": "agent", "sites": [],
    });
    let error = api_error(create(&short).await, 400).await;
    assert!(
        error.message.contains("at least 8 characters"),
        "{}",
        error.message
    );
    assert_eq!(
        agent_count(&app).await,
        before,
        "nothing refused was created"
    );

    // Well-formed fields are normalised once: the email in lower case, the name trimmed. A cap
    // of 0 is allowed: such an agent (a supervisor who only oversees) gets no chats.
    let response = create(&body("  Ann.Lee@Example.TEST ", "  Ann Lee ", 0)).await;
    assert_eq!(response.status(), 201);
    let ann: AgentProfile = response.json().await.expect("profile");
    assert_eq!(
        (ann.email.as_str(), ann.display_name.as_str(), ann.max_chats),
        ("ann.lee@example.test", "Ann Lee", 0)
    );
    let again = create(&body("ANN.LEE@example.test", "Ann", 2)).await;
    assert_eq!(api_error(again, 409).await.code, ErrorCode::Conflict);

    // A cap change is checked the same way, and a refused one changes nothing.
    let path = format!("/api/v1/agents/{}", ann.id);
    let response = app
        .patch(&path, &serde_json::json!({ "max_chats": 101 }))
        .await;
    let error = api_error(response, 400).await;
    assert!(
        error.message.contains("max_chats must be at most 100"),
        "{}",
        error.message
    );
    let agents: Vec<AgentProfile> = app.get_json("/api/v1/agents", &app.admin_token).await;
    let ann_now = agents.iter().find(|a| a.id == ann.id).map(|a| a.max_chats);
    assert_eq!(ann_now, Some(0));
}

async fn list_queries_refuse_unknown_values(backend: Backend) {
    let app = spawn_app(backend).await;
    for path in [
        "/api/v1/conversations?status=everything",
        "/api/v1/conversations?scope=universe",
        "/api/v1/conversations?limit=many",
        "/api/v1/leads?kind=webinar",
    ] {
        let error = api_error(app.get(path, &app.admin_token).await, 400).await;
        assert_eq!(error.code, ErrorCode::InvalidRequest, "{path}");
    }
    let all: ConversationList = app
        .get_json(
            "/api/v1/conversations?status=all&scope=site",
            &app.admin_token,
        )
        .await;
    assert!(all.conversations.is_empty());
}

async fn every_answer_carries_a_request_id(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut ids = Vec::new();
    for path in ["/healthz", "/api/v1/me", "/api/v1/no-such-thing"] {
        let response = app.get(path, &app.admin_token).await;
        let id = response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        assert!(
            id.as_deref().is_some_and(|id| id.len() == 16),
            "{path}: {id:?}"
        );
        ids.push(id);
    }
    ids.dedup();
    assert_eq!(ids.len(), 3, "each request has its own id");
}

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
    visitor_says(&mut ws, "first", "Здравствуйте", None).await;
    assert_eq!(next_message(&mut ws).await.body, "Здравствуйте");
    let reply = next_message(&mut ws).await;
    assert_eq!(
        (reply.author, reply.body.as_str()),
        (AuthorKind::System, text)
    );
}

async fn an_agent_lists_their_chats_and_pages_a_transcript(backend: Backend) {
    let app = spawn_app(backend).await;
    let (agent, mut agent_ws) = app.online_agent("Lister", 3).await;
    // Nine messages and the automatic acknowledgement: seq 1 to 10.
    let (_visitor, _ws, _) = app.chat_with_messages(10).await;
    next_assignment(&mut agent_ws).await;

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
