//! Ratings: a visitor rates their closed chat once, 1 to 5 with a comment; the agent who
//! served it hears it at once and reads it on the conversation.

use bellhop_protocol::ConversationId;
use bellhop_protocol::ErrorCode;
use bellhop_protocol::api::RatingRequest;
use bellhop_protocol::frames::{Conversation, Rating, ServerFrame};
use bellhop_tests::{Backend, Client, TestVisitor, api_error, both_backends, spawn_app};

both_backends!(
    a_closed_chat_is_rated_once_and_its_agent_sees_the_rating,
    only_closed_chats_of_the_visitor_are_rated_with_a_score_of_one_to_five,
);

/// The visitor's widget posts a rating (visitor token, the page's origin).
async fn rate(
    app: &Client,
    visitor: &TestVisitor,
    conversation: ConversationId,
    body: &serde_json::Value,
) -> reqwest::Response {
    app.visitor_post(
        visitor,
        &format!("/api/v1/widget/conversations/{conversation}/rating"),
        body,
    )
    .await
}

async fn close(app: &Client, token: &str, conversation: ConversationId) {
    let closed = app
        .post(
            &format!("/api/v1/conversations/{conversation}/close"),
            token,
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(closed.status(), 200, "closing the chat");
}

/// A served chat is closed and rated 5 with a Cyrillic comment (trimmed): the answer is the
/// rating, the agent's socket gets `conversation_rated`, and the conversation carries the
/// rating for the agent, an admin and the visitor. A second rating is `409` and changes
/// nothing.
async fn a_closed_chat_is_rated_once_and_its_agent_sees_the_rating(backend: Backend) {
    let app = spawn_app(backend).await;
    let (agent, mut agent_ws) = app.online_agent("Нина", 3).await;
    let (visitor, _ws, chat) = app.assigned_chat(&mut agent_ws, "Здравствуйте").await;
    close(&app, &agent.token, chat).await;
    agent_ws
        .expect("the close", |f| {
            matches!(f, ServerFrame::ConversationClosed { .. })
        })
        .await;

    let request = RatingRequest {
        score: 5,
        comment: Some("  Спасибо, всё решили!  ".into()),
    };
    let response = rate(
        &app,
        &visitor,
        chat,
        &serde_json::to_value(&request).unwrap(),
    )
    .await;
    assert_eq!(response.status(), 200);
    let rating: Rating = response.json().await.unwrap();
    assert_eq!(rating.score, 5);
    assert_eq!(rating.comment.as_deref(), Some("Спасибо, всё решили!"));
    assert!(rating.rated_at > 0);

    match agent_ws
        .expect("the rating", |f| {
            matches!(f, ServerFrame::ConversationRated { .. })
        })
        .await
    {
        ServerFrame::ConversationRated {
            conversation_id,
            rating: heard,
        } => {
            assert_eq!(conversation_id, chat);
            assert_eq!(heard, rating);
        }
        _ => unreachable!(),
    }

    let path = format!("/api/v1/conversations/{chat}");
    for token in [&agent.token, &app.admin_token, &visitor.token] {
        let seen: Conversation = app.get_json(&path, token).await;
        assert_eq!(seen.rating.as_ref(), Some(&rating));
    }
    let listed: bellhop_protocol::api::ConversationList = app
        .get_json("/api/v1/conversations?status=all", &agent.token)
        .await;
    let listed = listed.conversations.iter().find(|c| c.id == chat).unwrap();
    assert_eq!(listed.rating.as_ref(), Some(&rating));

    let again = rate(&app, &visitor, chat, &serde_json::json!({ "score": 1 })).await;
    let error = api_error(again, 409).await;
    assert_eq!(error.code, ErrorCode::Conflict);
    assert!(error.message.contains("already rated"), "{}", error.message);
    let seen: Conversation = app.get_json(&path, &agent.token).await;
    assert_eq!(seen.rating, Some(rating), "the first rating stays");
}

/// An open chat cannot be rated yet (`409`); a score of 0 or 6, a comment over 2000
/// characters or an unknown field is `400`; another visitor's chat, or one that does not
/// exist, is `404`; an agent's token is `403`. None of them stores anything.
async fn only_closed_chats_of_the_visitor_are_rated_with_a_score_of_one_to_five(backend: Backend) {
    let app = spawn_app(backend).await;
    let (agent, mut agent_ws) = app.online_agent("Pat", 3).await;
    let (visitor, _ws, chat) = app.assigned_chat(&mut agent_ws, "hello").await;

    let open = api_error(
        rate(&app, &visitor, chat, &serde_json::json!({ "score": 4 })).await,
        409,
    )
    .await;
    assert_eq!(open.code, ErrorCode::Conflict);
    assert!(open.message.contains("still open"), "{}", open.message);

    close(&app, &agent.token, chat).await;
    for bad in [
        serde_json::json!({ "score": 0 }),
        serde_json::json!({ "score": 6 }),
        serde_json::json!({ "score": 3, "comment": "й".repeat(2001) }),
        serde_json::json!({ "score": 3, "stars": 3 }),
        serde_json::json!({ "comment": "no score" }),
    ] {
        let error = api_error(rate(&app, &visitor, chat, &bad).await, 400).await;
        assert_eq!(error.code, ErrorCode::InvalidRequest, "{bad}");
    }

    let stranger = app.new_visitor(&app.demo_site).await;
    let theirs = rate(&app, &stranger, chat, &serde_json::json!({ "score": 1 })).await;
    assert_eq!(api_error(theirs, 404).await.code, ErrorCode::NotFound);
    let nowhere = ConversationId::from_uuid(uuid::Uuid::now_v7());
    let missing = rate(&app, &visitor, nowhere, &serde_json::json!({ "score": 1 })).await;
    assert_eq!(api_error(missing, 404).await.code, ErrorCode::NotFound);
    let as_agent = app
        .http
        .post(format!(
            "{}/api/v1/widget/conversations/{chat}/rating",
            app.address
        ))
        .bearer_auth(&agent.token)
        .json(&serde_json::json!({ "score": 5 }))
        .send()
        .await
        .unwrap();
    assert_eq!(api_error(as_agent, 403).await.code, ErrorCode::Forbidden);

    let seen: Conversation = app
        .get_json(&format!("/api/v1/conversations/{chat}"), &agent.token)
        .await;
    assert_eq!(seen.rating, None);
    // A 2000-character comment is fine.
    let long = serde_json::json!({ "score": 2, "comment": "й".repeat(2000) });
    assert_eq!(rate(&app, &visitor, chat, &long).await.status(), 200);
}
