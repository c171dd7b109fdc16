//! Routing the way a support manager wants it: sticky agents, urgent first, department
//! fallback, live queue positions with honest estimates, the grace period, transfers.

use std::time::Duration;

use bellhop_protocol::api::{AgentUpdate, Department, NewDepartmentRequest, RoutingAudit};
use bellhop_protocol::frames::{
    AgentFrame, AgentStatus, AuthorKind, Priority, ServerFrame, TransferTarget,
};
use bellhop_protocol::{ConversationId, ErrorCode};
use bellhop_tests::{
    Backend, Client, TestAgent, WsClient, agent_says, agent_send, both_backends, is_ack_of,
    next_assigned_agent, next_assignment, next_message, next_queue_status, spawn_app,
    spawn_app_with, transfer_to_agent, visitor_says,
};

both_backends!(
    a_returning_visitor_gets_their_previous_agent,
    urgent_chats_are_served_before_normal_ones,
    a_department_without_agents_online_falls_back,
    a_waiting_visitor_sees_position_three_two_one_then_an_agent,
    an_agent_gone_past_the_grace_period_loses_their_chats_to_the_queue,
    an_agent_back_within_the_grace_period_loses_nothing,
    a_transfer_carries_the_history_and_respects_caps,
    a_verified_vip_is_served_before_earlier_visitors,
    raising_a_cap_lets_a_waiting_chat_through,
    a_transfer_to_a_department_goes_to_its_agents,
);

async fn audit(app: &Client, conversation: ConversationId) -> RoutingAudit {
    app.get_json(
        &format!("/api/v1/conversations/{conversation}/routing"),
        &app.admin_token,
    )
    .await
}

/// The rule of each routing decision about `conversation`, in order.
async fn rules(app: &Client, conversation: ConversationId) -> Vec<String> {
    let decisions = audit(app, conversation).await.decisions;
    decisions
        .iter()
        .map(|d| d.rule.as_str().to_owned())
        .collect()
}

async fn close(agent: &mut WsClient, conversation: ConversationId) {
    agent
        .send(&AgentFrame::Close {
            conversation_id: conversation,
        })
        .await;
    agent
        .expect("close", |f| {
            matches!(f, ServerFrame::ConversationClosed { conversation: c } if c.id == conversation)
        })
        .await;
}

async fn department(app: &Client, name: &str, fallback: Option<&Department>) -> Department {
    let response = app
        .post(
            &format!("/api/v1/sites/{}/departments", app.demo_site.id),
            &app.admin_token,
            &NewDepartmentRequest {
                name: name.into(),
                fallback_id: fallback.map(|d| d.id),
                hours: None,
            },
        )
        .await;
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

/// An agent of the demo site who serves only `department`, online.
async fn agent_in(
    app: &Client,
    name: &str,
    max_chats: u32,
    department: &Department,
) -> (TestAgent, WsClient) {
    let agent = app.create_agent(name, max_chats, &[app.demo_site.id]).await;
    let response = app
        .patch(
            &format!("/api/v1/agents/{}", agent.id()),
            &AgentUpdate {
                max_chats: None,
                departments: Some(vec![department.id]),
                ..AgentUpdate::default()
            },
        )
        .await;
    assert_eq!(response.status(), 200);
    let ws = app.connect_agent(&agent).await;
    (agent, ws)
}

/// A visitor who comes back is served by the agent who served them before, even when a
/// colleague has been idle longer.
async fn a_returning_visitor_gets_their_previous_agent(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = app.create_agent("Agent One", 3, &[app.demo_site.id]).await;
    let second = app.create_agent("Agent Two", 3, &[app.demo_site.id]).await;
    let mut first_ws = app.connect_agent(&first).await;
    let mut second_ws = app.connect_agent(&second).await;

    let (visitor, ws, chat) = app.open_chat(&app.demo_site, None, "first visit").await;
    let mut visitor_ws = ws;
    let served_by = next_assignment(&mut visitor_ws).await.agent.unwrap().id;
    let (served_ws, other) = if served_by == first.id() {
        (&mut first_ws, second.id())
    } else {
        (&mut second_ws, first.id())
    };
    next_assignment(served_ws).await;
    close(served_ws, chat).await;

    // Both agents are free now, and the other one has been idle longer; the visitor still gets
    // the agent who served them.
    let (visitor_ws, again) = app
        .reopen_chat(&visitor, visitor_ws, None, "it's me again")
        .await;
    let mut visitor_ws = visitor_ws;
    assert_ne!(again, chat);
    assert_eq!(next_assigned_agent(&mut visitor_ws).await, Some(served_by));
    let decision = &audit(&app, again).await.decisions[0];
    assert_eq!(decision.rule.as_str(), "sticky");
    assert_eq!(decision.candidates.len(), 2);
    assert!(
        decision
            .candidates
            .iter()
            .any(|c| c.agent_id == other && !c.sticky)
    );

    // A new visitor goes to the other, longer idle agent.
    let (_, mut newcomer, _) = app.open_chat(&app.demo_site, None, "hello").await;
    assert_eq!(next_assigned_agent(&mut newcomer).await, Some(other));
}

/// Chats flagged urgent jump the queue; the rest keep arrival order.
async fn urgent_chats_are_served_before_normal_ones(backend: Backend) {
    let app = spawn_app(backend).await;
    let agent = app.create_agent("Solo", 1, &[app.demo_site.id]).await;
    let (_, mut a, chat_a) = app.open_chat(&app.demo_site, None, "first").await;
    let (_, mut b, chat_b) = app.open_chat(&app.demo_site, None, "second").await;
    let (_, mut c, chat_c) = app
        .open_chat(&app.demo_site, None, "third, and it's urgent")
        .await;
    assert_eq!(next_queue_status(&mut c).await.0, 3);

    // A colleague with no chat slots (so they take none), away as well, flags the third one.
    let (_, mut supervisor_ws) = app.online_agent("Super Visor", 0).await;
    supervisor_ws.set_status(AgentStatus::Away).await;
    supervisor_ws
        .send(&AgentFrame::SetPriority {
            conversation_id: chat_c,
            priority: Priority::Urgent,
        })
        .await;
    assert_eq!(next_queue_status(&mut c).await.0, 1);
    assert_eq!(next_queue_status(&mut a).await.0, 1);
    assert_eq!(next_queue_status(&mut a).await.0, 2);
    assert_eq!(next_queue_status(&mut b).await.0, 2);
    assert_eq!(next_queue_status(&mut b).await.0, 3);

    let mut agent_ws = app.connect_agent(&agent).await;
    let order = [chat_c, chat_a, chat_b];
    for (i, expected) in order.into_iter().enumerate() {
        let assigned = next_assignment(&mut agent_ws).await;
        assert_eq!(assigned.id, expected, "assignment {i}");
        if i == 0 {
            assert_eq!(assigned.priority, Priority::Urgent);
        }
        close(&mut agent_ws, expected).await;
    }
}

/// A department with nobody online hands its queue to its fallback; one whose agents are
/// online but busy keeps its visitors waiting.
async fn a_department_without_agents_online_falls_back(backend: Backend) {
    let app = spawn_app(backend).await;
    let support = department(&app, "Support", None).await;
    let sales = department(&app, "Sales", Some(&support)).await;
    let (helper, mut helper_ws) = agent_in(&app, "Sam Support", 3, &support).await;

    let (_, mut buyer, chat) = app
        .open_chat(&app.demo_site, Some(sales.id), "a quote?")
        .await;
    assert_eq!(next_assigned_agent(&mut buyer).await, Some(helper.id()));
    assert_eq!(
        next_assignment(&mut helper_ws).await.department_id,
        Some(sales.id)
    );
    assert_eq!(
        audit(&app, chat).await.decisions[0].rule.as_str(),
        "fallback_department"
    );

    // Once a Sales agent is online, Sales chats wait for Sales even when that agent is full.
    let (seller, mut seller_ws) = agent_in(&app, "Sally Sales", 1, &sales).await;
    let (_, mut second, _) = app
        .open_chat(&app.demo_site, Some(sales.id), "another")
        .await;
    assert_eq!(next_assigned_agent(&mut second).await, Some(seller.id()));
    next_assignment(&mut seller_ws).await;
    let (_, mut third, waiting) = app
        .open_chat(&app.demo_site, Some(sales.id), "me too")
        .await;
    assert_eq!(next_queue_status(&mut third).await.0, 1);
    third.expect_silence(Duration::from_millis(400)).await;
    assert!(
        !third
            .skipped()
            .any(|f| matches!(f, ServerFrame::ConversationAssigned { .. }))
    );
    let heads: bellhop_protocol::frames::Conversation = app
        .get_json(
            &format!("/api/v1/conversations/{waiting}"),
            &app.admin_token,
        )
        .await;
    assert_eq!(
        heads.status,
        bellhop_protocol::frames::ConversationStatus::Queued
    );
}

/// Positions 3 → 2 → 1 → assigned, each with an estimate from the department's real
/// throughput; with no history the estimate is honestly absent.
async fn a_waiting_visitor_sees_position_three_two_one_then_an_agent(backend: Backend) {
    let app = spawn_app(backend).await;
    // No history yet: no estimate.
    let (_, mut early, early_chat) = app.open_chat(&app.demo_site, None, "anyone?").await;
    assert_eq!(next_queue_status(&mut early).await, (1, None));

    let (_, mut agent_ws) = app.online_agent("Busy Bee", 1).await;
    assert_eq!(next_assignment(&mut agent_ws).await.id, early_chat);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, _second_ws, second) = app.open_chat(&app.demo_site, None, "me next").await;
    close(&mut agent_ws, early_chat).await;
    assert_eq!(next_assignment(&mut agent_ws).await.id, second);

    // Two more ahead of our visitor.
    let (_, _w1, ahead_1) = app.open_chat(&app.demo_site, None, "ahead 1").await;
    let (_, _w2, ahead_2) = app.open_chat(&app.demo_site, None, "ahead 2").await;
    let (_, mut ws, mine) = app.open_chat(&app.demo_site, None, "and me").await;
    let mut seen = vec![next_queue_status(&mut ws).await];
    for finished in [second, ahead_1, ahead_2] {
        close(&mut agent_ws, finished).await;
        let next = next_assignment(&mut agent_ws).await;
        if next.id == mine {
            break;
        }
        seen.push(next_queue_status(&mut ws).await);
    }
    let positions: Vec<u32> = seen.iter().map(|(p, _)| *p).collect();
    assert_eq!(positions, vec![3, 2, 1]);
    for (position, estimate) in &seen {
        let estimate = estimate.unwrap_or_else(|| panic!("no estimate at position {position}"));
        assert!(estimate > 0 && estimate % 5 == 0, "{estimate}");
    }
    assert!(
        seen[0].1 >= seen[2].1,
        "the estimate shrinks as the visitor moves up: {seen:?}"
    );
    assert_eq!(next_assignment(&mut ws).await.id, mine);
}

/// An agent who stays away past the grace period: their chat goes back to the front of the
/// queue, the visitor is told, and the next agent gets the whole history.
async fn an_agent_gone_past_the_grace_period_loses_their_chats_to_the_queue(backend: Backend) {
    let app = spawn_app_with(backend, |config| config.routing.agent_grace_ms = 600).await;
    let (leaver, mut leaver_ws) = app.online_agent("Lea Ver", 3).await;
    let (_, mut visitor, chat) = app.assigned_chat(&mut leaver_ws, "help please").await;
    leaver_ws.close().await;

    let ServerFrame::Message { message: notice } = visitor
        .expect(
            "the re-queue notice",
            |f| matches!(f, ServerFrame::Message { message } if message.seq > 2),
        )
        .await
    else {
        unreachable!()
    };
    assert_eq!(notice.author, AuthorKind::System);
    assert!(
        notice.body.contains("back at the front of the queue"),
        "{}",
        notice.body
    );
    assert_eq!(next_queue_status(&mut visitor).await.0, 1);

    let (_, mut successor_ws) = app.online_agent("Suc Cessor", 3).await;
    assert_eq!(next_assignment(&mut successor_ws).await.id, chat);
    let mut history = Vec::new();
    while history.last() != Some(&notice.seq) {
        history.push(next_message(&mut successor_ws).await.seq);
    }
    assert_eq!(history, (1..=notice.seq).collect::<Vec<_>>());
    assert_eq!(
        rules(&app, chat).await,
        ["only_candidate", "requeued_after_grace", "only_candidate"]
    );
    // The first agent, back now, no longer has it.
    let theirs: bellhop_protocol::api::ConversationList =
        app.get_json("/api/v1/conversations", &leaver.token).await;
    assert!(theirs.conversations.is_empty());
}

/// An agent whose connection drops and returns within the grace period keeps the chat, and
/// receives everything the visitor wrote meanwhile.
async fn an_agent_back_within_the_grace_period_loses_nothing(backend: Backend) {
    let app = spawn_app_with(backend, |config| config.routing.agent_grace_ms = 10_000).await;
    let (agent, mut agent_ws) = app.online_agent("Flaky Wifi", 3).await;
    let (_, mut visitor, chat) = app.assigned_chat(&mut agent_ws, "hi").await;
    agent_ws.close().await;
    for i in 1..=3 {
        let id = format!("while-away-{i}");
        visitor_says(
            &mut visitor,
            &id,
            &format!("are you there? {i}"),
            Some(chat),
        )
        .await;
    }
    let mut agent_ws = app.connect_agent(&agent).await;
    let mut seqs = Vec::new();
    while seqs.len() < 5 {
        let message = next_message(&mut agent_ws).await;
        assert_eq!(message.conversation_id, chat);
        seqs.push(message.seq);
    }
    assert_eq!(seqs, vec![1, 2, 3, 4, 5]);
    agent_ws
        .send(&agent_send("back", "Sorry, I'm back!", chat))
        .await;
    agent_ws.expect("ack", is_ack_of("back")).await;
    let reply = visitor
        .expect("the reply", |f| {
            matches!(f, ServerFrame::Message { message } if message.author == AuthorKind::Agent)
        })
        .await;
    assert!(
        matches!(reply, ServerFrame::Message { message } if message.body == "Sorry, I'm back!" && message.seq == 6)
    );
    // The visitor was never told of a re-queue.
    assert!(
        !visitor
            .skipped()
            .any(|f| matches!(f, ServerFrame::QueueStatus { .. }))
    );
    visitor.clear_skipped();
    visitor.expect_silence(Duration::from_millis(300)).await;
}

/// A transfer hands the whole history to the new agent, refuses a full or away colleague, tells
/// the visitor who serves them now, and sticky routing follows the new agent.
async fn a_transfer_carries_the_history_and_respects_caps(backend: Backend) {
    let app = spawn_app(backend).await;
    let (first, mut first_ws) = app.online_agent("First Line", 3).await;
    let (visitor, mut visitor_ws, chat) = app.assigned_chat(&mut first_ws, "billing?").await;
    agent_says(&mut first_ws, "f1", "Let me check.", chat).await;

    // Busy and away colleagues are refused; nothing changes.
    let full = app.create_agent("Full Up", 0, &[app.demo_site.id]).await;
    let _full_ws = app.connect_agent(&full).await;
    let (away, mut away_ws) = app.online_agent("Out Tolunch", 3).await;
    away_ws.set_status(AgentStatus::Away).await;
    for (target, code) in [
        (full.id(), ErrorCode::AgentAtCapacity),
        (away.id(), ErrorCode::AgentUnavailable),
    ] {
        first_ws.send(&transfer_to_agent(chat, target, None)).await;
        assert_eq!(first_ws.expect_error().await.0, code);
    }

    let (expert, mut expert_ws) = app.online_agent("Billing Expert", 3).await;
    let note = "Double charge in March, card ending 4242";
    first_ws
        .send(&transfer_to_agent(chat, expert.id(), Some(note)))
        .await;
    let handed = expert_ws
        .expect("transfer", |f| {
            matches!(f, ServerFrame::ConversationTransferred { .. })
        })
        .await;
    let ServerFrame::ConversationTransferred {
        conversation,
        from,
        note,
    } = handed
    else {
        unreachable!()
    };
    assert_eq!(conversation.id, chat);
    assert_eq!(from.map(|a| a.id), Some(first.id()));
    assert_eq!(
        note.as_deref(),
        Some("Double charge in March, card ending 4242")
    );
    let history: Vec<String> = [
        next_message(&mut expert_ws).await,
        next_message(&mut expert_ws).await,
        next_message(&mut expert_ws).await,
    ]
    .into_iter()
    .map(|m| m.body)
    .collect();
    assert_eq!(history[0], "billing?");
    assert_eq!(history[2], "Let me check.");
    let now_serving = next_assignment(&mut visitor_ws).await;
    assert_eq!(
        now_serving.agent.map(|a| a.display_name),
        Some("Billing Expert".to_owned())
    );
    first_ws
        .expect("release", |f| {
            matches!(f, ServerFrame::ConversationReleased { .. })
        })
        .await;
    // The first agent can no longer write into it.
    first_ws.send(&agent_send("f2", "still me", chat)).await;
    assert_eq!(first_ws.expect_error().await.0, ErrorCode::Forbidden);

    // The expert closes; when the visitor returns, the expert (who served last) gets them.
    close(&mut expert_ws, chat).await;
    let (mut visitor_ws, again) = app
        .reopen_chat(&visitor, visitor_ws, None, "one more thing")
        .await;
    assert_ne!(again, chat);
    assert_eq!(
        next_assigned_agent(&mut visitor_ws).await,
        Some(expert.id())
    );
    assert_eq!(
        rules(&app, chat).await,
        ["only_candidate", "transfer_to_agent"]
    );
}

/// A visitor whose identity the site signed with `"vip": true` is served first; a visitor who
/// merely claims it is refused.
async fn a_verified_vip_is_served_before_earlier_visitors(backend: Backend) {
    use bellhop_protocol::api::{SiteConfig, VisitorIdentity, WidgetSessionResponse};
    use std::collections::BTreeMap;

    let app = spawn_app(backend).await;
    // A guessable key is refused.
    let weak = app
        .configure_demo_site(SiteConfig {
            identity_secret: Some("short".into()),
            ..SiteConfig::default()
        })
        .await;
    assert_eq!(weak.status(), 400);
    let response = app
        .configure_demo_site(SiteConfig {
            identity_secret: Some("site-secret-0123456789".into()),
            urgent_attribute: Some("vip".into()),
            ..SiteConfig::default()
        })
        .await;
    assert_eq!(response.status(), 200);
    let (_, mut agent_ws) = app.online_agent("Only One", 1).await;
    let (_, _busy_ws, busy) = app.open_chat(&app.demo_site, None, "first").await;
    assert_eq!(next_assignment(&mut agent_ws).await.id, busy);
    let (_, mut normal, normal_chat) = app
        .open_chat(&app.demo_site, None, "I was here first")
        .await;
    assert_eq!(next_queue_status(&mut normal).await.0, 1);

    let origin = app.demo_site.allowed_origins[0].clone();
    let session = |vip_claimed: bool, vip_signed: bool| {
        let signed: BTreeMap<String, serde_json::Value> =
            [("vip".to_owned(), serde_json::Value::Bool(vip_signed))].into();
        let signature =
            bellhop_server::auth::identity::sign("site-secret-0123456789", "customer-7", &signed);
        let attributes = [("vip".to_owned(), serde_json::Value::Bool(vip_claimed))].into();
        app.http
            .post(format!("{}/api/v1/widget/session", app.address))
            .header("Origin", &origin)
            .json(&serde_json::json!({
                "widget_key": "demo",
                "identity": VisitorIdentity { user_id: "customer-7".into(), attributes, signature },
            }))
            .send()
    };
    // Claiming VIP without the site's signature is refused.
    assert_eq!(session(true, false).await.unwrap().status(), 403);
    let response = session(true, true).await.unwrap();
    assert_eq!(response.status(), 200);
    let vip: WidgetSessionResponse = response.json().await.unwrap();
    // The same user on another device is the same visitor.
    let again: WidgetSessionResponse = session(true, true).await.unwrap().json().await.unwrap();
    assert_eq!(again.visitor_id, vip.visitor_id);

    let visitor = bellhop_tests::TestVisitor {
        visitor_id: vip.visitor_id,
        site_id: vip.site_id,
        token: vip.token,
        origin,
        widget_key: "demo".into(),
    };
    let ws = app.connect_visitor(&visitor, Vec::new()).await;
    let (mut ws, vip_chat) = app.reopen_chat(&visitor, ws, None, "I am a VIP").await;
    assert_eq!(next_queue_status(&mut ws).await.0, 1);
    assert_eq!(next_queue_status(&mut normal).await.0, 2);

    close(&mut agent_ws, busy).await;
    let assigned = next_assignment(&mut agent_ws).await;
    assert_eq!(assigned.id, vip_chat);
    assert_eq!(assigned.priority, Priority::Urgent);
    close(&mut agent_ws, vip_chat).await;
    assert_eq!(next_assignment(&mut agent_ws).await.id, normal_chat);
}

/// An admin raising a full agent's cap serves the waiting chat at once.
async fn raising_a_cap_lets_a_waiting_chat_through(backend: Backend) {
    let app = spawn_app(backend).await;
    let (agent, mut agent_ws) = app.online_agent("Capped", 1).await;
    let (_, _first, first) = app.open_chat(&app.demo_site, None, "first").await;
    assert_eq!(next_assignment(&mut agent_ws).await.id, first);
    let (_, mut waiting, second) = app.open_chat(&app.demo_site, None, "second").await;
    assert_eq!(next_queue_status(&mut waiting).await.0, 1);
    let response = app
        .patch(
            &format!("/api/v1/agents/{}", agent.id()),
            &AgentUpdate {
                max_chats: Some(bellhop_protocol::ChatCap::new(2).expect("a valid cap")),
                ..AgentUpdate::default()
            },
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(next_assignment(&mut waiting).await.id, second);
    assert_eq!(next_assignment(&mut agent_ws).await.id, second);
}

/// A transfer to a department frees the agent and puts the chat in that department's queue,
/// where its own agent takes it with the whole history; the note stays in the audit.
async fn a_transfer_to_a_department_goes_to_its_agents(backend: Backend) {
    let app = spawn_app(backend).await;
    let billing = department(&app, "Billing", None).await;
    let (_, mut generalist_ws) = app.online_agent("General Gina", 3).await;
    let (_, mut visitor, chat) = app.assigned_chat(&mut generalist_ws, "refund please").await;

    let (specialist, mut specialist_ws) = agent_in(&app, "Billing Bob", 3, &billing).await;
    generalist_ws
        .send(&AgentFrame::Transfer {
            conversation_id: chat,
            to: TransferTarget::Department {
                department_id: billing.id,
            },
            note: Some("Refund for order 1001".into()),
        })
        .await;
    generalist_ws
        .expect("release", |f| {
            matches!(f, ServerFrame::ConversationReleased { .. })
        })
        .await;
    let assigned = next_assignment(&mut specialist_ws).await;
    assert_eq!(
        (assigned.id, assigned.department_id),
        (chat, Some(billing.id))
    );
    assert_eq!(next_message(&mut specialist_ws).await.body, "refund please");
    assert_eq!(
        next_assigned_agent(&mut visitor).await,
        Some(specialist.id())
    );
    let decisions = audit(&app, chat).await.decisions;
    let rules: Vec<&str> = decisions.iter().map(|d| d.rule.as_str()).collect();
    assert_eq!(
        rules,
        vec!["only_candidate", "transfer_to_department", "only_candidate"]
    );
    assert_eq!(decisions[1].note.as_deref(), Some("Refund for order 1001"));
}
