//! Picking a waiting chat from the queue view: an assignment like the router's, so the cap
//! and the one-agent rule hold, recorded in the routing audit as `picked`; agents an admin
//! does not let pick are refused.

use bellhop_protocol::api::{AgentProfile, AgentUpdate, Role, RoutingAudit, RoutingRule};
use bellhop_protocol::frames::{Conversation, ConversationStatus, ServerFrame};
use bellhop_protocol::{ConversationId, ErrorCode};
use bellhop_tests::staff::pick;
use bellhop_tests::{
    Backend, Client, TestAgent, WsClient, both_backends, next_assigned_agent, next_assignment,
    next_message, spawn_app,
};

both_backends!(
    a_pick_takes_a_waiting_chat_with_its_history_within_the_cap,
    two_agents_picking_one_chat_at_once_get_one_assignment,
    an_agent_who_may_not_pick_is_forbidden,
);

/// An agent of the demo site who serves no department (the router never gives them a
/// chat), online; they take chats from the queue view.
async fn picker(app: &Client, name: &str, role: Role, max_chats: u32) -> (TestAgent, WsClient) {
    let agent = app
        .create_staff(name, role, max_chats, &[app.demo_site.id])
        .await;
    app.update_agent(
        &agent,
        &AgentUpdate {
            departments: Some(Vec::new()),
            ..AgentUpdate::default()
        },
    )
    .await;
    let ws = app.connect_agent(&agent).await;
    (agent, ws)
}

async fn audit(app: &Client, conversation: ConversationId) -> RoutingAudit {
    app.get_json(
        &format!("/api/v1/conversations/{conversation}/routing"),
        &app.admin_token,
    )
    .await
}

async fn conversation(app: &Client, id: ConversationId) -> Conversation {
    app.get_json(&format!("/api/v1/conversations/{id}"), &app.admin_token)
        .await
}

/// Pia takes the waiting chat: she receives it with its history, the visitor hears she
/// serves them, and the audit says `picked`. At her cap of one, the next pick is
/// `agent_at_capacity`; the chat she already has is no longer waiting (`conflict`); an
/// unknown chat and another site's are `not_found`.
async fn a_pick_takes_a_waiting_chat_with_its_history_within_the_cap(backend: Backend) {
    let app = spawn_app(backend).await;
    let (pia, mut pia_ws) = picker(&app, "Pia Picker", Role::Agent, 1).await;
    let (_, mut ws, first) = app.open_chat(&app.demo_site, None, "first").await;
    assert_eq!(
        conversation(&app, first).await.status,
        ConversationStatus::Queued
    );

    pia_ws.send(&pick(first)).await;
    let assigned = next_assignment(&mut pia_ws).await;
    assert_eq!(assigned.id, first);
    assert_eq!(assigned.agent.as_ref().map(|a| a.id), Some(pia.id()));
    assert_eq!(next_message(&mut pia_ws).await.body, "first");
    assert_eq!(next_message(&mut pia_ws).await.seq, 2);
    assert_eq!(next_assigned_agent(&mut ws).await, Some(pia.id()));
    let decisions = audit(&app, first).await.decisions;
    assert_eq!(decisions.len(), 1, "{decisions:?}");
    assert_eq!(decisions[0].rule, RoutingRule::Picked);
    assert_eq!(decisions[0].agent_id, Some(pia.id()));
    assert_eq!(
        decisions[0].department_id,
        Some(app.demo_site.default_department_id)
    );

    let (_, _ws2, second) = app.open_chat(&app.demo_site, None, "second").await;
    pia_ws.send(&pick(second)).await;
    assert_eq!(pia_ws.expect_error().await.0, ErrorCode::AgentAtCapacity);
    pia_ws.send(&pick(first)).await;
    assert_eq!(pia_ws.expect_error().await.0, ErrorCode::Conflict);
    let unknown = ConversationId::from_uuid(uuid::Uuid::now_v7());
    pia_ws.send(&pick(unknown)).await;
    assert_eq!(pia_ws.expect_error().await.0, ErrorCode::NotFound);
    let elsewhere = app
        .create_site("Elsewhere", &["https://elsewhere.example"])
        .await;
    let (_, _ws3, other) = app.open_chat(&elsewhere, None, "hi").await;
    pia_ws.send(&pick(other)).await;
    assert_eq!(pia_ws.expect_error().await.0, ErrorCode::NotFound);
    for waiting in [second, other] {
        assert_eq!(
            conversation(&app, waiting).await.status,
            ConversationStatus::Queued
        );
        assert!(audit(&app, waiting).await.decisions.is_empty());
    }
}

/// Pia and Pablo pick the same chat at the same moment, round after round: each time one of
/// them gets it and the other is told `conflict`; the chat has one agent and one decision.
async fn two_agents_picking_one_chat_at_once_get_one_assignment(backend: Backend) {
    let app = spawn_app(backend).await;
    let (pia, mut pia_ws) = picker(&app, "Pia Picker", Role::Agent, 10).await;
    let (pablo, mut pablo_ws) = picker(&app, "Pablo Picker", Role::Agent, 10).await;
    for round in 0..6 {
        let (_, _ws, chat) = app
            .open_chat(&app.demo_site, None, &format!("round {round}"))
            .await;
        // Both frames are on the wire before either answer.
        pia_ws.send(&pick(chat)).await;
        pablo_ws.send(&pick(chat)).await;
        let mut winners = Vec::new();
        for (agent, ws) in [(&pia, &mut pia_ws), (&pablo, &mut pablo_ws)] {
            let outcome = ws
                .expect("the pick's outcome", |f| match f {
                    ServerFrame::ConversationAssigned { conversation } => conversation.id == chat,
                    ServerFrame::Error { .. } => true,
                    _ => false,
                })
                .await;
            match outcome {
                ServerFrame::ConversationAssigned { .. } => winners.push(agent.id()),
                ServerFrame::Error { code, .. } => assert_eq!(code, ErrorCode::Conflict),
                _ => unreachable!(),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}");
        let served = conversation(&app, chat).await;
        assert_eq!(served.agent.map(|a| a.id), Some(winners[0]));
        let decisions = audit(&app, chat).await.decisions;
        assert_eq!(decisions.len(), 1, "{decisions:?}");
        assert_eq!(decisions[0].agent_id, Some(winners[0]));
    }
}

/// With `may_pick` off an agent's pick is `forbidden` and the chat keeps waiting; the
/// profile says so. Turned on again, the same pick works. A supervisor picks whatever the
/// flag says.
async fn an_agent_who_may_not_pick_is_forbidden(backend: Backend) {
    let app = spawn_app(backend).await;
    let (pia, mut pia_ws) = picker(&app, "Pia Picker", Role::Agent, 3).await;
    let off = AgentUpdate {
        may_pick: Some(false),
        ..AgentUpdate::default()
    };
    let response = app
        .patch(&format!("/api/v1/agents/{}", pia.id()), &off)
        .await;
    assert_eq!(response.status(), 200);
    let profile: AgentProfile = response.json().await.unwrap();
    assert!(!profile.may_pick);
    let me: AgentProfile = app.get_json("/api/v1/me", &pia.token).await;
    assert!(!me.may_pick);

    let (_, _ws, chat) = app.open_chat(&app.demo_site, None, "hello").await;
    pia_ws.send(&pick(chat)).await;
    assert_eq!(pia_ws.expect_error().await.0, ErrorCode::Forbidden);
    assert_eq!(
        conversation(&app, chat).await.status,
        ConversationStatus::Queued
    );

    let on = AgentUpdate {
        may_pick: Some(true),
        ..AgentUpdate::default()
    };
    app.update_agent(&pia, &on).await;
    pia_ws.send(&pick(chat)).await;
    assert_eq!(next_assignment(&mut pia_ws).await.id, chat);

    let (olga, mut olga_ws) = picker(&app, "Olga Petrova", Role::Supervisor, 2).await;
    app.update_agent(&olga, &off).await;
    let (_, _ws, other) = app.open_chat(&app.demo_site, None, "urgent!").await;
    olga_ws.send(&pick(other)).await;
    assert_eq!(next_assignment(&mut olga_ws).await.id, other);
}
